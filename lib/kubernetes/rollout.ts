/**
 * Rollout status exactly as `kubectl rollout status` computes it for a Deployment
 * (kubectl's `rollout_status.go`, `DeploymentStatusViewer.Status`), the loop that
 * waits for it, and why a rollout failed as its pods tell it (waiting reason, restarts,
 * last exit code, the last line the container logged).
 * @module
 */
import type { KubeObject, KubernetesCapability, RolloutStatus } from "./capability.ts";
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
  /**
   * The longest pause (default 8 × `pollMs`): while nothing changes (a crash-looping
   * version waiting out its progress deadline) the pause doubles up to this; any change
   * brings it back to `pollMs`.
   */
  maxPollMs?: number | undefined;
  /** Stops waiting early. */
  signal?: AbortSignal | undefined;
  /** Told each new message. */
  onProgress?: ((status: RolloutStatus) => void) | undefined;
  /**
   * The clock the timeout and the pauses are on (default real time). Only the readings
   * hold it: between them a virtual clock may move on.
   */
  clock?: Clock | undefined;
  /**
   * Why the rollout failed, read when it did (e.g. {@linkcode explainRollout}): appended to
   * the final message. An error reading it leaves the message as it is.
   */
  explain?: (() => Promise<string | null>) | undefined;
}

/**
 * Polls a rollout until it is done, fails, or the timeout passes: every `pollMs` while it
 * moves, less often (up to `maxPollMs`) while it does not. Never throws for a rollout that
 * does not finish: the result is `done: false` with the reason.
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
  const maxPollMs = Math.max(pollMs, options.maxPollMs ?? 8 * pollMs);
  let pause = pollMs;
  let last = "";
  const failed = async (status: RolloutStatus, message: string): Promise<RolloutStatus> => {
    const cause = await options.explain?.().catch(() => null);
    return { ...status, failed: true, message: cause ? `${message}: ${cause}` : message };
  };
  while (true) {
    const status = await read();
    if (status.message !== last) {
      last = status.message;
      pause = pollMs;
      options.onProgress?.(status);
    } else pause = Math.min(maxPollMs, pause * 2);
    if (status.done) return status;
    if (status.failed) return await failed(status, status.message);
    if (options.signal?.aborted) {
      return { ...status, failed: true, message: `${status.message} (aborted)` };
    }
    const left = options.timeoutMs - clock.since(start);
    if (left <= 0) {
      return await failed(status, `timed out after ${options.timeoutMs} ms: ${status.message}`);
    }
    // aborted: the next turn reports it
    await clock.sleep(Math.min(pause, left), { signal: options.signal }).catch(() => {});
  }
}

/** Waiting reasons that are a container's normal way to start, not a cause. */
const STARTING = new Set(["ContainerCreating", "PodInitializing"]);

/** The last line of a log; of a JSON line (a structured log), its `message` or `msg`. */
function lastLine(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const last = lines.at(-1);
  if (!last?.startsWith("{")) return last;
  try {
    const parsed = record(JSON.parse(last));
    const message = parsed.message ?? parsed.msg;
    return typeof message === "string" ? message : last;
  } catch {
    return last;
  }
}

/**
 * Why pods are not Ready, in one line, from their container statuses: the first container
 * waiting for a reason other than starting (e.g. `CrashLoopBackOff`,
 * `CreateContainerConfigError`, `ImagePullBackOff`) with its message, restart count, last
 * exit code and the last line of its termination message (the log's last line under
 * `terminationMessagePolicy: FallbackToLogsOnError`; of a JSON log line, its `message`), and
 * how many pods are like it.
 *
 * @param pods The pods of the rollout.
 * @returns The cause, or null when no pod says one.
 *
 * @example
 * ```ts
 * import { rolloutCause } from "./rollout.ts";
 * import assert from "node:assert/strict";
 * const pod = {
 *   apiVersion: "v1", kind: "Pod", metadata: { name: "web-blue-1" },
 *   status: { containerStatuses: [{
 *     name: "web", restartCount: 3,
 *     state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
 *     lastState: { terminated: { exitCode: 1, message: "starting\nfatal: no DB_HOST" } },
 *   }] },
 * };
 * assert.equal(
 *   rolloutCause([pod]),
 *   'pod web-blue-1 (1 of 1 not ready): container web CrashLoopBackOff (back-off 40s), restarts 3, last exit code 1, last log line: "fatal: no DB_HOST"',
 * );
 * ```
 */
export function rolloutCause(pods: readonly KubeObject[]): string | null {
  const notReady = pods.filter((p) => {
    const statuses = record(p.status).containerStatuses;
    return !Array.isArray(statuses) || statuses.some((c) => record(c).ready !== true);
  });
  const causes: { pod: string; text: string; reason: string }[] = [];
  for (const pod of notReady) {
    const statuses = record(pod.status).containerStatuses;
    for (const c of Array.isArray(statuses) ? statuses.map(record) : []) {
      const waiting = record(record(c.state).waiting);
      const terminated = record(record(c.lastState).terminated);
      const reason = typeof waiting.reason === "string" ? waiting.reason : "";
      const exit = typeof terminated.exitCode === "number" ? terminated.exitCode : undefined;
      if ((reason === "" || STARTING.has(reason)) && exit === undefined) continue;
      const parts = [
        `container ${c.name}${reason ? ` ${reason}` : " not ready"}${
          typeof waiting.message === "string" && waiting.message ? ` (${waiting.message})` : ""
        }`,
        `restarts ${num(c.restartCount)}`,
        ...(exit !== undefined ? [`last exit code ${exit}`] : []),
      ];
      const line = lastLine(terminated.message);
      if (line) parts.push(`last log line: ${JSON.stringify(line)}`);
      causes.push({ pod: pod.metadata.name, text: parts.join(", "), reason });
      break;
    }
  }
  const first = causes[0];
  if (!first) return null;
  const alike = causes.filter((c) => c.reason === first.reason).length;
  return `pod ${first.pod} (${alike} of ${pods.length} not ready): ${first.text}`;
}

/**
 * Why a Deployment's rollout is stuck, read from the pods of its current template
 * ({@linkcode rolloutCause}).
 *
 * @param k Reads the Deployment and lists its pods.
 * @param namespace The namespace.
 * @param name The Deployment.
 * @returns The cause, or null when the pods say none (or the Deployment is gone).
 *
 * @example
 * ```ts ignore
 * import { explainRollout } from "./rollout.ts";
 * console.log(await explainRollout(k, "shop", "web-blue"));
 * ```
 */
export async function explainRollout(
  k: Pick<KubernetesCapability, "get" | "list">,
  namespace: string,
  name: string,
): Promise<string | null> {
  const deployment = await k.get({ apiVersion: "apps/v1", kind: "Deployment" }, namespace, name);
  if (!deployment) return null;
  const template = record(record(record(deployment.spec).template).metadata).labels;
  const labels = record(template) as Record<string, string>;
  const selector = Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(",");
  if (!selector) return null;
  const pods = await k.list({ apiVersion: "v1", kind: "Pod" }, namespace, {
    labelSelector: selector,
  });
  return rolloutCause(pods);
}

/** What {@linkcode scaleDownSlot} did. */
export interface SlotScaleDown {
  /** The Deployment. */
  readonly deployment: string;
  /** Its replicas before (0 when it was already down; null when it does not exist). */
  readonly replicasBefore: number | null;
  /** Why it was left alone, when it was. */
  readonly refused?: string | undefined;
}

/**
 * Scales a slot's Deployment (`<service>-<slot>`) to 0 replicas after traffic left it (a
 * rollback): its pods — crash-looping or answering with errors — stop, and the Deployment
 * stays for the next deploy to reuse. Refuses, changing nothing, while the slot still gets
 * traffic: the Service `<service>` selects it, or its HTTPRoute gives it a weight above 0 —
 * and, given `version`, when the slot no longer runs it (a rollback restored it as the
 * standby of an earlier version, to be kept).
 *
 * @param k The capability.
 * @param options The namespace, service and slot; the version traffic left, if known.
 * @returns What was done.
 *
 * @example
 * ```ts ignore
 * import { scaleDownSlot } from "./rollout.ts";
 * const r = await scaleDownSlot(k, { namespace: "shop", service: "web", slot: "green" });
 * console.log(r.refused ?? `${r.deployment}: ${r.replicasBefore} → 0 replicas`);
 * ```
 */
export async function scaleDownSlot(
  k: Pick<KubernetesCapability, "get" | "patch">,
  options: { namespace: string; service: string; slot: string; version?: string | undefined },
): Promise<SlotScaleDown> {
  const { namespace, service, slot } = options;
  const deployment = `${service}-${slot}`;
  const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
  const d = await k.get(DEPLOYMENT, namespace, deployment);
  if (!d) return { deployment, replicasBefore: null };
  const replicasBefore = num(record(d.spec).replicas);
  const running = d.metadata.labels?.version;
  if (options.version !== undefined && running !== options.version) {
    return {
      deployment,
      replicasBefore,
      refused: `it runs ${
        running ?? "another version"
      } now, not ${options.version} (kept as a standby)`,
    };
  }
  const svc = await k.get({ apiVersion: "v1", kind: "Service" }, namespace, service);
  if (record(record(svc?.spec).selector).slot === slot) {
    return { deployment, replicasBefore, refused: `Service ${service} still selects ${slot}` };
  }
  const route = await k.get(
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" },
    namespace,
    service,
  );
  const rules = record(route?.spec).rules;
  for (const rule of Array.isArray(rules) ? rules.map(record) : []) {
    const refs = Array.isArray(rule.backendRefs) ? rule.backendRefs.map(record) : [];
    const weight = refs.find((b) => b.name === deployment)?.weight;
    if (typeof weight === "number" && weight > 0) {
      return {
        deployment,
        replicasBefore,
        refused: `HTTPRoute ${service} still sends ${weight}% to ${deployment}`,
      };
    }
  }
  if (replicasBefore > 0) {
    await k.patch(DEPLOYMENT, namespace, deployment, { spec: { replicas: 0 } }, "merge");
  }
  return { deployment, replicasBefore };
}
