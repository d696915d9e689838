/**
 * An {@linkcode Explanation} on one screen ({@linkcode renderExplanation}): at most 40 lines
 * of at most 100 columns by default. Long values are cut (`…`) and the last line says where
 * the rest is; when everything does not fit, detail goes first (the why of each command, a
 * handler's lines, a gate's healthy targets), never the cause or the commands.
 * @module
 */
import { formatDuration } from "../dsl/duration.ts";
import type { Explanation } from "./types.ts";
import { causeSection } from "./_render_cause.ts";
import { commandLines, cut, section, type SectionBuilder, wrap, wrapWhole } from "./_lines.ts";
/** The screen's size. */
export interface ScreenSize {
  /** Columns (default 100). */
  readonly width?: number;
  /** Lines (default 40). */
  readonly height?: number;
}

function header(e: Explanation, width: number): SectionBuilder {
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
  s.add(cut(`  started ${r.startedAt}${took}`, width));
  const t = r.target;
  const where = [
    [t.kind, [t.cluster, t.namespace].filter(Boolean).join("/")].filter(Boolean).join(" "),
    t.scenario ? `scenario ${t.scenario}` : undefined,
    t.clock ? `${t.clock} clock` : undefined,
  ].filter(Boolean).join(", ");
  if (where) s.add(cut(`  target: ${where}`, width));
  if (r.approvedBy.length) s.add(cut(`  approved by ${r.approvedBy.join(", ")}`, width), true);
  return s;
}

function actionsSection(e: Explanation, width: number): SectionBuilder {
  const s = section();
  // What did not arrive comes first: someone has to be told by hand.
  for (const u of e.undelivered) {
    s.add(
      cut(
        `  ✗ UNDELIVERED ${u.channel}: ${u.what} (stage ${u.stage}, ${u.attempts} attempt(s))`,
        width,
      ),
    );
    s.add(cut(`      ${u.error}: tell them by hand`, width));
  }
  for (const a of e.actions) {
    const mark = a.status === "succeeded"
      ? "✓"
      : a.status === "skipped"
      ? "-"
      : a.status === "failed"
      ? "✗"
      : "■";
    const channels = e.notified && a.stage === e.notifiedBy
      ? `: notified ${
        e.notified.length ? e.notified.join(", ") : "nobody (no notifier configured)"
      }`
      : "";
    const why = a.reason ? ` (${a.reason})` : "";
    s.add(cut(`  ${mark} ${a.stage}: ${a.status}${why}${channels}`, width));
    a.lines.forEach((l, i) => s.add(cut(`      ${l}`, width), a.kind !== "rollback" || i > 0));
    if (a.more > 0) s.add(cut(`      … ${a.more} more line(s) in ${a.log}`, width), true);
  }
  return s;
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
  const sections: { title?: string; body: SectionBuilder }[] = [
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
  const footer = wrapWhole(
    `More in ${e.runDir}/: ${e.more.join(", ")} (--json: all of this)`,
    width,
    "  ",
  );
  // The commands come last but are kept first: room for the first of them (up to 14 lines,
  // at least one command, whys aside) is set aside before the other sections are fitted.
  const commands = e.next.map((n) => ({ lines: commandLines(n.command, width), why: n.why }));
  let kept = 0, keptLines = 0;
  for (const c of commands) {
    if (kept > 0 && keptLines + c.lines.length > 14) break;
    kept++;
    keptLines += c.lines.length;
  }
  const reserve = commands.length === 0 ? 0 : 2 + keptLines + (kept < commands.length ? 1 : 0);
  const count = () =>
    sections.reduce((n, s, i) => n + s.body.lines.length + (s.title ? 1 : 0) + (i > 0 ? 1 : 0), 0) +
    footer.length + reserve;
  // Give up optional lines, the last section's first, until it fits.
  for (let k = sections.length - 1; k >= 0 && count() > height; k--) {
    const body = sections[k]!.body;
    while (body.optional.length && count() > height) {
      const index = body.optional.pop()!;
      body.lines.splice(index, 1);
      body.optional = body.optional.map((o) => (o > index ? o - 1 : o));
    }
  }
  // Still too long: whole lines go, from the end of the sections that matter least (what
  // the handlers did, the notes, the cause's detail); each section cut says so.
  for (const title of ["What the runner did", "Also", "First cause"]) {
    const target = sections.find((x) => x.title === title);
    if (!target || count() <= height) continue;
    const body = target.body;
    const keep = Math.max(1, body.lines.length - (count() - height) - 1);
    if (keep < body.lines.length) {
      const gone = body.lines.length - keep;
      body.lines = [...body.lines.slice(0, keep), `  … ${gone} more line(s) (--json)`];
    }
  }
  const out: string[] = [];
  sections.forEach((s, i) => {
    if (i > 0) out.push("");
    if (s.title) out.push(s.title);
    out.push(...s.body.lines);
  });
  if (out.length > height - footer.length - reserve) {
    const left = out.length - (height - footer.length - reserve - 1);
    out.length = height - footer.length - reserve - 1;
    out.push(`… ${left} more line(s) (--json)`);
  }
  if (commands.length > 0) {
    // The commands set aside for, then each one's why while there is room.
    let room = height - footer.length - out.length - reserve;
    out.push("", "Next");
    commands.slice(0, kept).forEach((c) => {
      out.push(...c.lines);
      if (room > 0) {
        out.push(cut(`      ${c.why}`, width));
        room--;
      }
    });
    if (kept < commands.length) out.push(`  … ${commands.length - kept} more command(s) (--json)`);
  }
  out.push(...footer);
  return out.join("\n") + "\n";
}
