/**
 * An {@linkcode Explanation} on one screen ({@linkcode renderExplanation}): at most 40 lines
 * of at most 100 columns by default. Long values are cut (`…`) and the last line says where
 * the rest is; when everything does not fit, detail goes first (the why of each command, a
 * handler's lines, a gate's healthy targets), never the cause or the commands.
 * @module
 */
import { formatDuration } from "../dsl/duration.ts";
import type { Cause, Explanation, GateTarget } from "./types.ts";

/** The screen's size. */
export interface ScreenSize {
  /** Columns (default 100). */
  readonly width?: number;
  /** Lines (default 40). */
  readonly height?: number;
}

/** Cuts a line to `width` columns, ending in `…` when cut. */
function cut(text: string, width: number): string {
  const flat = text.replace(/\s*\n\s*/g, " ");
  return [...flat].length <= width ? flat : [...flat].slice(0, width - 1).join("") + "…";
}

/** Wraps text into at most `max` lines of `width` columns, each starting with `indent`. */
function wrap(text: string, width: number, indent: string, max: number): string[] {
  const room = width - indent.length;
  const words = text.replace(/\s+/g, " ").trim().split(" ");
  const lines: string[] = [];
  let current = "";
  for (const w of words) {
    if (current === "") current = w;
    else if (current.length + 1 + w.length <= room) current += ` ${w}`;
    else {
      lines.push(current);
      current = w;
    }
  }
  if (current !== "") lines.push(current);
  const kept = lines.slice(0, max);
  if (lines.length > max) kept[max - 1] = `${kept[max - 1]} ${lines.slice(max).join(" ")}`;
  return kept.map((l) => cut(indent + l, width));
}

/**
 * A command as `  $ <command>`, whole: a command wider than the screen goes on over lines
 * ending in ` \\` (a shell reads them as one), never cut.
 */
function commandLines(command: string, width: number): string[] {
  const lines: string[] = [];
  let current = "  $";
  // Words, a single-quoted argument kept whole (a break inside quotes would be literal).
  const words = command.match(/(?:'[^']*'|[^\s'])+/g) ?? [command];
  for (const word of words) {
    if (current.length + 1 + word.length + 2 > width && current.trim() !== "$") {
      lines.push(`${current} \\`);
      current = `      ${word}`;
    } else current += ` ${word}`;
  }
  lines.push(current);
  return lines;
}

/** A value in its unit: `5.63%`, `417ms`; `-` for none. */
function value(v: number | null, unit: string): string {
  return v === null ? "-" : `${+v.toFixed(2)}${unit}`;
}

/** A section: its lines, and the lines it can give up (least telling first) when tight. */
interface Section {
  lines: string[];
  /** Indexes into `lines` that may go, in the order they go. */
  optional: number[];
}

function section(): Section & { add(line: string, optional?: boolean): void } {
  const s = {
    lines: [] as string[],
    optional: [] as number[],
    add(line: string, optional = false) {
      if (optional) s.optional.push(s.lines.length);
      s.lines.push(line);
    },
  };
  return s;
}

function gateTable(
  targets: readonly GateTarget[],
  unit: string,
  eventsLabel: string,
  s: ReturnType<typeof section>,
  width: number,
): void {
  const name = Math.min(32, Math.max(8, ...targets.map((t) => t.target.length)));
  const row = (cells: string[]) =>
    cut(
      `    ${cells[0]!.padEnd(name)}  ${cells[1]!.padStart(9)} ${cells[2]!.padStart(9)} ` +
        `${cells[3]!.padStart(8)} ${cells[4]!.padStart(9)} ${cells[5]!.padStart(10)}  ${cells[6]}`,
      width,
    );
  s.add(row(["target", "last", "worst", "samples", "requests", eventsLabel, "verdict"]));
  targets.forEach((t, i) => {
    const verdict = t.verdict === "breached"
      ? "BREACHED"
      : t.verdict === "no value"
      ? `NO VALUE${t.detail ? `: ${t.detail}` : ""}`
      : t.verdict;
    s.add(
      row([
        t.target,
        value(t.last, unit),
        value(t.worst, unit),
        t.badSamples > 0 ? `${t.samples} (${t.badSamples}✗)` : String(t.samples),
        t.requests.toLocaleString("en-US"),
        t.events.toLocaleString("en-US"),
        verdict,
      ]),
      // The breaching targets stay; the others may go, the last first.
      (t.verdict === "ok" || t.verdict === "undecided") && i > 0,
    );
  });
}

function causeSection(cause: Cause, width: number): ReturnType<typeof section> {
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
      for (const l of wrap(cause.reason, width, "    ", 2)) s.add(l);
      const unit = /^[<>]=? -?[0-9.]+(\S*)$/.exec(cause.threshold)?.[1] ?? "";
      const events = unit === "%" ? "errors" : `over ${cause.threshold.replace(/^[<>]=? /, "")}`;
      gateTable(cause.targets, unit, events, s, width);
      if (cause.otherGates.length) {
        s.add(cut(`    also failed: ${cause.otherGates.join("; ")}`, width));
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
        p.lastLines.slice(-3).forEach((l, i, all) =>
          s.add(cut(`        | ${l}`, width), i < all.length - 1)
        );
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

function header(e: Explanation, width: number): ReturnType<typeof section> {
  const s = section();
  const r = e.run;
  const what = `${r.pipeline} → ${r.environment}${r.version ? ` @ ${r.version}` : ""}`;
  const status = r.died ? "UNFINISHED (the runner died)" : r.status.toUpperCase().replace("_", " ");
  s.add(cut(`${e.runId}: ${what}: ${status}${r.dryRun ? " (dry run)" : ""}`, width));
  for (const l of wrap(e.headline, width, "  ", 2)) s.add(l);
  const took = r.durationMs !== undefined ? `, took ${formatDuration(r.durationMs)}` : "";
  const commit = r.commit?.sha
    ? `, commit ${r.commit.sha.slice(0, 12)}${r.commit.dirty ? " (dirty tree)" : ""}`
    : "";
  s.add(cut(`  by ${r.who}${commit}`, width));
  const t = r.target;
  const where = [
    [t.kind, [t.cluster, t.namespace].filter(Boolean).join("/")].filter(Boolean).join(" "),
    t.scenario ? `scenario ${t.scenario}` : undefined,
    t.clock ? `${t.clock} clock` : undefined,
  ].filter(Boolean).join(", ");
  s.add(cut(`  started ${r.startedAt}${took}${where ? `; ${where}` : ""}`, width));
  if (r.approvedBy.length) s.add(cut(`  approved by ${r.approvedBy.join(", ")}`, width), true);
  return s;
}

function actionsSection(e: Explanation, width: number): ReturnType<typeof section> {
  const s = section();
  for (const a of e.actions) {
    const mark = a.status === "succeeded"
      ? "✓"
      : a.status === "skipped"
      ? "-"
      : a.status === "failed"
      ? "✗"
      : "■";
    const channels = a.lines.length === 0 && e.notified && a.stage === notifyingStage(e)
      ? `: notified ${
        e.notified.length ? e.notified.join(", ") : "nobody (no notifier configured)"
      }`
      : "";
    const why = a.reason ? ` (${a.reason})` : "";
    s.add(cut(`  ${mark} ${a.stage}: ${a.status}${why}${channels}`, width));
    a.lines.forEach((l, i) => s.add(cut(`      ${l}`, width), a.kind !== "rollback" || i > 0));
    if (a.more > 0) s.add(cut(`      … ${a.more} more line(s): ${e.runDir}/${a.log}`, width), true);
  }
  for (const u of e.undelivered) {
    s.add(
      cut(
        `  ✗ UNDELIVERED ${u.channel}: ${u.what} (stage ${u.stage}, ${u.attempts} attempt(s))`,
        width,
      ),
    );
    s.add(cut(`      ${u.error}: tell them by hand`, width));
  }
  return s;
}

/** The stage that recorded the channels notified: named in the actions by its log-less line. */
function notifyingStage(e: Explanation): string | undefined {
  return e.actions.find((a) => /notif/i.test(a.stage))?.stage;
}

/**
 * Draws an explanation for a terminal: what happened, the first cause, what the runner did,
 * the next commands, where the rest is — within `size` (default 40 lines × 100 columns).
 *
 * @param e The explanation.
 * @param size The screen.
 * @returns The text, one line each, ending with a newline.
 *
 * @example
 * ```ts
 * import { renderExplanation } from "./render.ts";
 * import assert from "node:assert/strict";
 * const text = renderExplanation({
 *   runId: "r1", runDir: "runs/r1", source: "report", headline: "succeeded in 5s",
 *   run: { pipeline: "deploy", environment: "staging", version: "v2", status: "succeeded",
 *     died: false, dryRun: false, startedAt: "2026-01-01T00:00:00Z", durationMs: 5000,
 *     who: "ann@ci", target: {}, approvedBy: [], resumes: 0 },
 *   alsoFailed: [], rollback: { performed: false, succeeded: null, stages: [] }, actions: [],
 *   undelivered: [], notes: [], next: [], more: ["runs/r1/report.json"],
 * });
 * assert.match(text, /^r1: deploy → staging @ v2: SUCCEEDED\n  succeeded in 5s\n/);
 * ```
 */
export function renderExplanation(e: Explanation, size: ScreenSize = {}): string {
  const width = size.width ?? 100;
  const height = size.height ?? 40;
  const sections: { title?: string; body: ReturnType<typeof section> }[] = [
    { body: header(e, width) },
  ];
  if (e.cause) {
    const body = causeSection(e.cause, width);
    e.alsoFailed.slice(0, 2).forEach((f, i) =>
      body.add(cut(`  then: ${f.stage}: ${f.reason}`, width), i > 0 || e.alsoFailed.length > 2)
    );
    sections.push({ title: "First cause", body });
  }
  const actions = actionsSection(e, width);
  if (actions.lines.length) sections.push({ title: "What the runner did", body: actions });
  if (e.notes.length) {
    const body = section();
    e.notes.forEach((n, i) => body.add(cut(`  ${n}`, width), i > 0));
    sections.push({ ...(e.cause ? { title: "Also" } : {}), body });
  }
  if (e.next.length) {
    const body = section();
    for (const n of e.next.slice(0, 6)) {
      for (const l of commandLines(n.command, width)) body.add(l);
      body.add(cut(`      ${n.why}`, width), true);
    }
    sections.push({ title: "Next", body });
  }
  const footer = wrap(
    `More in ${e.runDir}/: ${e.more.join(", ")} (--json: all of this)`,
    width,
    "  ",
    2,
  )
    .map((l, i) => (i === 0 ? l.trimStart() : l));
  const count = () =>
    sections.reduce((n, s, i) => n + s.body.lines.length + (s.title ? 1 : 0) + (i > 0 ? 1 : 0), 0) +
    footer.length;
  // Give up optional lines, the last section's first, until it fits.
  for (let k = sections.length - 1; k >= 0 && count() > height; k--) {
    const body = sections[k]!.body;
    while (body.optional.length && count() > height) {
      const index = body.optional.pop()!;
      body.lines[index] = "\u0000";
      body.lines = body.lines.filter((l) => l !== "\u0000");
      body.optional = body.optional.map((o) => (o > index ? o - 1 : o));
    }
  }
  const out: string[] = [];
  sections.forEach((s, i) => {
    if (i > 0) out.push("");
    if (s.title) out.push(s.title);
    out.push(...s.body.lines);
  });
  if (out.length > height - footer.length) {
    const left = out.length - (height - footer.length - 1);
    out.length = height - footer.length - 1;
    out.push(`… ${left} more line(s)`);
  }
  out.push(...footer);
  return out.join("\n") + "\n";
}
