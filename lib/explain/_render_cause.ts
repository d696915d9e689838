/**
 * The "First cause" section of `explain`'s text: a breaching gate's table of targets, a
 * failed check's evidence, a pod's state, last lines and Events, a migration, a lost lock,
 * an interrupted run, or a stage's error and log.
 * @module
 */
import type { Cause, GateTarget } from "./types.ts";
import { cut, section, type SectionBuilder, wrap } from "./_lines.ts";

/** A value in its unit: `5.63%`, `417ms`; `-` for none. */
function value(v: number | null, unit: string): string {
  return v === null ? "-" : `${+v.toFixed(2)}${unit}`;
}

/**
 * A structured log line (`{"timestamp", "level", "message", ...}`) as `LEVEL message`; any
 * other line as it is.
 */
function logText(line: string): string {
  try {
    const o = JSON.parse(line);
    if (o && typeof o === "object" && typeof o.message === "string") {
      return [o.level, o.message].filter((x) => typeof x === "string" && x).join(" ");
    }
  } catch {
    // not JSON: as it is
  }
  return line;
}

/** A pod's last three distinct lines, repeats counted (`… (×3)`), with their index and count. */
function lastWords(lines: readonly string[]): [number, string, number][] {
  const folded: { text: string; n: number }[] = [];
  for (const l of lines.map(logText)) {
    const last = folded.at(-1);
    if (last?.text === l) last.n++;
    else folded.push({ text: l, n: 1 });
  }
  const kept = folded.slice(-3);
  return kept.map((f, i) => [i, f.n > 1 ? `${f.text} (×${f.n})` : f.text, kept.length]);
}

function gateTable(
  targets: readonly GateTarget[],
  unit: string,
  eventsLabel: string,
  s: SectionBuilder,
  width: number,
): void {
  const name = Math.min(32, Math.max(8, ...targets.map((t) => t.target.length)));
  const row = (cells: string[], detail = "") =>
    cut(
      `    ${cells[0]!.padEnd(name)}  ${cells[1]!.padEnd(9)} ${cells[2]!.padStart(9)} ` +
        `${cells[3]!.padStart(9)} ${cells[4]!.padStart(8)} ${cells[5]!.padStart(9)} ` +
        `${cells[6]!.padStart(10)}${detail ? `  ${detail}` : ""}`,
      width,
    );
  s.add(row(["target", "verdict", "last", "worst", "samples", "requests", eventsLabel]));
  targets.forEach((t, i) => {
    const verdict = t.verdict === "breached"
      ? "BREACHED"
      : t.verdict === "no value"
      ? "NO VALUE"
      : t.verdict;
    s.add(
      row([
        t.target,
        verdict,
        value(t.last, unit),
        value(t.worst, unit),
        t.badSamples > 0 ? `${t.samples} (${t.badSamples}✗)` : String(t.samples),
        t.requests.toLocaleString("en-US"),
        t.events.toLocaleString("en-US"),
      ], t.verdict === "no value" ? t.detail ?? "" : ""),
      // The breaching targets stay; the others may go, the last first.
      (t.verdict === "ok" || t.verdict === "undecided") && i > 0,
    );
  });
}

export function causeSection(cause: Cause, width: number): SectionBuilder {
  const s = section();
  switch (cause.kind) {
    case "gate": {
      const how = cause.method === "fixed"
        ? ""
        : ` (${cause.method}${
          cause.confidence ? `, ${+(cause.confidence * 100).toFixed(2)}% confidence` : ""
        })`;
      s.add(
        cut(
          `  ${cause.stage}${cause.stageDescription ? `: ${cause.stageDescription}` : ""}`,
          width,
        ),
      );
      s.add(cut(`    gate ${cause.gate}${how}`, width));
      wrap(cause.reason, width, "    ", 2).forEach((l, i) => s.add(l, i > 0));
      const unit = /^[<>]=? -?[0-9.]+(\S*)$/.exec(cause.threshold)?.[1] ?? "";
      const events = unit === "%" ? "errors" : `over ${cause.threshold.replace(/^[<>]=? /, "")}`;
      gateTable(cause.targets, unit, events, s, width);
      if (cause.otherGates.length) {
        s.add(cut(`    also failed: ${cause.otherGates.join("; ")}`, width), true);
      }
      break;
    }
    case "check":
      s.add(cut(`  ${cause.stage}: required check "${cause.check}" failed`, width));
      for (const l of wrap(cause.message, width, "    ", 2)) s.add(l);
      cause.evidence.slice(0, 4).forEach(([k, v], i) =>
        s.add(cut(`    ${k}: ${v}`, width), i >= 2)
      );
      if (cause.otherChecks.length) {
        s.add(
          cut(
            `    also failed (${cause.otherChecks.length}): ${cause.otherChecks.join("; ")}`,
            width,
          ),
        );
      }
      break;
    case "pod": {
      const what = cause.deployment ?? "the new pods";
      s.add(
        cut(
          `  ${cause.stage}: ${what} would not run${cause.reason ? `: ${cause.reason}` : ""}${
            cause.pod ? ` (pod ${cause.pod})` : ""
          }`,
          width,
        ),
      );
      for (const l of wrap(cause.message, width, "    ", 2)) s.add(l, true);
      if (cause.lastLine !== undefined) s.add(cut(`    last log line: ${cause.lastLine}`, width));
      if (cause.slotNote && cause.pods.length === 0) {
        s.add(cut(`    the failed slot now: ${cause.slotNote}`, width), true);
      }
      if (cause.pods.length > 0) {
        const states = [...new Set(cause.pods.map((p) => p.state ?? "?"))].join(", ");
        s.add(
          cut(
            `    ${cause.pods.length} pod(s) of the failed slot (${states}), as ${
              cause.evidenceStage ?? "a later stage"
            } found them before scaling it down:`,
            width,
          ),
        );
        const p = cause.pods[0]!;
        s.add(
          cut(
            `      ${p.pod}: ${p.state ?? "?"}, ${p.restarts ?? "?"} restart(s)${
              p.ready === false ? ", not ready" : ""
            }`,
            width,
          ),
        );
        for (const [i, l, all] of lastWords(p.lastLines)) {
          s.add(cut(`        | ${l}`, width), i < all - 1);
        }
        p.events.slice(0, 2).forEach((e, i) => s.add(cut(`        event ${e}`, width), i > 0));
      }
      break;
    }
    case "migration":
      s.add(
        cut(
          `  ${cause.stage}: migration ${cause.migration ?? "?"} failed${
            cause.sqlState ? ` (SQLSTATE ${cause.sqlState})` : ""
          }`,
          width,
        ),
      );
      if (cause.file) s.add(cut(`    at ${cause.file}`, width));
      for (const l of wrap(cause.detail ?? cause.message, width, "    ", 3)) s.add(l);
      if (cause.outcome) s.add(cut(`    the database: ${cause.outcome}`, width));
      break;
    case "lock":
      s.add(cut(`  the run lost its lock: it stopped changing things`, width));
      for (const l of wrap(cause.message, width, "    ", 2)) s.add(l);
      if (cause.lease) {
        s.add(
          cut(
            `    lock: Lease ${cause.lease.namespace}/${cause.lease.name}${
              cause.lease.holder ? `, held by ${cause.lease.holder} when taken` : ""
            }`,
            width,
          ),
        );
      }
      if (cause.stopped.length) s.add(cut(`    stopped: ${cause.stopped.join(", ")}`, width));
      break;
    case "interrupted":
      for (const l of wrap(cause.message, width, "  ", 2)) s.add(l);
      if (cause.lastEvent) {
        s.add(
          cut(
            `    journal's last line: #${cause.lastEvent.seq} ${cause.lastEvent.type} at ${cause.lastEvent.at}`,
            width,
          ),
        );
      }
      cause.logTail.forEach((l, i) =>
        s.add(cut(`    ${cause.running[0] ?? "log"} | ${l}`, width), i > 0)
      );
      break;
    case "stage":
      s.add(cut(`  ${cause.stage} failed`, width));
      for (const l of wrap(cause.message, width, "    ", 3)) s.add(l);
      cause.logTail.forEach((l, i) => s.add(cut(`    | ${l}`, width), i > 0));
      break;
  }
  return s;
}
