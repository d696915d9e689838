/**
 * What a simulated container needs before and at start-up, as a real kubelet and a real
 * twelve-factor service judge it:
 *
 * - the kubelet resolves every `env[].valueFrom.secretKeyRef` / `configMapKeyRef` and
 *   `envFrom` source; a missing Secret, ConfigMap or key (not `optional: true`) keeps the
 *   container waiting with reason `CreateContainerConfigError` and the kubelet's message
 *   (`secret "db-credentials" not found`, `couldn't find key password in Secret
 *   shop/db-credentials`), re-tried whenever the cluster changes;
 * - the service then reads its variables: every variable its image requires (the seed's
 *   `images`) must be set, none may be empty, and the values must parse by their name
 *   (`*_PORT` a port, `*_URL` a URL, `*_SIZE`/`*_LIMIT`/`*_DB`/`*_SECONDS` a whole number,
 *   `*_ENABLED`/`*_SSL`/`*_CLUSTER_MODE` a boolean, `LOG_LEVEL` a level, `X_MIN_SIZE <=
 *   X_MAX_SIZE`); a bad one makes it exit 1 at start-up with one line saying which
 *   (a crash loop). A value that came from a Secret is never repeated in that line.
 *
 * Also the crash loop's schedule and the pod status the kubelet writes.
 * @module
 */
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta, type Store } from "./store.ts";
import { podQosClass } from "./defaults.ts";

type JsonMap = Record<string, unknown>;

const CRASH_FIRST_MS = 2_000;
const CRASH_BACKOFF_MS = 10_000;
const CRASH_BACKOFF_MAX_MS = 300_000;

/**
 * A crash-looping container's restarts after `elapsedMs` of its life, and when the next one
 * comes: it crashes 2 s after start, then after back-offs of 10 s, 20 s, 40 s, ... up to
 * 5 minutes (the kubelet's CrashLoopBackOff schedule).
 *
 * @param elapsedMs Target ms since the pod started.
 * @returns The restart count, and target ms until the next crash.
 *
 * @example
 * ```ts
 * import { crashSchedule } from "./pod_config.ts";
 * console.assert(crashSchedule(1_999).restarts === 0);
 * console.assert(crashSchedule(12_000).restarts === 2);
 * console.assert(crashSchedule(12_000).nextInMs === 20_000);
 * ```
 */
export function crashSchedule(elapsedMs: number): { restarts: number; nextInMs: number } {
  let t = CRASH_FIRST_MS, n = 0, backoff = CRASH_BACKOFF_MS;
  while (t <= elapsedMs) {
    n++;
    t += backoff;
    backoff = Math.min(CRASH_BACKOFF_MAX_MS, backoff * 2);
  }
  return { restarts: n, nextInMs: t - elapsedMs };
}

/**
 * Where the kubelet reads the Secrets and ConfigMaps a container refers to: decoded data,
 * or undefined when the object does not exist.
 *
 * @example
 * ```ts
 * import type { ConfigSources } from "./pod_config.ts";
 * const sources: ConfigSources = {
 *   secret: (_ns, name) => name === "db" ? { password: "s3cret-value" } : undefined,
 *   configMap: () => undefined,
 * };
 * ```
 */
export interface ConfigSources {
  /** A Secret's data, decoded. */
  secret(namespace: string, name: string): Record<string, string> | undefined;
  /** A ConfigMap's data. */
  configMap(namespace: string, name: string): Record<string, string> | undefined;
}

/** A Secret's `data` value decoded (base64 of UTF-8); text that is not base64 as is. */
function decodeBase64Text(encoded: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
  } catch {
    return encoded;
  }
}

/**
 * A container's resolved variables: `env` by name, and which of them came from a Secret
 * (their values never appear in a message).
 *
 * @example
 * ```ts
 * import type { ResolvedEnv } from "./pod_config.ts";
 * const r: ResolvedEnv = { env: { PORT: "8000" }, secret: new Set() };
 * ```
 */
export interface ResolvedEnv {
  /** Name → value. */
  readonly env: Readonly<Record<string, string>>;
  /** Names whose value came from a Secret. */
  readonly secret: ReadonlySet<string>;
}

/** `envFrom` into `into`: the kubelet's error for a missing source, else undefined. */
function addEnvFrom(
  namespace: string,
  container: JsonMap,
  sources: ConfigSources,
  into: { env: Record<string, string>; secret: Set<string> },
): string | undefined {
  for (const from of (container.envFrom ?? []) as JsonMap[]) {
    const prefix = String(from.prefix ?? "");
    const s = from.secretRef as JsonMap | undefined;
    const c = from.configMapRef as JsonMap | undefined;
    const ref = s ?? c;
    if (!ref) continue;
    const name = String(ref.name ?? "");
    const data = s ? sources.secret(namespace, name) : sources.configMap(namespace, name);
    if (!data) {
      if (ref.optional === true) continue;
      return `${s ? "secret" : "configmap"} "${name}" not found`;
    }
    for (const [key, value] of Object.entries(data)) {
      into.env[prefix + key] = value;
      if (s) into.secret.add(prefix + key);
      else into.secret.delete(prefix + key);
    }
  }
  return undefined;
}

/**
 * Resolves a container's `envFrom` and `env` as the kubelet does before creating it.
 *
 * @param namespace The pod's namespace.
 * @param container The container spec.
 * @param sources Where Secrets and ConfigMaps are read.
 * @returns The variables, or the kubelet's `CreateContainerConfigError` message.
 *
 * @example
 * ```ts
 * import { resolveContainerEnv } from "./pod_config.ts";
 * import assert from "node:assert/strict";
 * const sources = { secret: () => ({ user: "app" }), configMap: () => undefined };
 * const ref = { secretKeyRef: { name: "db-credentials", key: "password" } };
 * const r = resolveContainerEnv("shop", { env: [{ name: "DB_PASSWORD", valueFrom: ref }] }, sources);
 * assert.deepEqual(r, { error: "couldn't find key password in Secret shop/db-credentials" });
 * ```
 */
export function resolveContainerEnv(
  namespace: string,
  container: JsonMap,
  sources: ConfigSources,
): ResolvedEnv | { error: string } {
  const env: Record<string, string> = {};
  const secret = new Set<string>();
  const fromError = addEnvFrom(namespace, container, sources, { env, secret });
  if (fromError) return { error: fromError };
  for (const item of (container.env ?? []) as JsonMap[]) {
    const name = String(item.name ?? "");
    const from = item.valueFrom as JsonMap | undefined;
    if (!from) {
      env[name] = String(item.value ?? "");
      secret.delete(name);
      continue;
    }
    const s = from.secretKeyRef as JsonMap | undefined;
    const c = from.configMapKeyRef as JsonMap | undefined;
    const ref = s ?? c;
    if (!ref) {
      env[name] = "<downward>"; // fieldRef / resourceFieldRef: always resolvable here
      continue;
    }
    const object = String(ref.name ?? "");
    const key = String(ref.key ?? "");
    const data = s ? sources.secret(namespace, object) : sources.configMap(namespace, object);
    const value = data?.[key];
    if (value === undefined) {
      if (ref.optional === true) continue;
      if (!data) return { error: `${s ? "secret" : "configmap"} "${object}" not found` };
      return {
        error: `couldn't find key ${key} in ${s ? "Secret" : "ConfigMap"} ${namespace}/${object}`,
      };
    }
    env[name] = value;
    if (s) secret.add(name);
    else secret.delete(name);
  }
  return { env, secret };
}

const LEVELS = new Set(["DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL"]);
const BOOLEANS = new Set(["true", "false", "1", "0", "yes", "no"]);

function badValue(name: string, value: string): string | null {
  if (/_PORT$/.test(name)) {
    const n = Number(value);
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? null : "is not a port (1-65535)";
  }
  if (/_URL$/.test(name)) {
    try {
      const url = new URL(value);
      return url.host ? null : "is not a URL with a host";
    } catch {
      return "is not a URL";
    }
  }
  if (/(_SIZE|_LIMIT|_DB|_SECONDS)$/.test(name)) {
    return /^\d+$/.test(value) ? null : "is not a whole number";
  }
  if (/(_ENABLED|_SSL|_CLUSTER_MODE)$/.test(name)) {
    return BOOLEANS.has(value.toLowerCase()) ? null : "is not a boolean (true or false)";
  }
  if (name === "LOG_LEVEL") {
    return LEVELS.has(value.toUpperCase())
      ? null
      : `is not a log level (${[...LEVELS].join(", ")})`;
  }
  return null;
}

/**
 * What the simulated service says when it refuses to start on its configuration: the
 * first required variable that is not set, empty or does not parse (see the module
 * doc), or null when all is well. Secret values are never quoted.
 *
 * @param resolved The container's variables.
 * @param required The variables its image requires (set or not).
 * @returns The start-up error's line (without a timestamp), or null.
 *
 * @example
 * ```ts
 * import { configurationProblem } from "./pod_config.ts";
 * import assert from "node:assert/strict";
 * const resolved = { env: { DATABASE_PORT: "54x2", API_KEY: "" }, secret: new Set(["API_KEY"]) };
 * assert.equal(
 *   configurationProblem(resolved, ["DATABASE_HOST"]),
 *   "fatal: configuration: required variable DATABASE_HOST is not set",
 * );
 * assert.equal(
 *   configurationProblem(resolved, []),
 *   'fatal: configuration: DATABASE_PORT="54x2" is not a port (1-65535)',
 * );
 * ```
 */
export function configurationProblem(
  resolved: ResolvedEnv,
  required: readonly string[],
): string | null {
  const say = (what: string) => `fatal: configuration: ${what}`;
  for (const name of required) {
    if (!Object.hasOwn(resolved.env, name)) return say(`required variable ${name} is not set`);
  }
  for (const [name, value] of Object.entries(resolved.env)) {
    const shown = resolved.secret.has(name) ? `${name} (from a Secret)` : name;
    if (value.trim() === "") return say(`${shown} is empty`);
    const bad = badValue(name, value);
    if (bad) {
      return say(resolved.secret.has(name) ? `${shown} ${bad}` : `${name}="${value}" ${bad}`);
    }
  }
  for (const [name, value] of Object.entries(resolved.env)) {
    const max = name.replace(/_MIN_SIZE$/, "_MAX_SIZE");
    if (max === name || resolved.env[max] === undefined) continue;
    if (Number(value) > Number(resolved.env[max])) {
      return say(`${name}=${value} is larger than ${max}=${resolved.env[max]}`);
    }
  }
  return null;
}

/** What `sandbox-images` (its data, if it exists) says an image requires; nothing if unnamed. */
function requiredEnvOf(
  images: Readonly<Record<string, string>> | undefined,
  repository: string,
): string[] {
  const text = images?.[imagesKey(repository)] ?? "";
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * The `sandbox-images` ConfigMap key of an image repository (`/` is not allowed in a key:
 * it becomes `_`).
 *
 * @param repository e.g. `registry.local/shop/web`.
 * @returns e.g. `registry.local_shop_web`.
 *
 * @example
 * ```ts
 * import { imagesKey } from "./pod_config.ts";
 * console.assert(imagesKey("ghcr.io/acme/web") === "ghcr.io_acme_web");
 * ```
 */
export function imagesKey(repository: string): string {
  return repository.replace(/[^-._a-zA-Z0-9]/g, "_");
}

/** Where a container is in its life, as the kubelet reports it. */
export interface ContainerView {
  /** `Pending`, `Running`, `Succeeded` or `Failed`. */
  readonly phase: string;
  /** Ready (its server up). */
  readonly ready: boolean;
  /** `containerStatuses[].state`. */
  readonly state: JsonMap;
  /** `containerStatuses[].lastState`. */
  readonly lastState: JsonMap;
  /** `containerStatuses[].restartCount`. */
  readonly restarts: number;
  /** `containerStatuses[].started`. */
  readonly started: boolean;
}

/**
 * The status the kubelet writes for a pod: phase, conditions, addresses, one container
 * status per container.
 *
 * @param pod The pod.
 * @param view Where its container is.
 * @param at Addresses and times.
 * @returns `pod.status`.
 *
 * @example
 * ```ts
 * import { podStatus } from "./pod_config.ts";
 * import assert from "node:assert/strict";
 * const pod = { metadata: { uid: "u1", creationTimestamp: "t0" }, spec: { containers: [{ name: "a", image: "i" }] } };
 * const s = podStatus(pod, {
 *   phase: "Pending", ready: false, restarts: 0, started: false, lastState: {},
 *   state: { waiting: { reason: "CreateContainerConfigError" } },
 * }, { nodeIp: "10.0.0.11", podIP: "10.244.0.2", startedIso: "t1", readyIso: "t1", containersStarted: false });
 * assert.equal(s.phase, "Pending");
 * ```
 */
export function podStatus(
  pod: KObject,
  view: ContainerView,
  at: {
    nodeIp: string;
    podIP: string;
    startedIso: string;
    readyIso: string;
    containersStarted: boolean;
  },
): JsonMap {
  const m = (pod.metadata ?? {}) as JsonMap;
  const uid = String(m.uid);
  const containers = ((pod.spec as JsonMap).containers ?? []) as JsonMap[];
  const { phase, ready } = view;
  const finished = phase === "Succeeded" || phase === "Failed";
  const cond = (type: string, ok: boolean, since: string, reason?: string) => ({
    type,
    status: ok ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: since,
    ...(ok || !reason ? {} : { reason }),
  });
  const notReady = finished ? "PodCompleted" : "ContainersNotReady";
  const since = ready ? at.readyIso : at.startedIso;
  return {
    phase,
    conditions: [
      cond("PodReadyToStartContainers", at.containersStarted && !finished, at.startedIso),
      cond("Initialized", true, String(m.creationTimestamp)),
      cond("Ready", ready, since, notReady),
      cond("ContainersReady", ready, since, notReady),
      cond("PodScheduled", true, String(m.creationTimestamp)),
    ],
    hostIP: at.nodeIp,
    hostIPs: [{ ip: at.nodeIp }],
    podIP: at.podIP,
    podIPs: [{ ip: at.podIP }],
    startTime: String(m.creationTimestamp),
    qosClass: podQosClass(pod),
    containerStatuses: containers.map((c, i) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image}@sha256:${"0".repeat(64)}`,
      containerID: `sandbox://${uid.slice(0, 8)}${i}`,
      ready,
      started: view.started,
      restartCount: view.restarts,
      state: view.state,
      lastState: view.lastState,
    })),
  };
}

/**
 * One line of a simulated container's log, structured as the services write theirs: a JSON
 * object with `timestamp`, `level` (`FATAL` for a line starting `fatal:`, `ERROR` for
 * `ERROR:`, else `INFO`), `message` and the given fields.
 *
 * @param timestamp When (RFC 3339).
 * @param message The message.
 * @param fields More fields (e.g. `service`, `version`).
 * @returns The line (no newline).
 *
 * @example
 * ```ts
 * import { logLine } from "./pod_config.ts";
 * import assert from "node:assert/strict";
 * const line = JSON.parse(logLine("2026-01-01T00:00:00Z", "fatal: no DB", { service: "web" }));
 * assert.deepEqual(line, {
 *   timestamp: "2026-01-01T00:00:00Z", level: "FATAL", message: "fatal: no DB", service: "web",
 * });
 * ```
 */
export function logLine(
  timestamp: string,
  message: string,
  fields: Readonly<Record<string, string>> = {},
): string {
  const level = /^fatal:/i.test(message) ? "FATAL" : /^error:/i.test(message) ? "ERROR" : "INFO";
  return JSON.stringify({ timestamp, level, message, ...fields });
}

/**
 * The `message` of a terminated container's state when its spec asks for
 * `terminationMessagePolicy: FallbackToLogsOnError` and it failed: the last lines of its
 * log, at most 80 lines and 2048 bytes (the kubelet's limits); else undefined.
 *
 * @param container The container spec.
 * @param logs Its log lines.
 * @returns The message, or undefined.
 *
 * @example
 * ```ts
 * import { terminationMessage } from "./pod_config.ts";
 * import assert from "node:assert/strict";
 * const c = { terminationMessagePolicy: "FallbackToLogsOnError" };
 * assert.equal(terminationMessage(c, ["a", "fatal: b"]), "a\nfatal: b");
 * assert.equal(terminationMessage({}, ["a"]), undefined);
 * ```
 */
export function terminationMessage(
  container: JsonMap | undefined,
  logs: readonly string[],
): string | undefined {
  if (container?.terminationMessagePolicy !== "FallbackToLogsOnError") return undefined;
  let text = logs.slice(-80).join("\n");
  const bytes = (t: string) => new TextEncoder().encode(t).length;
  while (bytes(text) > 2048) {
    const cut = text.indexOf("\n");
    text = cut >= 0 ? text.slice(cut + 1) : text.slice(Math.max(1, text.length - 2048));
  }
  return text;
}

const SECRETS = findResource("", "v1", "secrets") as ResourceType;
const CONFIGMAPS = findResource("", "v1", "configmaps") as ResourceType;
/** The ConfigMap in `kube-system` naming what each image's service requires. */
export const SANDBOX_IMAGES = "sandbox-images";

function storeSources(store: Store): ConfigSources {
  return {
    secret: (ns, name) => {
      const found = store.peek(SECRETS, ns, name);
      if (!found) return undefined;
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries((found.data ?? {}) as JsonMap)) {
        data[k] = decodeBase64Text(String(v));
      }
      for (const [k, v] of Object.entries((found.stringData ?? {}) as JsonMap)) data[k] = String(v);
      return data;
    },
    configMap: (ns, name) => {
      const found = store.peek(CONFIGMAPS, ns, name);
      return found ? { ...((found.data ?? {}) as Record<string, string>) } : undefined;
    },
  };
}

/**
 * Before a pod's first container is created: the kubelet's config error (a missing
 * Secret, ConfigMap or key), else — for a long-running pod — its service's start-up
 * problem ({@linkcode configurationProblem} against what `sandbox-images` says the image
 * requires). Job pods are only checked for the config error.
 *
 * @param store The sandbox's store.
 * @param pod The pod.
 * @param options Whether it is a Job's pod; its image repository.
 * @returns `error` (waits) or `problem` (crash-loops); neither when it starts.
 *
 * @example
 * ```ts ignore
 * import { checkPodConfig } from "./pod_config.ts";
 * const { error, problem } = checkPodConfig(api.store, pod, { isJob: false, image: "r/web" });
 * ```
 */
export function checkPodConfig(
  store: Store,
  pod: KObject,
  options: { isJob: boolean; image: string },
): { error?: string; problem?: string } {
  const ns = String(meta(pod).namespace);
  const container = (((pod.spec as JsonMap).containers ?? []) as JsonMap[])[0] ?? {};
  const resolved = resolveContainerEnv(ns, container, storeSources(store));
  if ("error" in resolved) return { error: resolved.error };
  if (options.isJob) return {};
  const images = store.peek(CONFIGMAPS, "kube-system", SANDBOX_IMAGES)?.data;
  const required = requiredEnvOf(images as Record<string, string> | undefined, options.image);
  const problem = configurationProblem(resolved, required);
  return problem === null ? {} : { problem };
}
