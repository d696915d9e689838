/**
 * The live region of a run at a terminal, drawn from its {@linkcode RunModel}: a title line,
 * every stage of the graph with its state and time, and for each running gated stage where
 * its analysis stands (sample k of n, elapsed and remaining in the run's time and in wall
 * time), a table of the latest value of each gate per service against its threshold with the
 * request count, and the traffic split per service as a bar. Lines are cut to the terminal's
 * width and the region to its height.
 * @module
 */
import { formatDuration } from "../dsl/duration.ts";
import type { Board, Cell, RunModel, StageRow, StageState } from "./view_model.ts";
import { count, fit, flow, pad, type Piece, widthOf } from "./view_text.ts";

/**
 * The terminal the region is drawn for, and the time.
 *
 * @example
 * ```ts
 * import type { RenderOptions } from "./view_render.ts";
 * const o: RenderOptions = { width: 80, rows: 24, colour: false, wall: performance.now() };
 * ```
 */
export interface RenderOptions {
  /** Columns of the terminal. */
  readonly width: number;
  /** Rows of the terminal: the region keeps at most `rows - 2` of them. */
  readonly rows: number;
  /** Whether to colour. */
  readonly colour: boolean;
  /** The wall time now (performance.now()). */
  readonly wall: number;
  /** The spinner's frame. */
  readonly frame?: number;
}

const SPIN = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";

/** A stage's mark and colour. */
function mark(state: StageState, frame: number): Piece {
  switch (state) {
    case "waiting":
      return ["dim", "·"];
    case "running":
      return ["cyan", SPIN[frame % SPIN.length]!];
    case "succeeded":
      return ["green", "✓"];
    case "failed":
      return ["red", "✗"];
    case "interrupted":
      return ["yellow", "■"];
    case "skipped":
      return ["dim", "-"];
  }
}

/** A short duration: `0ms`, `1.2s`, `15m`, `1h2m`. */
function short(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms)));
}

/** A stage as a cell of the stages' lines: its mark, its id, its time. */
function stageCell(s: StageRow, o: RenderOptions): Piece[] {
  const time = s.state === "running" && s.startedWall !== undefined
    ? ` ${short(o.wall - s.startedWall)}`
    : s.durationMs !== undefined
    ? ` ${short(s.durationMs)}`
    : "";
  const id: Piece = s.state === "waiting" || s.state === "skipped" ? ["dim", s.id] : s.id;
  return [mark(s.state, o.frame ?? 0), " ", id, ["dim", time]];
}

/** The progress line of a gated stage: sample k of n, its run time and its wall time. */
function progressLine(id: string, row: StageRow | undefined, b: Board, o: RenderOptions): Piece[] {
  const p = b.progress;
  const head: Piece[] = [["bold", id]];
  if (!p) return [...head, " · waiting for the first sample"];
  const parts: Piece[] = [...head, ` · sample ${p.look} of ${p.of}`];
  const leftMs = Math.max(0, (p.of - p.look) * p.everyMs);
  if (row?.startedAt !== undefined && b.lastAt !== undefined) {
    parts.push(` · ${short(b.lastAt - row.startedAt)} elapsed, ${short(leftMs)} left`);
  } else parts.push(` · ${short(leftMs)} left`);
  if (row?.startedWall !== undefined) {
    const wallIn = o.wall - row.startedWall;
    // Wall time per unit of run time, from the looks seen so far.
    const rate = b.first && b.last && b.last.at > b.first.at
      ? (b.last.wall - b.first.wall) / (b.last.at - b.first.at)
      : undefined;
    const wallLeft = rate === undefined ? "" : `, ~${short(leftMs * rate)} left`;
    parts.push(["dim", ` (wall ${short(wallIn)}${wallLeft})`]);
  }
  return parts;
}

/** A cell's value as the table shows it: `0.21%`, `812ms`, or why there is none. */
function valueOf(c: Cell, unit: string): string {
  const s = c.sample;
  return s.value === null ? s.verdict : `${+s.value.toFixed(2)}${unit}`;
}

/** A cell's mark: a breach, a pass, or neither. */
function cellMark(c: Cell): Piece {
  if (c.breach) return ["red", "✗"];
  if (c.sample.verdict === "successful") return ["green", "✓"];
  return ["yellow", "?"];
}

/** The table of a board: a header, then one line per service. */
function table(b: Board, width: number): Piece[][] {
  const names = [...b.rows.keys()];
  const nameW = Math.min(
    Math.max(7, ...names.map(widthOf)),
    Math.max(7, Math.floor(width / 4)),
  );
  const heads = b.columns.map((c) => `${c.metric} ${c.against}`);
  const cells = names.map((n) =>
    b.columns.map((c) => {
      const cell = b.rows.get(n)!.get(c.key);
      return cell ? `${valueOf(cell, c.unit)}` : "-";
    })
  );
  const colW = b.columns.map((_, i) =>
    Math.max(widthOf(heads[i]!), ...cells.map((row) => widthOf(row[i]!) + 2))
  );
  const header: Piece[] = ["  ", ["dim", pad("service", nameW)]];
  b.columns.forEach((_, i) => header.push("  ", ["dim", pad(heads[i]!, colW[i]!)]));
  header.push("  ", ["dim", "requests"]);
  const lines: Piece[][] = [header];
  names.forEach((n, r) => {
    const row = b.rows.get(n)!;
    const line: Piece[] = ["  ", pad(n, nameW)];
    b.columns.forEach((c, i) => {
      const cell = row.get(c.key);
      line.push("  ");
      if (!cell) {
        line.push(pad("-", colW[i]!));
        return;
      }
      const text = cells[r]![i]!;
      line.push(cellMark(cell), " ", cell.breach ? ["red", text] : text);
      line.push(" ".repeat(Math.max(0, colW[i]! - widthOf(text) - 2)));
    });
    // The most requests any of its gates counted in its latest window.
    const requests = Math.max(
      -1,
      ...[...row.values()].map((c) => c.sample.evidence?.requests ?? -1),
    );
    line.push("  ", requests < 0 ? "-" : count(requests));
    lines.push(line);
  });
  return lines;
}

/** The traffic split of each service as a bar: `web  ███████░ blue 95% / green 5%`. */
function trafficLines(b: Board, width: number): Piece[][] {
  const names = [...b.traffic.keys()];
  const nameW = Math.min(Math.max(...names.map(widthOf)), Math.max(7, Math.floor(width / 4)));
  const barW = Math.max(10, Math.min(40, width - nameW - 34));
  const colours = ["blue", "green", "yellow", "cyan"] as const;
  return names.map((n) => {
    const split = b.traffic.get(n)!;
    const line: Piece[] = ["  ", pad(n, nameW), " "];
    let used = 0;
    split.forEach((part, i) => {
      // The last part takes what rounding left, so the bar is always barW wide.
      const w = i === split.length - 1
        ? barW - used
        : Math.min(barW - used, Math.round((part.percent / 100) * barW));
      used += w;
      if (w > 0) line.push([colours[i % colours.length]!, (i % 2 === 0 ? "█" : "▒").repeat(w)]);
    });
    line.push(" ", split.map((p) => `${p.label} ${p.percent}%`).join(" / "));
    return line;
  });
}

/** Every service whose latest sample of a gate breached, with its values: one cell each. */
function breachText(b: Board): Piece[][] {
  const cells: Piece[][] = [];
  for (const [name, row] of b.rows) {
    const bad = b.columns.filter((c) => row.get(c.key)?.breach);
    if (bad.length === 0) continue;
    const values = bad.map((c) => `${c.metric} ${valueOf(row.get(c.key)!, c.unit)}`).join(", ");
    cells.push([cells.length === 0 ? ["red", "  ✗ breach: "] : "", ["red", name], ` ${values}`]);
  }
  return cells;
}

/** The lines of a running gated stage: progress, the table, the traffic. */
function boardLines(id: string, model: RunModel, b: Board, o: RenderOptions): Piece[][] {
  const row = model.stages.find((s) => s.id === id);
  const lines: Piece[][] = [progressLine(id, row, b, o)];
  if (b.columns.length > 0) lines.push(...table(b, o.width));
  const breached = breachText(b);
  const wrapped = flow(breached, o.width - 4, "  ");
  lines.push(...wrapped.map((l, i) => (i === 0 ? l : ["    ", ...l])));
  if (b.traffic.size > 0) {
    lines.push([["dim", "  traffic"]]);
    lines.push(...trafficLines(b, o.width));
  }
  return lines;
}

/** One line that counts the stages by state, for a region that must be short. */
function stageSummary(model: RunModel, o: RenderOptions): Piece[] {
  const by = new Map<StageState, number>();
  for (const s of model.stages) by.set(s.state, (by.get(s.state) ?? 0) + 1);
  const out: Piece[] = [];
  for (const [state, n] of by) {
    if (out.length > 0) out.push("  ");
    out.push(mark(state, o.frame ?? 0), ` ${n} ${state}`);
  }
  return out;
}

/**
 * The live region's lines: at most `rows - 2` of them, each at most `width - 1` columns
 * wide (coloured when asked). When the stages and the boards do not fit, the stages are
 * counted on one line (the running ones still named), then the boards' lines are cut.
 *
 * @param model The run.
 * @param o The terminal and the time.
 * @returns The lines, without newlines.
 *
 * @example
 * ```ts
 * import { RunModel } from "./view_model.ts";
 * import { renderRegion } from "./view_render.ts";
 * import assert from "node:assert/strict";
 * const m = new RunModel({ title: "deploy → shop", runId: "r1", stages: [{ id: "a" }, { id: "b" }] }, 0);
 * m.started("a", "2026-01-01T00:00:00.000Z", 0);
 * const lines = renderRegion(m, { width: 80, rows: 24, colour: false, wall: 1_500 });
 * assert.match(lines[0]!, /^deploy → shop · run r1 · 1\.5s/);
 * assert.match(lines[1]!, /^⠋ a 1\.5s {2}· b$/);
 * ```
 */
export function renderRegion(model: RunModel, o: RenderOptions): string[] {
  const room = Math.max(3, o.rows - 2);
  const title: Piece[] = [
    ["bold", model.title],
    ["dim", ` · run ${model.runId} · ${short(o.wall - model.startedWall)}`],
  ];
  const stageLines = flow(model.stages.map((s) => stageCell(s, o)), o.width, "  ");
  const running = model.stages.filter((s) => s.state === "running");
  const boards: Piece[][] = [];
  for (const s of running) {
    const b = model.boards.get(s.id);
    if (b && (b.columns.length > 0 || b.progress)) boards.push(...boardLines(s.id, model, b, o));
  }
  let lines: Piece[][] = [title, ...stageLines, ...boards];
  if (lines.length > room) {
    const named = flow(running.map((s) => stageCell(s, o)), o.width, "  ");
    lines = [title, stageSummary(model, o), ...named, ...boards].slice(0, room);
  }
  return lines.map((l) => fit(l, o.width, o.colour));
}
