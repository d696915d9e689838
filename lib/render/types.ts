/**
 * The shapes of what a rendered report shows ({@linkcode ReportView} and its parts), worked
 * out by `view.ts` and drawn by `html.ts` and `markdown.ts`.
 * @module
 */
import type {
  CheckRecord,
  GateRecord,
  Report,
  SampleRecord,
  StageRecord,
} from "../report/types.ts";

/**
 * One line of a run's verification: what was checked, whether it held (`null`: not
 * checked), and what was found.
 *
 * @example
 * ```ts
 * import type { VerificationLine } from "./types.ts";
 * const line: VerificationLine = { check: "journal chain", ok: true, detail: "84 events" };
 * console.assert(line.ok === true);
 * ```
 */
export interface VerificationLine {
  /** What was checked, e.g. `journal chain`. */
  readonly check: string;
  /** Whether it held; `null` when it was not checked. */
  readonly ok: boolean | null;
  /** What was found, for people. */
  readonly detail: string;
}

/**
 * One fact of the header: a label and its value, as text.
 *
 * @example
 * ```ts
 * import type { Fact } from "./types.ts";
 * const fact: Fact = { label: "environment", value: "staging" };
 * console.assert(fact.value === "staging");
 * ```
 */
export interface Fact {
  /** What it is. */
  readonly label: string;
  /** Its value. */
  readonly value: string;
}

/**
 * One stage on the timeline: its offsets from the run's start, in seconds, from the
 * timestamps the report recorded (`start` absent: it never started).
 *
 * @example
 * ```ts
 * import type { TimelineRow } from "./types.ts";
 * const row: TimelineRow = {
 *   id: "build", kind: "normal", status: "succeeded", start: 0, end: 1.5, open: false,
 *   duration: "1.5 s", attempts: 1, reason: "",
 * };
 * console.assert(row.end! > row.start!);
 * ```
 */
export interface TimelineRow {
  /** The stage's id. */
  readonly id: string;
  /** Ordinary stage or handler. */
  readonly kind: StageRecord["kind"];
  /** How it ended. */
  readonly status: StageRecord["status"];
  /** When it started, in seconds after the run's start. */
  readonly start?: number | undefined;
  /** When it finished (or, `open`, when the run's record ends), in seconds. */
  readonly end?: number | undefined;
  /** It started and has no finish: its bar runs to the end of the record. */
  readonly open: boolean;
  /** Its duration as the run's clock measured it, for people. */
  readonly duration: string;
  /** How many attempts it made. */
  readonly attempts: number;
  /** Why it failed or was skipped. */
  readonly reason: string;
}

/**
 * One measurement of a gate for one target, numbered by its look at that target.
 *
 * @example
 * ```ts
 * import type { GatePoint } from "./types.ts";
 * const point: GatePoint = {
 *   look: 1, at: "2026-01-01T00:00:00.000Z", value: 0.4, verdict: "successful",
 *   requests: "300", events: "1", window: "", detail: "",
 * };
 * console.assert(point.look === 1);
 * ```
 */
export interface GatePoint {
  /** Its look at this target, from 1. */
  readonly look: number;
  /** When it was taken. */
  readonly at: string;
  /** Its value in the gate's unit; `null` when there was none. */
  readonly value: number | null;
  /** How it counted. */
  readonly verdict: SampleRecord["verdict"];
  /** Requests in its window, as text (empty when unknown). */
  readonly requests: string;
  /** Errors, or requests over the latency bound, in its window, as text (empty when unknown). */
  readonly events: string;
  /** Its window, `from → to` (empty when unknown). */
  readonly window: string;
  /** What the source said, and where a statistical gate stood. */
  readonly detail: string;
}

/**
 * The samples of one target of a gate (a service, for example), in order.
 *
 * @example
 * ```ts
 * import type { GateSeries } from "./types.ts";
 * const series: GateSeries = { name: "api", labels: "service=api", points: [] };
 * console.assert(series.points.length === 0);
 * ```
 */
export interface GateSeries {
  /** Its short name: the labels that tell it from the gate's other targets. */
  readonly name: string;
  /** All its labels, `key=value,...`. */
  readonly labels: string;
  /** Its samples. */
  readonly points: readonly GatePoint[];
}

/**
 * One gate of one stage, ready to draw: its threshold and each target's samples.
 *
 * @example
 * ```ts
 * import type { GateView } from "./types.ts";
 * const gate: GateView = {
 *   stage: "canary", title: "error_rate < 1%", metric: "error_rate", operator: "<",
 *   threshold: 1, unit: "%", verdict: "passed", reason: "", method: "fixed", decision: "",
 *   samples: 0, series: [],
 * };
 * console.assert(gate.series.length === 0);
 * ```
 */
export interface GateView {
  /** The stage (a canary step, for example). */
  readonly stage: string;
  /** The gate as written, with its method when it is not the fixed one. */
  readonly title: string;
  /** The metric's name. */
  readonly metric: string;
  /** The comparison a good sample makes. */
  readonly operator: GateRecord["operator"];
  /** The threshold, in the metric's unit. */
  readonly threshold: number;
  /** The unit. */
  readonly unit: string;
  /** The outcome. */
  readonly verdict: GateRecord["verdict"];
  /** Why it failed or was not measured. */
  readonly reason: string;
  /** How it decided. */
  readonly method: "fixed" | "sequential" | "baseline";
  /** A statistical gate's decision, for people. */
  readonly decision: string;
  /** Samples in all. */
  readonly samples: number;
  /** Each target's samples. */
  readonly series: readonly GateSeries[];
}

/**
 * The checks of one stage.
 *
 * @example
 * ```ts
 * import type { StageChecks } from "./types.ts";
 * const checks: StageChecks = { stage: "preflight", checks: [] };
 * console.assert(checks.checks.length === 0);
 * ```
 */
export interface StageChecks {
  /** The stage. */
  readonly stage: string;
  /** Its checks, each with its evidence. */
  readonly checks: readonly CheckRecord[];
}

/**
 * The rollback: whether one ran and how it went, and each rollback stage with its output.
 *
 * @example
 * ```ts
 * import type { RollbackView } from "./types.ts";
 * const rollback: RollbackView = { summary: "no rollback ran", stages: [] };
 * console.assert(rollback.stages.length === 0);
 * ```
 */
export interface RollbackView {
  /** One line for people. */
  readonly summary: string;
  /** The rollback stages. */
  readonly stages: readonly {
    readonly id: string;
    readonly status: StageRecord["status"];
    readonly reason: string;
    /** What it handed on (its evidence), as JSON; empty when none. */
    readonly output: string;
  }[];
}

/**
 * Everything a rendered report shows, from one run's report.
 *
 * @example
 * ```ts
 * import type { ReportView } from "./types.ts";
 * const title = (v: ReportView) => `${v.title}: ${v.status}`;
 * console.assert(typeof title === "function");
 * ```
 */
export interface ReportView {
  /** `pipeline → environment @ version`. */
  readonly title: string;
  /** How the run ended. */
  readonly status: Report["status"];
  /** The header: who, what, when, where. */
  readonly facts: readonly Fact[];
  /** The approvals: the plan's and each stage's, and decisions on paused breaches. */
  readonly approvals: readonly string[];
  /** The verification result. */
  readonly verification: readonly VerificationLine[];
  /** Every stage, in the report's order. */
  readonly timeline: readonly TimelineRow[];
  /** Where the timeline's axis ends, in seconds after the run's start. */
  readonly span: number;
  /** Every gate of every stage. */
  readonly gates: readonly GateView[];
  /** The stages' checks (stages without any left out). */
  readonly checks: readonly StageChecks[];
  /** The rollback. */
  readonly rollback: RollbackView;
  /** Notes for the reader (a rebuilt report, a scaled clock, resumes, undelivered messages). */
  readonly notes: readonly string[];
}
