/**
 * A gate's samples, per target: the last and worst values each service's slot showed, how
 * many requests and errors (or slow requests) its windows held, and whether it breached —
 * the table `explain` prints under a breaching gate.
 * @module
 */
import type { GateRecord, SampleRecord } from "../report/types.ts";
import type { GateCause, GateTarget } from "./types.ts";

/** The target's labels without its namespace, in the order recorded. */
function targetLabels(s: SampleRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(s.labels ?? {}).filter(([k]) => k !== "namespace"));
}

/** `service=web,slot=green` as a gate's reason names a target. */
function selector(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
}

/**
 * Summarises a gate's samples per target, breaching targets first (then those with no
 * value, then the rest), each in the order first measured.
 *
 * @param gate The gate's record.
 * @returns One entry per target.
 *
 * @example
 * ```ts
 * import { gateTargets } from "./gates.ts";
 * import assert from "node:assert/strict";
 * const at = "2026-01-01T00:00:00Z";
 * const evidence = (errors: number) => ({ requests: 100, errors, windowMs: 10_000, from: at, to: at });
 * const targets = gateTargets({
 *   gate: "error_rate < 1%", metric: "error_rate", operator: "<", threshold: 1, unit: "%",
 *   failureLimit: 0, consecutiveErrorLimit: 3, inconclusivePolicy: "fail", verdict: "failed",
 *   samples: [
 *     { at, value: 0.5, verdict: "successful", labels: { service: "api", slot: "green" }, evidence: evidence(0) },
 *     { at, value: 4, verdict: "failed", labels: { service: "web", slot: "green" }, evidence: evidence(4) },
 *   ],
 * });
 * assert.deepEqual(targets.map((t) => [t.target, t.verdict, t.events]), [
 *   ["web/green", "breached", 4],
 *   ["api/green", "ok", 0],
 * ]);
 * ```
 */
export function gateTargets(gate: GateRecord): GateTarget[] {
  const higherIsWorse = gate.operator === "<" || gate.operator === "<=";
  const byTarget = new Map<string, GateTarget>();
  const decisions = new Map<string, string>();
  for (const s of gate.samples ?? []) {
    const labels = targetLabels(s);
    const key = Object.values(labels).join("/") || "(all)";
    let t = byTarget.get(key);
    if (!t) {
      t = {
        target: key,
        labels,
        last: null,
        worst: null,
        samples: 0,
        badSamples: 0,
        requests: 0,
        events: 0,
        verdict: "ok",
      };
      byTarget.set(key, t);
    }
    t.samples++;
    const value = typeof s.value === "number" && Number.isFinite(s.value) ? s.value : null;
    if (value !== null) {
      t.last = value;
      t.worst = t.worst === null
        ? value
        : higherIsWorse
        ? Math.max(t.worst, value)
        : Math.min(t.worst, value);
    } else if (s.detail) t.detail = s.detail;
    if (s.verdict !== "successful") t.badSamples++;
    if (s.verdict === "failed" || s.decision?.state === "breach") t.verdict = "breached";
    if (s.decision) decisions.set(key, s.decision.state);
    const e = s.evidence;
    if (e) {
      t.requests += e.requests ?? 0;
      t.events += (gate.unit === "%" ? e.errors : e.over ?? e.errors) ?? 0;
    }
  }
  const reason = gate.reason ?? "";
  for (const t of byTarget.values()) {
    const named = Object.keys(t.labels).length > 0 && reason.includes(selector(t.labels));
    if (named && /breach/i.test(reason)) t.verdict = "breached";
    if (t.verdict === "ok" && t.samples > 0 && t.samples === t.badSamples && t.last === null) {
      t.verdict = "no value";
    }
    if (t.verdict === "ok" && decisions.get(t.target) === "undecided") t.verdict = "undecided";
  }
  const rank = { breached: 0, "no value": 1, undecided: 2, ok: 3 } as const;
  return [...byTarget.values()].sort((a, b) => rank[a.verdict] - rank[b.verdict]);
}

/** A gate's label as `explain` shows it: a baseline comparison says so. */
function gateLabel(g: GateRecord): string {
  return g.method === "baseline" ? `${g.gate} (vs baseline)` : g.gate;
}

/**
 * The breaching gate of a failed gated stage, with its targets: the first failed gate (or
 * the gate the stage's reason names), or undefined when none of its gates failed.
 *
 * @param stage The stage's id, description, reason and gates.
 * @returns The gate cause, or undefined.
 *
 * @example
 * ```ts
 * import { gateCause } from "./gates.ts";
 * import assert from "node:assert/strict";
 * const cause = gateCause({
 *   id: "canary-5", reason: "error_rate < 1%: breached",
 *   gates: [{
 *     gate: "error_rate < 1%", metric: "error_rate", operator: "<", threshold: 1, unit: "%",
 *     failureLimit: 0, consecutiveErrorLimit: 3, inconclusivePolicy: "fail", verdict: "failed",
 *     reason: "error_rate < 1% breached", samples: [],
 *   }],
 * });
 * assert.equal(cause?.threshold, "< 1%");
 * ```
 */
export function gateCause(
  stage: {
    id: string;
    description?: string | undefined;
    reason?: string | undefined;
    gates: GateRecord[];
  },
): GateCause | undefined {
  const gates = stage.gates ?? [];
  const failed = gates.filter((g) => g.verdict === "failed");
  const named = gates.filter((g) =>
    g.samples.length > 0 && (stage.reason ?? "").startsWith(g.gate)
  );
  const first = failed[0] ?? named.find((g) => g.verdict !== "passed");
  if (!first) return undefined;
  return {
    kind: "gate",
    stage: stage.id,
    ...(stage.description ? { stageDescription: stage.description } : {}),
    gate: gateLabel(first),
    method: first.method ?? "fixed",
    ...(first.decision?.confidence ? { confidence: first.decision.confidence } : {}),
    threshold: `${first.operator} ${first.threshold}${first.unit}`,
    reason: first.reason ?? stage.reason ?? `${first.gate} failed`,
    targets: gateTargets(first),
    otherGates: failed.filter((g) => g !== first).map(gateLabel),
  };
}
