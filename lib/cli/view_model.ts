/**
 * What the live view of a run shows, kept as the run goes: every stage of the graph with its
 * state and time, and for each gated stage the latest sample of each gate per target, where
 * the analysis stands (sample k of n, in the run's time and in wall time), the traffic split
 * its notices reported, and which targets breached. Plain data: `view_render.ts` draws it.
 * @module
 */
import type { SampleProgress } from "../analysis/provider.ts";
import type { GateSpec } from "../dsl/stage.ts";
import type { GateRecord, SampleRecord, StageRecord } from "../report/schema.ts";

export type { GateRecord, GateSpec, SampleProgress, SampleRecord, StageRecord };

/**
 * A stage's state on screen: `waiting` until it starts, `running`, then how it ended.
 *
 * @example
 * ```ts
 * import type { StageState } from "./view_model.ts";
 * const s: StageState = "waiting";
 * ```
 */
export type StageState = "waiting" | "running" | StageRecord["status"];

/**
 * A stage of the graph as the view shows it.
 *
 * @example
 * ```ts
 * import type { StageRow } from "./view_model.ts";
 * const row: StageRow = { id: "lock", state: "succeeded", durationMs: 12 };
 * ```
 */
export interface StageRow {
  /** The stage's id. */
  readonly id: string;
  /** Its state now. */
  state: StageState;
  /** Wall time (performance.now()) it started, while it runs. */
  startedWall?: number;
  /** The run's clock when it started (epoch ms). */
  startedAt?: number;
  /** How long it took on the run's clock, once it ended. */
  durationMs?: number;
}

/**
 * A gate column of a stage's table: its metric and what it is held against.
 *
 * @example
 * ```ts
 * import type { GateColumn } from "./view_model.ts";
 * const c: GateColumn = { key: "error_rate < 1%", metric: "error_rate", against: "< 1%", unit: "%" };
 * ```
 */
export interface GateColumn {
  /** The gate, as the plain lines name it (`p95_latency < 2000ms (vs baseline)`). */
  readonly key: string;
  /** The metric (`error_rate`). */
  readonly metric: string;
  /** What it is held against: `< 1%`, or `vs baseline`. */
  readonly against: string;
  /** The metric's unit (`%`, `ms`). */
  readonly unit: string;
}

/**
 * The latest sample of one gate for one target.
 *
 * @example
 * ```ts
 * import type { Cell } from "./view_model.ts";
 * const c: Cell = { sample: { at: "2026-01-01T00:00:00.000Z", value: 0.2, verdict: "successful" }, breach: false };
 * ```
 */
export interface Cell {
  /** The sample. */
  readonly sample: SampleRecord;
  /** A breach: the sample failed, or its statistical decision says breach. */
  readonly breach: boolean;
}

/**
 * A traffic split a stage reported (`web: blue 95% / green 5%`), in its order.
 *
 * @example
 * ```ts
 * import type { Split } from "./view_model.ts";
 * const s: Split = [{ label: "blue", percent: 95 }, { label: "green", percent: 5 }];
 * ```
 */
export type Split = readonly { readonly label: string; readonly percent: number }[];

/**
 * A gated stage's board: its gates, its targets' latest samples, its progress.
 *
 * @example
 * ```ts
 * import type { Board } from "./view_model.ts";
 * const b: Board = { columns: [], rows: new Map(), traffic: new Map() };
 * ```
 */
export interface Board {
  /** Its gates, in the order their first samples came. */
  readonly columns: GateColumn[];
  /** Target (its first label that is not the namespace: the service) → gate key → cell. */
  readonly rows: Map<string, Map<string, Cell>>;
  /** The latest sample's place in the analysis. */
  progress?: SampleProgress;
  /** The run's clock at the latest sample (epoch ms). */
  lastAt?: number;
  /** The first and latest look seen: their run time and wall time, for the rate. */
  first?: { readonly at: number; readonly wall: number };
  /** The latest look seen after the first: its run time and wall time. */
  last?: { readonly at: number; readonly wall: number };
  /** Traffic per service, from the stage's notices. */
  readonly traffic: Map<string, Split>;
}

/**
 * The first label that is not the namespace (the service), or `all`.
 *
 * @param labels A target's labels.
 * @returns Its name.
 *
 * @example
 * ```ts
 * import { targetName } from "./view_model.ts";
 * import assert from "node:assert/strict";
 * assert.equal(targetName({ namespace: "shop", service: "api", slot: "green" }), "api");
 * assert.equal(targetName({}), "all");
 * ```
 */
export function targetName(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).find(([k]) => k !== "namespace")?.[1] ?? "all";
}

/**
 * How the plain lines and the table name a gate: a baseline gate says so.
 *
 * @param source The gate string.
 * @param method How it decides.
 * @returns Its name on screen.
 *
 * @example
 * ```ts
 * import { gateKey } from "./view_model.ts";
 * import assert from "node:assert/strict";
 * assert.equal(gateKey("p95_latency < 2000ms", "baseline"), "p95_latency < 2000ms (vs baseline)");
 * ```
 */
export function gateKey(source: string, method: string | undefined): string {
  return `${source}${method === "baseline" ? " (vs baseline)" : ""}`;
}

/**
 * A notice that reports a traffic split, `<name>: <label> <n>% / <label> <n>%[ / ...]` (what a
 * canary step says when it sets weights), or undefined.
 *
 * @param message The notice.
 * @returns The name and its split.
 *
 * @example
 * ```ts
 * import { trafficOf } from "./view_model.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(trafficOf("web: blue 95% / green 5%"), {
 *   name: "web",
 *   split: [{ label: "blue", percent: 95 }, { label: "green", percent: 5 }],
 * });
 * assert.equal(trafficOf("web: traffic none → blue (2 pods)"), undefined);
 * ```
 */
export function trafficOf(message: string): { name: string; split: Split } | undefined {
  const m = /^(\S+): ((?:[\w.-]+ \d+(?:\.\d+)?% \/ )+[\w.-]+ \d+(?:\.\d+)?%)$/.exec(message);
  if (!m) return undefined;
  const split = m[2]!.split(" / ").map((part) => {
    const [label, n] = part.split(" ");
    return { label: label!, percent: Number(n!.slice(0, -1)) };
  });
  return { name: m[1]!, split };
}

/**
 * Whether a sample is a breach: it failed, or its statistical decision says so.
 *
 * @param s The sample.
 * @returns Whether it breached.
 *
 * @example
 * ```ts
 * import { isBreach } from "./view_model.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isBreach({ at: "2026-01-01T00:00:00.000Z", value: 3, verdict: "failed" }), true);
 * ```
 */
export function isBreach(s: SampleRecord): boolean {
  return s.verdict === "failed" || s.decision?.state === "breach";
}

/**
 * The targets a failed gate breached for, with their deciding sample: for a statistical gate
 * the targets whose sample at the deciding look breached; for a fixed one those whose failed
 * samples exceed its failure limit (their last failed sample). Empty when the gate failed for
 * another reason (it could not be measured, nothing to measure).
 *
 * @param g The gate's record.
 * @returns Each breaching target's name and sample, in the order they were measured.
 *
 * @example
 * ```ts
 * import { breachesOf } from "./view_model.ts";
 * import assert from "node:assert/strict";
 * const at = "2026-01-01T00:00:10.000Z";
 * const s = (service: string, value: number, state: "breach" | "undecided") => ({
 *   at, value, verdict: state === "breach" ? "failed" as const : "successful" as const,
 *   labels: { namespace: "shop", service }, decision: { state },
 * });
 * const breached = breachesOf({
 *   gate: "error_rate < 1%", metric: "error_rate", operator: "<", threshold: 1, unit: "%",
 *   failureLimit: 0, consecutiveErrorLimit: 3, inconclusivePolicy: "fail", verdict: "failed",
 *   method: "sequential",
 *   samples: [s("api", 3.1, "breach"), s("web", 0.2, "undecided"), s("db", 4, "breach")],
 * });
 * assert.deepEqual(breached.map((b) => b.target), ["api", "db"]);
 * ```
 */
export function breachesOf(g: GateRecord): { target: string; sample: SampleRecord }[] {
  if (g.verdict !== "failed" || g.samples.length === 0) return [];
  if (g.method === "sequential" || g.method === "baseline") {
    const at = g.samples.at(-1)!.at;
    return g.samples.filter((s) => s.at === at && isBreach(s))
      .map((s) => ({ target: targetName(s.labels ?? {}), sample: s }));
  }
  const failed = new Map<string, { n: number; sample: SampleRecord }>();
  for (const s of g.samples) {
    const bad = s.verdict === "failed" ||
      (s.verdict === "inconclusive" && g.inconclusivePolicy === "fail");
    if (!bad) continue;
    const name = targetName(s.labels ?? {});
    failed.set(name, { n: (failed.get(name)?.n ?? 0) + 1, sample: s });
  }
  return [...failed].filter(([, f]) => f.n > g.failureLimit)
    .map(([target, f]) => ({ target, sample: f.sample }));
}

/**
 * The model of a run on screen: its title, its stages in graph order, the boards of its gated
 * stages. One per run (a rehearsal's staging run, then production's, each get a fresh one).
 *
 * @example
 * ```ts
 * import { RunModel } from "./view_model.ts";
 * import assert from "node:assert/strict";
 * const m = new RunModel({ title: "deploy → shop", runId: "r1", stages: [{ id: "a" }, { id: "b" }] });
 * m.started("a", "2026-01-01T00:00:00.000Z", 0);
 * assert.deepEqual(m.stages.map((s) => s.state), ["running", "waiting"]);
 * m.finished("a", "succeeded", 1_000);
 * assert.equal(m.stages[0]!.durationMs, 1_000);
 * ```
 */
export class RunModel {
  /** What runs where (`deploy → production @ v1.2.4`). */
  readonly title: string;
  /** The run's id. */
  readonly runId: string;
  /** Every stage of the graph, in its order. */
  readonly stages: StageRow[];
  /** The gated stages' boards, by stage id. */
  readonly boards = new Map<string, Board>();
  /** Stages that pause on a breach (instead of failing). */
  readonly pausing: ReadonlySet<string>;
  /** Wall time the run started. */
  readonly startedWall: number;

  /**
   * A model with every stage waiting.
   *
   * @param o The title, the run's id and its stages (with their gates' `onBreach`).
   * @param wall The wall time now (performance.now()).
   */
  constructor(
    o: {
      title: string;
      runId: string;
      stages: readonly {
        id: string;
        analysis?: { onBreach: string };
        gates?: readonly unknown[];
      }[];
    },
    wall = performance.now(),
  ) {
    this.title = o.title;
    this.runId = o.runId;
    this.stages = o.stages.map((s) => ({ id: s.id, state: "waiting" }));
    this.pausing = new Set(
      o.stages.filter((s) => (s.gates?.length ?? 0) > 0 && s.analysis?.onBreach === "pause")
        .map((s) => s.id),
    );
    this.startedWall = wall;
  }

  #row(id: string): StageRow {
    let row = this.stages.find((s) => s.id === id);
    if (!row) {
      row = { id, state: "waiting" };
      this.stages.push(row);
    }
    return row;
  }

  /** A stage started (at `startedAt` on the run's clock, ISO), at wall time `wall`. */
  started(id: string, startedAt: string | undefined, wall = performance.now()): void {
    const row = this.#row(id);
    row.state = "running";
    row.startedWall = wall;
    if (startedAt) row.startedAt = Date.parse(startedAt);
  }

  /** A stage ended (or was skipped). */
  finished(id: string, state: StageRecord["status"], durationMs?: number): void {
    const row = this.#row(id);
    row.state = state;
    delete row.startedWall;
    if (durationMs !== undefined) row.durationMs = durationMs;
  }

  #board(stage: string): Board {
    let b = this.boards.get(stage);
    if (!b) {
      b = { columns: [], rows: new Map(), traffic: new Map() };
      this.boards.set(stage, b);
    }
    return b;
  }

  /** A stage's notice: a traffic split goes on its board. */
  notice(stage: string, message: string): void {
    const t = trafficOf(message);
    if (t) this.#board(stage).traffic.set(t.name, t.split);
  }

  /** A gate's sample for a target, with its place in the analysis. */
  sample(
    stage: string,
    gate: GateSpec,
    s: SampleRecord,
    progress: SampleProgress | undefined,
    wall = performance.now(),
  ): void {
    const b = this.#board(stage);
    const key = gateKey(gate.gate.source, gate.decision?.method);
    if (!b.columns.some((c) => c.key === key)) {
      b.columns.push({
        key,
        metric: gate.gate.metric,
        against: gate.decision?.method === "baseline"
          ? "vs baseline"
          : `${gate.gate.operator} ${gate.gate.threshold}${gate.gate.unit}`,
        unit: gate.gate.unit,
      });
    }
    const name = targetName(s.labels ?? {});
    const row = b.rows.get(name) ?? new Map<string, Cell>();
    b.rows.set(name, row);
    row.set(key, { sample: s, breach: isBreach(s) });
    if (progress && (!b.progress || progress.look >= b.progress.look)) b.progress = progress;
    const at = Date.parse(s.at);
    if (!Number.isNaN(at)) {
      b.lastAt = Math.max(b.lastAt ?? at, at);
      b.first ??= { at, wall };
      if (at > b.first.at) b.last = { at, wall };
    }
  }
}
