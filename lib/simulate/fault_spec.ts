/**
 * `simulate --fault <spec>`: every run carries the same kind (and size) of fault, its onset
 * drawn from the run's seed (anywhere in the canary, or in a given range) — to measure one
 * case on enough runs, such as the detection of 3% errors at the 5% step
 * (`--fault errors:3%@0s..10m`). Everything else of a run is drawn as without it.
 * @module
 */
import { parseDuration } from "../config/duration.ts";
import type { FaultKind } from "./schedule.ts";

/**
 * A fault every run gets: its kind, its size, and where its onset is drawn.
 *
 * @example
 * ```ts
 * import type { ForcedFault } from "./fault_spec.ts";
 * const f: ForcedFault = { kind: "errors", errorRate: 0.03, onset: { fromMs: 0, toMs: 600_000 } };
 * ```
 */
export interface ForcedFault {
  /** The kind. */
  readonly kind: FaultKind;
  /** `errors`: the fraction of requests failed. */
  readonly errorRate?: number;
  /** `latency`: ms added to the p95. */
  readonly latencyMs?: number;
  /** `metrics-gap`: how long (absent: drawn). */
  readonly durationMs?: number;
  /** The onset is drawn uniformly in `[fromMs, toMs]` after the version is first deployed. */
  readonly onset?: { readonly fromMs: number; readonly toMs: number };
}

const KINDS: readonly FaultKind[] = ["healthy", "errors", "latency", "metrics-gap", "crash"];

/**
 * Parses `<kind>[:<size>][@<onset>|@<from>..<to>]`: `errors:3%`, `latency:1s@5m`,
 * `metrics-gap:2m@0s..20m`, `crash`, `healthy`.
 *
 * @param text The spec as written.
 * @returns The forced fault.
 * @throws {RangeError} Naming what is wrong and the valid forms.
 *
 * @example
 * ```ts
 * import { parseFaultSpec } from "./fault_spec.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseFaultSpec("errors:3%@0s..10m"), {
 *   kind: "errors", errorRate: 0.03, onset: { fromMs: 0, toMs: 600_000 },
 * });
 * assert.throws(() => parseFaultSpec("errors:lots"), /errors takes a percentage/);
 * ```
 */
export function parseFaultSpec(text: string): ForcedFault {
  const forms = `valid forms: ${KINDS.join(", ")}, with a size for errors ("errors:3%"), ` +
    `latency ("latency:1s") or metrics-gap ("metrics-gap:2m"), and an onset "@5m" or ` +
    `"@0s..10m" after the version is first deployed`;
  const bad = (why: string) => new RangeError(`Cannot use --fault "${text}": ${why}; ${forms}`);
  const m = /^([a-z-]+)(?::([^@]+))?(?:@(.+))?$/.exec(text.trim());
  if (!m) throw bad("not a fault");
  const kind = m[1] as FaultKind;
  if (!KINDS.includes(kind)) throw bad(`unknown kind "${m[1]}"`);
  const [size, at] = [m[2]?.trim(), m[3]?.trim()];
  const ms = (t: string, what: string) => {
    const d = parseDuration(t);
    if (!d) throw bad(`${what} "${t}" is not a duration`);
    return d.ms;
  };
  let onset: ForcedFault["onset"];
  if (at !== undefined) {
    const [from, to] = at.includes("..") ? at.split("..", 2) as [string, string] : [at, at];
    onset = { fromMs: ms(from, "the onset"), toMs: ms(to, "the onset") };
    if (onset.toMs < onset.fromMs) throw bad("the onset range ends before it starts");
  }
  const withOnset = onset ? { onset } : {};
  if ((kind === "healthy" || kind === "crash") && (size !== undefined || at !== undefined)) {
    throw bad(`${kind} takes no size or onset`);
  }
  switch (kind) {
    case "errors": {
      const pct = size === undefined ? NaN : Number(/^(\d+(?:\.\d+)?)%$/.exec(size)?.[1]);
      if (!(pct > 0 && pct <= 100)) throw bad("errors takes a percentage, e.g. errors:3%");
      return { kind, errorRate: pct / 100, ...withOnset };
    }
    case "latency": {
      const add = size === undefined ? NaN : ms(size, "the latency");
      if (!(add > 0)) throw bad("latency takes a duration, e.g. latency:1s");
      return { kind, latencyMs: add, ...withOnset };
    }
    case "metrics-gap":
      return {
        kind,
        ...(size !== undefined ? { durationMs: ms(size, "the gap") } : {}),
        ...withOnset,
      };
    default:
      return { kind };
  }
}
