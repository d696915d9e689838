/**
 * Rollout status exactly as `kubectl rollout status` computes it for a Deployment
 * (kubectl's `rollout_status.go`, `DeploymentStatusViewer.Status`), and the loop that
 * waits for it.
 * @module
 */
import type { KubeObject, RolloutStatus } from "./capability.ts";
import { type Clock, realClock } from "../clock/clock.ts";

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

/**
 * One reading of a Deployment's rollout, as kubectl judges it: once the controller has
 * observed the latest generation, a `Progressing` condition with reason
 * `ProgressDeadlineExceeded` fails it; fewer updated replicas than desired, old replicas
 * still present, or fewer available than updated replicas mean waiting (with kubectl's
 * messages); anything else is done.
 *
 * @param deployment The Deployment as the API returns it, or null when it is gone.
 * @param name The Deployment's name, for messages when it is gone.
 * @returns The status.
 *
 * @example
 * ```ts
 * import { rolloutStatusOf } from "./rollout.ts";
 * import assert from "node:assert/strict";
 * const status = rolloutStatusOf({
 *   apiVersion: "apps/v1",
 *   kind: "Deployment",
 *   metadata: { name: "web", generation: 2 },
 *   spec: { replicas: 3 },
 *   status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1 },
 * });
 * assert.equal(
 *   status.message,
 *   'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
 * );
 * ```
 */
export function rolloutStatusOf(deployment: KubeObject | null, name?: string): RolloutStatus {
  if (deployment === null) {
    return {
      done: false,
      failed: true,
      message: `deployment "${name ?? ""}" not found`,
      replicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
    };
  }
  const deploymentName = deployment.metadata.name;
  const spec = record(deployment.spec);
  const status = record(deployment.status);
  const replicas = num(status.replicas);
  const updatedReplicas = num(status.updatedReplicas);
  const availableReplicas = num(status.availableReplicas);
  const numbers = { replicas, updatedReplicas, availableReplicas };
  const waiting = (message: string): RolloutStatus => ({
    done: false,
    failed: false,
    message,
    ...numbers,
  });
  if (num(deployment.metadata.generation) > num(status.observedGeneration)) {
    return waiting("Waiting for deployment spec update to be observed...");
  }
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(record) : [];
  const progressing = conditions.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return {
      done: false,
      failed: true,
      message: `deployment "${deploymentName}" exceeded its progress deadline`,
      ...numbers,
    };
  }
  const desired = typeof spec.replicas === "number" ? spec.replicas : undefined;
  if (desired !== undefined && updatedReplicas < desired) {
    return waiting(
      `Waiting for deployment "${deploymentName}" rollout to finish: ${updatedReplicas} out of ${desired} new replicas have been updated...`,
    );
  }
  if (replicas > updatedReplicas) {
    return waiting(
      `Waiting for deployment "${deploymentName}" rollout to finish: ${
        replicas - updatedReplicas
      } old replicas are pending termination...`,
    );
  }
  if (availableReplicas < updatedReplicas) {
    return waiting(
      `Waiting for deployment "${deploymentName}" rollout to finish: ${availableReplicas} of ${updatedReplicas} updated replicas are available...`,
    );
  }
  return {
    done: true,
    failed: false,
    message: `deployment "${deploymentName}" successfully rolled out`,
    ...numbers,
  };
}

/** Options for {@linkcode waitForRolloutWith}. */
export interface WaitForRolloutOptions {
  /** Give up after this long (the result then says so, with the last message). */
  timeoutMs: number;
  /** Pause between readings (default 1 s). */
  pollMs?: number | undefined;
  /** Stops waiting early. */
  signal?: AbortSignal | undefined;
  /** Told each new message. */
  onProgress?: ((status: RolloutStatus) => void) | undefined;
  /**
   * The clock the timeout and the pauses are on (default real time). Only the readings
   * hold it: between them a virtual clock may move on.
   */
  clock?: Clock | undefined;
}

/**
 * Polls a rollout until it is done, fails, or the timeout passes. Never throws for a
 * rollout that does not finish: the result is `done: false` with the reason.
 *
 * @param read Reads the status once.
 * @param options Timeout, poll interval, abort signal, progress callback.
 * @returns The final status; on timeout `failed: true` and a message naming the timeout.
 *
 * @example
 * ```ts
 * import { waitForRolloutWith } from "./rollout.ts";
 * import assert from "node:assert/strict";
 * let reads = 0;
 * const result = await waitForRolloutWith(async () => ({
 *   done: ++reads === 2, failed: false, message: "m",
 *   replicas: 1, updatedReplicas: 1, availableReplicas: reads - 1,
 * }), { timeoutMs: 5_000, pollMs: 1 });
 * assert.equal(result.done, true);
 * ```
 */
export async function waitForRolloutWith(
  read: () => Promise<RolloutStatus>,
  options: WaitForRolloutOptions,
): Promise<RolloutStatus> {
  const clock = options.clock ?? realClock;
  const start = clock.now();
  const pollMs = options.pollMs ?? 1_000;
  let last = "";
  while (true) {
    const status = await read();
    if (status.message !== last) {
      last = status.message;
      options.onProgress?.(status);
    }
    if (status.done || status.failed) return status;
    if (options.signal?.aborted) {
      return { ...status, failed: true, message: `${status.message} (aborted)` };
    }
    const left = options.timeoutMs - clock.since(start);
    if (left <= 0) {
      return {
        ...status,
        failed: true,
        message: `timed out after ${options.timeoutMs} ms: ${status.message}`,
      };
    }
    // aborted: the next turn reports it
    await clock.sleep(Math.min(pollMs, left), { signal: options.signal }).catch(() => {});
  }
}
