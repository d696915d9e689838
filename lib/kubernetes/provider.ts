/**
 * The main thread's implementation of the `kubernetes` capability over
 * `@kubernetes/client-node`. A run opens it through the capability registry
 * (`lib/capabilities/kubernetes.ts`: which kubeconfig, and what to say when there is none);
 * tests and benches may build it directly. `probeKubernetesApi` (`./probe.ts`, re-exported
 * here) asks the API server once, with a time limit, whether it answers at all.
 * @module
 */
import type { KindRef, KubeObject, KubernetesCapability, RolloutStatus } from "./capability.ts";
import { apiError, KubeClient } from "./client.ts";
import { acquireLease, releaseLease, renewLease } from "./lease.ts";
import { heartbeatTimings, LeaseKeeper, leaseSecondsOn } from "./heartbeat.ts";
import { readPodLogs } from "./pod_logs.ts";
import { explainRollout, rolloutStatusOf, waitForRolloutWith } from "./rollout.ts";
import { MIN_SECRET_LENGTH } from "../journal/redact.ts";
import { TOOL_NAME } from "../product/mod.ts";
import type { Clock } from "../clock/clock.ts";

/** Options for {@linkcode createKubernetesCapability}. */
export interface KubernetesCapabilityOptions {
  /** The kubeconfig file. */
  kubeconfigPath: string;
  /** The kubeconfig context (default: its current context). */
  context?: string | undefined;
  /**
   * Applies, patches, deletes and events are sent with `dryRun=All`, and leases are only
   * checked (a lease held by another holder still refuses): nothing changes.
   */
  dryRun?: boolean | undefined;
  /** Told every secret value read, before it is returned (the runner redacts them). */
  onSecret?: ((value: string) => void) | undefined;
  /**
   * The run's clock (default real time): every request holds it while in flight, rollout
   * waits poll on it, leases and events are stamped with it.
   */
  clock?: Clock | undefined;
  /**
   * Sends the client's requests instead of HTTP (a sandbox in this process): see
   * `KubeClientOptions.transport`.
   */
  transport?: ((request: Request) => Promise<Response>) | undefined;
  /**
   * Keeps every lease taken through the capability alive until it is released (see
   * `heartbeat.ts`); while one is lost, applies, patches and deletes are refused. Without
   * it leases are taken for their duration and renewed only when asked.
   */
  heartbeat?: {
    /** Told once when a lease is lost. */
    onLost?: ((error: Error) => void) | undefined;
    /** Told of failed renewals. */
    log?: ((line: string) => void) | undefined;
    /** Aborted when the run ends: every heartbeat stops. */
    stopped?: AbortSignal | undefined;
  } | undefined;
}

const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };
const SECRET: KindRef = { apiVersion: "v1", kind: "Secret" };

function decodeBase64(text: string): string {
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * A Secret as stages see it through `get`/`list`: key names kept, values emptied, and the
 * `last-applied-configuration` annotation (which holds the values) dropped. Values are
 * read with `readSecret`, which registers them for redaction.
 */
function withoutSecretValues(object: KubeObject): KubeObject {
  // By the answer's own kind, whatever apiVersion the caller wrote.
  if (object?.kind !== "Secret") return object;
  const blank = (value: unknown) =>
    value && typeof value === "object"
      ? Object.fromEntries(Object.keys(value).map((key) => [key, ""]))
      : value;
  const annotations = { ...object.metadata.annotations };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  const out: KubeObject = {
    ...object,
    metadata: { ...object.metadata, annotations },
  };
  if (object.data !== undefined) out.data = blank(object.data);
  if (object.stringData !== undefined) out.stringData = blank(object.stringData);
  return out;
}

function checkKind(kind: KindRef, action: string): void {
  if (
    !kind || typeof kind.apiVersion !== "string" || !kind.apiVersion ||
    typeof kind.kind !== "string" || !kind.kind
  ) {
    throw new TypeError(
      `Cannot ${action}: the kind must be { apiVersion, kind }, got ${JSON.stringify(kind)}`,
    );
  }
}

function checkManifest(manifest: KubeObject): void {
  if (
    !manifest || typeof manifest !== "object" || !manifest.apiVersion || !manifest.kind ||
    !manifest.metadata || typeof manifest.metadata.name !== "string" || !manifest.metadata.name
  ) {
    throw new TypeError(
      "Cannot apply a manifest without apiVersion, kind and metadata.name",
    );
  }
}

/**
 * Builds the `kubernetes` capability: every method of {@linkcode KubernetesCapability}
 * over one client for a kubeconfig (and context). Results are plain JSON. Secrets returned
 * by `get` and `list` carry their key names with empty values: a value is read with
 * `readSecret`, which hands it to `onSecret` (redaction) before returning it.
 *
 * @param options Kubeconfig, context, dry run, and the secret hook.
 * @returns The capability.
 * @throws {Error} When the kubeconfig cannot be loaded or the context does not exist.
 *
 * @example
 * ```ts ignore
 * import { createKubernetesCapability } from "./provider.ts";
 * const k = createKubernetesCapability({ kubeconfigPath: "kubeconfig" });
 * console.log((await k.version()).gitVersion);
 * ```
 */
export function createKubernetesCapability(
  options: KubernetesCapabilityOptions,
): KubernetesCapability {
  const client = KubeClient.connect(options.kubeconfigPath, {
    context: options.context,
    clock: options.clock,
    transport: options.transport,
  });
  const dryRun = options.dryRun === true;
  // Renewals as client-go's: one try each, abandoned after the heartbeat's retry period; the
  // heartbeat itself tries again until the renew deadline (a retrying call's backoff and
  // 20 s timeouts could outlast the deadline on their own).
  const renewalClients = new Map<number, KubeClient>();
  const renewalClient = (durationSeconds: number) => {
    let c = renewalClients.get(durationSeconds);
    if (!c) {
      const retryMs = heartbeatTimings(durationSeconds).retryMs;
      c = KubeClient.connect(options.kubeconfigPath, {
        context: options.context,
        clock: options.clock,
        transport: options.transport,
        retry: { attempts: 1, unreachableAttempts: 1, timeoutMs: retryMs },
      });
      renewalClients.set(durationSeconds, c);
    }
    return c;
  };
  let events = 0;
  const keeper = options.heartbeat && !dryRun
    ? new LeaseKeeper({
      clock: client.clock,
      renew: (lease, durationSeconds) => renewLease(renewalClient(durationSeconds), lease),
      onLost: (_lease, error) => options.heartbeat?.onLost?.(error),
      log: options.heartbeat.log,
    })
    : undefined;
  options.heartbeat?.stopped?.addEventListener("abort", () => keeper?.close(), { once: true });
  const held = (what: string) => keeper?.assertHeld(what);

  async function rolloutStatus(namespace: string, name: string): Promise<RolloutStatus> {
    return rolloutStatusOf(await client.get(DEPLOYMENT, namespace, name), name);
  }

  return {
    async version() {
      try {
        const info = await client.version.getCode();
        return { gitVersion: info.gitVersion, major: info.major, minor: info.minor };
      } catch (error) {
        throw apiError(error, "read", "the server version");
      }
    },
    async get(kind, namespace, name) {
      checkKind(kind, `get ${name}`);
      const object = await client.get(kind, namespace, name);
      return object && withoutSecretValues(object);
    },
    async list(kind, namespace, listOptions = {}) {
      checkKind(kind, "list objects");
      return (await client.list(kind, namespace, listOptions)).map(withoutSecretValues);
    },
    async apply(manifest, applyOptions = {}) {
      checkManifest(manifest);
      if (!applyOptions.dryRun) {
        held(
          `apply ${manifest.kind} ${manifest.metadata?.namespace ?? ""}/${manifest.metadata?.name}`,
        );
      }
      return withoutSecretValues(
        await client.apply(manifest, { dryRun: dryRun || applyOptions.dryRun === true }),
      );
    },
    async patch(kind, namespace, name, patch, type) {
      checkKind(kind, `patch ${name}`);
      held(`patch ${kind.kind} ${namespace ?? ""}/${name}`);
      return withoutSecretValues(
        await client.patch(kind, namespace, name, { patch, type, dryRun }),
      );
    },
    async delete(kind, namespace, name) {
      checkKind(kind, `delete ${name}`);
      held(`delete ${kind.kind} ${namespace ?? ""}/${name}`);
      return await client.delete(kind, namespace, name, { dryRun });
    },
    async namespaced(kind) {
      checkKind(kind, "look up a kind");
      return await client.namespaced(kind);
    },
    async proxyGet(target, path) {
      return await client.proxyGet(target, path);
    },
    rolloutStatus,
    async waitForRollout(namespace, name, waitOptions) {
      return await waitForRolloutWith(() => rolloutStatus(namespace, name), {
        timeoutMs: waitOptions.timeoutMs,
        pollMs: waitOptions.pollMs,
        maxPollMs: waitOptions.maxPollMs,
        clock: client.clock,
        // A failed rollout names why, as its pods say (waiting reason, restarts, exit code, log).
        explain: () =>
          explainRollout(
            {
              get: (kind, ns, n) => client.get(kind, ns, n),
              list: (kind, ns, o) => client.list(kind, ns, o),
            },
            namespace,
            name,
          ),
      });
    },
    async podLogs(namespace, pod, logOptions = {}) {
      return await readPodLogs(client, namespace, pod, logOptions);
    },
    async readSecret(namespace, name, key) {
      const secret = await client.get(SECRET, namespace, name);
      if (secret === null) return null;
      const data = (secret.data ?? {}) as Record<string, unknown>;
      const encoded = data[key];
      if (typeof encoded !== "string") return null;
      let value: string;
      try {
        value = decodeBase64(encoded);
      } catch {
        throw new Error(`Cannot read key "${key}" of Secret ${namespace}/${name}: not base64`);
      }
      if (value.length > 0 && value.length < MIN_SECRET_LENGTH) {
        // Too short to tell apart from ordinary text, so it could not be kept out of logs.
        throw new RangeError(
          `Cannot use key "${key}" of Secret ${namespace}/${name}: its value is shorter than ` +
            `${MIN_SECRET_LENGTH} characters, too short to be a real secret or to be redacted`,
        );
      }
      options.onSecret?.(value);
      return value;
    },
    async acquireLease(namespace, name, leaseOptions) {
      const durationSeconds = keeper && !leaseOptions.exact
        ? leaseSecondsOn(leaseOptions.durationSeconds, client.clock)
        : leaseOptions.durationSeconds;
      const { takeOverRun, exact: _exact, ...rest } = leaseOptions;
      const lease = await acquireLease(client, { namespace, name }, {
        ...rest,
        durationSeconds,
        dryRun,
        ...(takeOverRun ? { takeOver: (h: string) => h.endsWith(`/${takeOverRun}`) } : {}),
      });
      keeper?.keep(lease, durationSeconds);
      return lease;
    },
    async renewLease(lease) {
      return await renewLease(client, lease, { dryRun });
    },
    async releaseLease(lease) {
      keeper?.release(lease);
      await releaseLease(client, lease, { dryRun });
    },
    async event(object, event) {
      const namespace = object.metadata.namespace ?? "default";
      const at = client.clock.now();
      const now = new Date(at).toISOString();
      // As client-go names events: the object's name and the time in hex nanoseconds (here
      // the clock's, plus a count, so that two events of one millisecond differ).
      const suffix = (BigInt(at) * 1_000_000n + BigInt(events++ % 1_000_000)).toString(16);
      await client.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${object.metadata.name}.${suffix}`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          namespace,
          ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
          ...(object.metadata.resourceVersion
            ? { resourceVersion: object.metadata.resourceVersion }
            : {}),
        },
        reason: event.reason,
        message: event.message,
        type: event.type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: TOOL_NAME },
        reportingComponent: TOOL_NAME,
      }, { dryRun });
    },
  };
}

export { probeKubernetesApi, type ProbeOptions, type ProbeResult } from "./probe.ts";
