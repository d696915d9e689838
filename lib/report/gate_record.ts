/**
 * A gate's record in the report, before (or without) any sample.
 * @module
 */
import type { InconclusivePolicy } from "../dsl/gate.ts";
import type { GateSpec } from "../dsl/stage.ts";
import type { GateRecord } from "./schema.ts";

/**
 * The record of a gate with no samples yet.
 *
 * @param g The gate as the stage declared it.
 * @param o The verdict so far, why, and the inconclusive policy in force.
 * @returns The record.
 *
 * @example
 * ```ts
 * import { gateRecord } from "./gate_record.ts";
 * import { parseGate } from "../dsl/gate.ts";
 * const g = { gate: parseGate("error_rate < 1%"), failureLimit: 0, consecutiveErrorLimit: 3 };
 * console.assert(gateRecord(g, { verdict: "not_measured" }).method === "fixed");
 * ```
 */
export function gateRecord(
  g: GateSpec,
  o: { verdict: GateRecord["verdict"]; reason?: string; inconclusivePolicy?: InconclusivePolicy },
): GateRecord {
  return {
    gate: g.gate.source,
    metric: g.gate.metric,
    operator: g.gate.operator,
    threshold: g.gate.threshold,
    unit: g.gate.unit,
    failureLimit: g.failureLimit,
    consecutiveErrorLimit: g.consecutiveErrorLimit,
    inconclusivePolicy: o.inconclusivePolicy ?? g.inconclusive ?? "fail",
    verdict: o.verdict,
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    method: g.decision?.method ?? "fixed",
    samples: [],
  };
}
