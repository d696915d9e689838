/**
 * A slot's health: `/health` asked of every Ready pod of the slot, retried until all
 * answer healthy ({@linkcode verifySlotHealth}). Pods are reached at their address (the
 * sandbox's annotation, else `podIP:8000`), or through any `fetch` — e.g. the API
 * server's proxy (`podProxyFetch`), so a stage needs no network grant.
 * @module
 */
import type { KubeObject, KubernetesCapability } from "../capability.ts";
import { SERVICE_PORT, slotSelector } from "../slots.ts";
import { ambientClock } from "../../async/ambient.ts";
import { type Clock, realClock } from "../../clock/clock.ts";
import { SANDBOX_API_GROUP } from "../../product/mod.ts";
import type { SlotRef } from "./traffic.ts";
import { obj, POD, selectorString } from "./_common.ts";

/**
 * The annotation the sandbox puts on a pod: its loopback `host:port`.
 *
 * @example
 * ```ts
 * import { SANDBOX_ADDRESS_ANNOTATION } from "./health.ts";
 * console.assert(SANDBOX_ADDRESS_ANNOTATION.endsWith("/address"));
 * ```
 */
export const SANDBOX_ADDRESS_ANNOTATION = `${SANDBOX_API_GROUP}/address`;

/** One pod's health reading. */
export interface PodHealth {
  /** The pod. */
  pod: string;
  /** The address asked. */
  address: string;
  /** Whether it answered healthy. */
  healthy: boolean;
  /** HTTP status, or 0 when no answer. */
  status: number;
  /** The version it reports, when it does. */
  version?: string;
  /** Why it is not healthy. */
  error?: string;
}

/** The result of {@linkcode verifySlotHealth}. */
export interface SlotHealth {
  /** Whether every Ready pod answered healthy (and there was at least one). */
  healthy: boolean;
  /** Attempts made. */
  attempts: number;
  /** The last reading of each pod. */
  pods: PodHealth[];
  /** One line for people. */
  message: string;
  /** True on a dry run: nothing was asked (`healthy` is then false). */
  skipped?: boolean;
}

/**
 * Options for {@linkcode verifySlotHealth}: the slot, and how to ask it.
 *
 * @example
 * ```ts
 * import type { VerifySlotHealthOptions } from "./health.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const o: VerifySlotHealthOptions = { target, service: "web", slot: "green", version: "1.2.4" };
 * ```
 */
export interface VerifySlotHealthOptions extends SlotRef {
  /** Attempts (default: the target's `healthCheck.retries`). */
  retries?: number | undefined;
  /** Pause between attempts (default: the target's `healthCheck.intervalMs`). */
  intervalMs?: number | undefined;
  /** Per-request timeout (default: the target's `healthCheck.timeoutMs`). */
  timeoutMs?: number | undefined;
  /** The version the pods must report, when they report one. */
  version?: string | undefined;
  /** A pod's `host:port` (default: the sandbox's address annotation, else `podIP:8000`). */
  addressOf?: ((pod: KubeObject) => string | undefined) | undefined;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /** Stops retrying. */
  signal?: AbortSignal | undefined;
  /**
   * The clock the pauses between attempts are on (default: the stage's clock, `ctx.clock`).
   * The per-request timeout is real time: it bounds a real request.
   */
  clock?: Clock | undefined;
  /** A dry run: nothing was deployed, so nothing is asked (the result is `skipped`). */
  dryRun?: boolean | undefined;
}

function defaultAddress(pod: KubeObject): string | undefined {
  const annotated = pod.metadata.annotations?.[SANDBOX_ADDRESS_ANNOTATION];
  if (annotated) return annotated;
  const ip = obj(pod.status).podIP;
  return typeof ip === "string" && ip ? `${ip}:${SERVICE_PORT}` : undefined;
}

function podReady(pod: KubeObject): boolean {
  const conditions = obj(pod.status).conditions;
  return Array.isArray(conditions) &&
    conditions.some((c) => obj(c).type === "Ready" && obj(c).status === "True");
}

interface ProbeOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  version: string | undefined;
  signal: AbortSignal | undefined;
}

async function probe(address: string, options: ProbeOptions): Promise<Omit<PodHealth, "pod">> {
  try {
    const timeout = realClock.timeout(options.timeoutMs);
    const response = await options.fetch(`http://${address}/health`, {
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = obj(JSON.parse(text));
    } catch {
      // a plain-text health answer
    }
    const version = typeof body.version === "string" ? body.version : undefined;
    const saysHealthy = typeof body.status === "string"
      ? body.status.toLowerCase() === "healthy"
      : /healthy/i.test(text);
    const wrongVersion = options.version !== undefined && version !== undefined &&
      version.replace(/^v/, "") !== options.version.replace(/^v/, "");
    const healthy = response.ok && saysHealthy && !wrongVersion;
    const error = !response.ok
      ? `HTTP ${response.status}`
      : !saysHealthy
      ? "the answer does not say healthy"
      : wrongVersion
      ? `reports version ${version}, expected ${options.version}`
      : undefined;
    return {
      address,
      healthy,
      status: response.status,
      ...(version !== undefined ? { version } : {}),
      ...(error !== undefined ? { error } : {}),
    };
  } catch (error) {
    return {
      address,
      healthy: false,
      status: 0,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** One attempt: the slot's Ready pods, each asked once. */
async function readSlot(
  k: KubernetesCapability,
  options: VerifySlotHealthOptions,
  probeOptions: ProbeOptions,
): Promise<{ listed: number; pods: PodHealth[] }> {
  const { target, service, slot } = options;
  const addressOf = options.addressOf ?? defaultAddress;
  const labelSelector = selectorString(slotSelector(target, { service, slot }));
  const listed = await k.list(POD, target.namespace, { labelSelector });
  const ready = listed.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
  const pods = await Promise.all(ready.map(async (pod): Promise<PodHealth> => {
    const address = addressOf(pod);
    if (!address) {
      return {
        pod: pod.metadata.name,
        address: "",
        healthy: false,
        status: 0,
        error: "no address",
      };
    }
    return { pod: pod.metadata.name, ...await probe(address, probeOptions) };
  }));
  return { listed: listed.length, pods };
}

/**
 * Asks `/health` of every Ready pod of a slot, retrying (by default the target's
 * `healthCheck`: e.g. 10 attempts, 10 s apart) until all answer healthy. Never throws for
 * an unhealthy slot: the result says so.
 *
 * @param k The capability.
 * @param options The slot; retries, interval, timeout, expected version, address and fetch overrides.
 * @returns The health, with each pod's last reading.
 *
 * @example
 * ```ts ignore
 * import { verifySlotHealth } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const h = await verifySlotHealth(k, { target, service: "web", slot: "green", version: "1.2.4" });
 * if (!h.healthy) throw new Error(h.message);
 * ```
 */
export async function verifySlotHealth(
  k: KubernetesCapability,
  options: VerifySlotHealthOptions,
): Promise<SlotHealth> {
  const where = `${options.service}-${options.slot}`;
  if (options.dryRun) {
    return {
      healthy: false,
      skipped: true,
      attempts: 0,
      pods: [],
      message: `dry run: health of ${where} not checked`,
    };
  }
  const check = options.target.healthCheck;
  const retries = Math.max(1, options.retries ?? check.retries);
  const intervalMs = options.intervalMs ?? check.intervalMs;
  const probeOptions: ProbeOptions = {
    fetch: options.fetch ?? fetch,
    timeoutMs: options.timeoutMs ?? check.timeoutMs,
    version: options.version,
    signal: options.signal,
  };
  let pods: PodHealth[] = [];
  let message = "";
  for (let attempt = 1; attempt <= retries; attempt++) {
    const read = await readSlot(k, options, probeOptions);
    pods = read.pods;
    const bad = pods.filter((p) => !p.healthy);
    if (pods.length > 0 && bad.length === 0) {
      return {
        healthy: true,
        attempts: attempt,
        pods,
        message:
          `${where}: ${pods.length} of ${pods.length} ready pods healthy (attempt ${attempt}/${retries})`,
      };
    }
    message = pods.length === 0
      ? `${where}: no ready pods (${read.listed} pods) after ${attempt} attempts`
      : `${where}: ${bad.length} of ${pods.length} ready pods unhealthy after ${attempt} attempts: ${
        bad.slice(0, 3).map((p) => `${p.pod}: ${p.error}`).join("; ")
      }`;
    if (attempt < retries) {
      if (options.signal?.aborted) break;
      try {
        await (options.clock ?? ambientClock()).sleep(intervalMs, { signal: options.signal });
      } catch {
        return { healthy: false, attempts: attempt, pods, message: `${message} (aborted)` };
      }
    }
  }
  return { healthy: false, attempts: retries, pods, message };
}
