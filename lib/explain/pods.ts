/**
 * A pod that would not run, explained from what the run kept: the failed stage's error (the
 * Deployment, the pod, its container's reason, the last log line it quotes) and the evidence
 * a rollback read before it scaled the failed slot down (each pod's state, last log lines and
 * Events: any stage output holding slots `{ deployment, evidence: { pods } }`).
 * @module
 */
import type { StageRecord } from "../report/types.ts";
import type { PodCause, PodSummary } from "./types.ts";

/** What a failed rollout's message says: container reasons, deadlines, readiness. */
const POD_FAILURE =
  /CrashLoopBackOff|ImagePullBackOff|ErrImagePull|CreateContainerConfigError|OOMKilled|RunContainerError|progress deadline|ProgressDeadlineExceeded|not ready/;

/**
 * Whether a stage's error is about pods that would not run.
 *
 * @param message The stage's error.
 * @returns Whether it names a container's reason, a rollout deadline, or pods not ready.
 *
 * @example
 * ```ts
 * import { isPodFailure } from "./pods.ts";
 * console.assert(isPodFailure("container web CrashLoopBackOff (back-off)"));
 * console.assert(!isPodFailure("smoke tests failed"));
 * ```
 */
export function isPodFailure(message: string): boolean {
  return POD_FAILURE.test(message);
}

/** A slot a stage's output describes: its Deployment, whether its pods still run, its evidence. */
interface SlotFound {
  stage: string;
  deployment: string;
  stillRunning?: boolean | undefined;
  pods?: Record<string, unknown>[] | undefined;
  note?: string | undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/**
 * Every slot the stages' outputs describe (`{ deployment, stillRunning?, evidence?: { pods } }`
 * or `{ deployment, pods }`), in stage order (a depth-limited walk).
 */
function slotsIn(stages: readonly StageRecord[]): SlotFound[] {
  const found: SlotFound[] = [];
  const walk = (stage: string, value: unknown, depth: number) => {
    if (depth > 5 || value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      for (const v of value) walk(stage, v, depth + 1);
      return;
    }
    const o = value as Record<string, unknown>;
    if (typeof o.deployment === "string") {
      const evidence = record(o.evidence) ?? o;
      const pods = Array.isArray(evidence.pods)
        ? (evidence.pods as unknown[]).map(record).filter((p) => p !== undefined)
        : undefined;
      found.push({
        stage,
        deployment: o.deployment,
        ...(typeof o.stillRunning === "boolean" ? { stillRunning: o.stillRunning } : {}),
        ...(pods ? { pods } : {}),
        ...(typeof o.note === "string" ? { note: o.note } : {}),
      });
      return;
    }
    for (const v of Object.values(o)) walk(stage, v, depth + 1);
  };
  for (const s of stages) walk(s.id, s.output, 0);
  return found;
}

/** One pod's evidence, for the screen: its last lines and its Events, Warnings first. */
function podSummary(p: Record<string, unknown>): PodSummary {
  const events = (Array.isArray(p.events) ? p.events : []).map(record)
    .filter((e) => e !== undefined)
    .sort((a, b) => Number(b.type === "Warning") - Number(a.type === "Warning"))
    .map((e) => {
      const count = typeof e.count === "number" && e.count > 1 ? ` ×${e.count}` : "";
      return `${String(e.reason ?? "?")}${count}: ${String(e.message ?? "")}`;
    });
  return {
    pod: String(p.pod ?? "?"),
    ...(typeof p.state === "string" ? { state: p.state } : {}),
    ...(typeof p.restarts === "number" ? { restarts: p.restarts } : {}),
    ...(typeof p.ready === "boolean" ? { ready: p.ready } : {}),
    lastLines: (Array.isArray(p.logs) ? p.logs : []).map(String),
    events,
  };
}

/**
 * Explains a failed stage whose pods would not run: what its error names, and the evidence
 * a later stage (the rollback) kept of the failed slot's pods.
 *
 * @param stage The failed stage.
 * @param message Its error.
 * @param stages Every stage of the run (their outputs are searched for the pods' evidence).
 * @returns The cause.
 *
 * @example
 * ```ts
 * import { podCause } from "./pods.ts";
 * import assert from "node:assert/strict";
 * const message = 'Cannot deploy web 2.0: Deployment shop/web-green: pod web-green-abc (1 of 1 not ' +
 *   'ready): container web CrashLoopBackOff (back-off), restarts 6, last exit code 1, last log ' +
 *   'line: "fatal: no config"';
 * const cause = podCause("deploy:web", message, []);
 * assert.equal(cause.reason, "CrashLoopBackOff");
 * assert.equal(cause.pod, "web-green-abc");
 * assert.equal(cause.lastLine, "fatal: no config");
 * assert.equal(cause.deployment, "shop/web-green");
 * ```
 */
export function podCause(
  stage: string,
  message: string,
  stages: readonly StageRecord[],
): PodCause {
  const deployment = /\bDeployment ([\w.-]+\/[\w.-]+)/.exec(message)?.[1];
  const reason = /\bcontainer \S+ ([A-Z][A-Za-z]+)\b/.exec(message)?.[1] ??
    /\b(CrashLoopBackOff|ImagePullBackOff|ErrImagePull|OOMKilled|ProgressDeadlineExceeded)\b/
      .exec(message)?.[1];
  const pod = /\bpod ([a-z0-9][\w.-]*)/.exec(message)?.[1];
  const lastLine = /last log line: "(.*)"\s*$/.exec(message)?.[1] ??
    /last log line: "([^"]*)"/.exec(message)?.[1];
  const name = deployment?.split("/")[1];
  const slots = slotsIn(stages).filter((s) => name === undefined || s.deployment === name);
  // The slot's last word (a later stage's): its evidence, whether its pods still run.
  const withPods = slots.findLast((s) => s.pods && s.pods.length > 0);
  const last = slots.at(-1);
  const pods = (withPods?.pods ?? []).map(podSummary);
  return {
    kind: "pod",
    stage,
    message,
    ...(deployment ? { deployment } : {}),
    ...(reason ? { reason } : {}),
    ...(pod ? { pod } : {}),
    ...(lastLine !== undefined ? { lastLine } : {}),
    pods,
    ...(withPods ? { evidenceStage: withPods.stage } : {}),
    // No later stage says what became of the slot: its pods still run (nothing stopped them).
    podsRunning: last ? last.stillRunning ?? !last.pods : true,
    ...(last?.note ? { slotNote: last.note } : {}),
  };
}
