/**
 * Companions: real programs started beside a sandbox, seeded from its own Secrets, so a
 * rehearsal's checks reach real servers through the code they use in production — a
 * `redis-server` per namespace with the password of its Secret (TLS where asked), and one
 * container registry per namespace holding the images being deployed, signed in cosign's
 * format; one `prometheus` and one `prometheus-alertmanager` they share. Each listens on the namespace's own loopback address (`companionAddress`), runs in
 * its own folder under `<stateDir>/companions/`, is published in a ConfigMap of each namespace it serves (`discover.ts`), and stops (by the
 * PID it was started with) when {@linkcode Companions.stop} is called; a rerun stops a
 * leftover of an earlier process and starts afresh. A program that is not installed is
 * published as skipped, naming the Debian package to install.
 * @module
 */
import { realClock } from "../clock/mod.ts";

/** What companions need of a clock: to hold it while real programs start and stop. */
export interface ClockHold {
  /** Marks real work in flight (a virtual clock does not jump meanwhile); returns its end. */
  hold(what: string): () => void;
}
import {
  ALERTMANAGER_PORT,
  companionAddress,
  COMPANIONS_CONFIGMAP,
  PROMETHEUS_PORT,
  type Published,
  type PublishedCompanions,
  type PublishedServer,
  REGISTRY_PORT,
} from "./discover.ts";
import {
  type MonitoringCompanion,
  startAlertmanagerCompanion,
  startPrometheusCompanion,
} from "./monitoring.ts";
import { type RedisCompanion, startRedisCompanion } from "./redis.ts";
import { addressFree } from "./process.ts";
import { type ImageToPush, type RegistryCompanion, startRegistryCompanion } from "./registry.ts";
import {
  openRegistryStorage,
  type RegistryStorage,
  registryStorageDir,
} from "./registry_storage.ts";

export * from "./discover.ts";
export type { ImageToPush, PushedImage, RegistryCompanion } from "./registry.ts";
export type { RedisCompanion, RedisEndpoint } from "./redis.ts";
export type { CompanionProcess, MissingProgram } from "./process.ts";
export type { MonitoringCompanion } from "./monitoring.ts";
export type { CompanionEnvironment, SplitScenario } from "./plan.ts";
export { COMPANION_SCENARIOS, companionPlan, splitScenario } from "./plan.ts";
export { registryStorageDir } from "./registry_storage.ts";

/** What one namespace's Redis is seeded from. */
export interface RedisPlan {
  /** The Secret and key holding its password (undefined: no password). */
  readonly secret?: { readonly name: string; readonly key: string } | undefined;
  /** The password itself (instead of `secret`). */
  readonly password?: string | undefined;
  /** Its port (at the namespace's own address, `companionAddress`). */
  readonly port: number;
  /** Serve TLS only. */
  readonly tls: boolean;
  /** Start it with another password than the Secret's (a rotation that did not reach Redis). */
  readonly wrongPassword?: boolean;
  /** Do not start it; publish this reason as the skip. */
  readonly skip?: string | undefined;
}

/** What to start for one namespace. */
export interface NamespacePlan {
  /** The namespace. */
  readonly namespace: string;
  /** Its Redis (undefined: none). */
  readonly redis?: RedisPlan | undefined;
  /** The images its registry holds (none: no registry; `registrySkip` says why). */
  readonly images: readonly ImageToPush[];
  /** Why no registry runs when `images` is empty. */
  readonly registrySkip?: string | undefined;
}

/** What {@linkcode startCompanions} takes. */
export interface CompanionsOptions {
  /** The sandbox's state folder (companions live under `companions/`). */
  readonly stateDir: string;
  /** Answers requests to the sandbox's API (its `handle`, or a fetch with its token). */
  readonly api: (request: Request) => Promise<Response>;
  /** The namespaces served (those the sandbox does not have are left out). */
  readonly namespaces: readonly NamespacePlan[];
  /** Start Prometheus and Alertmanager (shared by the namespaces; default true). */
  readonly monitoring?: boolean;
  /** What tells this sandbox's companion addresses from another's (`companionAddress`). */
  readonly scope?: string | undefined;
  /** The sandbox's clock: held while the programs start (default real). */
  readonly clock?: ClockHold | undefined;
}

/** Running companions. */
export interface Companions {
  /** The Redis of each namespace that has one running. */
  readonly redis: ReadonlyMap<string, RedisCompanion>;
  /** The registry of each namespace that has one running. */
  readonly registries: ReadonlyMap<string, RegistryCompanion>;
  /** Prometheus and Alertmanager, those running. */
  readonly monitoring: readonly MonitoringCompanion[];
  /** What each namespace's ConfigMap says. */
  readonly published: ReadonlyMap<string, PublishedCompanions>;
  /** Stops every program (by PID) and removes the ConfigMaps. Safe to call twice. */
  stop(): Promise<void>;
}

async function readSecret(
  api: CompanionsOptions["api"],
  namespace: string,
  secret: { name: string; key: string },
): Promise<string> {
  const res = await api(
    new Request(`http://sandbox/api/v1/namespaces/${namespace}/secrets/${secret.name}`),
  );
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`secret ${namespace}/${secret.name} cannot be read (HTTP ${res.status})`);
  }
  const body = await res.json() as { data?: Record<string, string> };
  const value = body.data?.[secret.key];
  if (value === undefined) {
    throw new Error(`secret ${namespace}/${secret.name} has no key ${secret.key}`);
  }
  return new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
}

async function publish(
  api: CompanionsOptions["api"],
  namespace: string,
  published: PublishedCompanions,
): Promise<void> {
  const data = Object.fromEntries(
    Object.entries(published).map(([k, v]) => [k, JSON.stringify(v)]),
  );
  const body = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: COMPANIONS_CONFIGMAP,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "sandbox-companions" },
    },
    data,
  };
  const url = `http://sandbox/api/v1/namespaces/${namespace}/configmaps`;
  await unpublish(api, namespace);
  const res = await api(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  const text = await res.text();
  if (!res.ok) {
    throw new Error(
      `cannot publish ${namespace}/${COMPANIONS_CONFIGMAP}: HTTP ${res.status} ${
        text.slice(0, 200)
      }`,
    );
  }
}

/** Keeps a registry's storage, trusting the keys its namespace's entry names now. */
async function keepRegistry(
  api: CompanionsOptions["api"],
  namespace: string,
  registry: RegistryCompanion,
): Promise<void> {
  const res = await api(
    new Request(
      `http://sandbox/api/v1/namespaces/${namespace}/configmaps/${COMPANIONS_CONFIGMAP}`,
    ),
  );
  const cm = res.ok ? await res.json() as { data?: Record<string, string> } : undefined;
  if (!res.ok) await res.body?.cancel();
  const entry = JSON.parse(cm?.data?.registry ?? "{}") as { publicKey?: unknown };
  await registry.keep(typeof entry.publicKey === "string" ? entry.publicKey : "");
}

async function unpublish(api: CompanionsOptions["api"], namespace: string): Promise<void> {
  const res = await api(
    new Request(
      `http://sandbox/api/v1/namespaces/${namespace}/configmaps/${COMPANIONS_CONFIGMAP}`,
      {
        method: "DELETE",
      },
    ),
  );
  await res.body?.cancel();
}

async function hasNamespace(api: CompanionsOptions["api"], namespace: string): Promise<boolean> {
  const res = await api(new Request(`http://sandbox/api/v1/namespaces/${namespace}`));
  await res.body?.cancel();
  return res.ok;
}

/**
 * A companion that did not start: failed — or skipped when its address is held (another
 * sandbox rehearses the namespace at once in the same scope: nothing of this one is wrong).
 */
function notStarted(what: string, err: unknown): { skipped: string } | { failed: string } {
  const message = (err as Error).message;
  return /is in use/.test(message)
    ? { skipped: `the sandbox's ${what} could not listen: ${message}` }
    : { failed: `the sandbox's ${what} did not start: ${message}` };
}

const NO_MONITORING = { entries: {}, running: [] as MonitoringCompanion[] };

async function startMonitoring(
  o: CompanionsOptions,
): Promise<
  {
    entries: Pick<PublishedCompanions, "prometheus" | "alertmanager">;
    running: MonitoringCompanion[];
  }
> {
  if (o.monitoring === false) return { entries: {}, running: [] };
  const one = async (
    what: string,
    start: typeof startPrometheusCompanion,
    port: number,
  ): Promise<{ entry: Published<PublishedServer>; running?: MonitoringCompanion }> => {
    const address = `${companionAddress("*", what, o.scope)}:${port}`;
    const [host] = address.split(":");
    try {
      if (!addressFree(host!, port)) throw new Error(`${address} is in use`);
      const started = await start({ dir: `${o.stateDir}/companions/${what}`, address });
      if ("missing" in started) return { entry: { skipped: started.missing.message } };
      return { entry: { url: started.url }, running: started };
    } catch (err) {
      return { entry: notStarted(what, err) };
    }
  };
  const [p, a] = await Promise.all([
    one("prometheus", startPrometheusCompanion, PROMETHEUS_PORT),
    one("alertmanager", startAlertmanagerCompanion, ALERTMANAGER_PORT),
  ]);
  return {
    entries: { prometheus: p.entry, alertmanager: a.entry },
    running: [p.running, a.running].filter((x): x is MonitoringCompanion => x !== undefined),
  };
}

function safeName(namespace: string): string {
  return namespace.replace(/[^a-z0-9-]/g, "-");
}

async function startRedisFor(
  o: CompanionsOptions,
  plan: NamespacePlan & { redis: RedisPlan },
): Promise<{ entry: NonNullable<PublishedCompanions["redis"]>; running?: RedisCompanion }> {
  if (plan.redis.skip) return { entry: { skipped: plan.redis.skip } };
  try {
    let password = plan.redis.password ??
      (plan.redis.secret ? await readSecret(o.api, plan.namespace, plan.redis.secret) : undefined);
    if (plan.redis.wrongPassword) password = `rotated-${crypto.randomUUID()}`;
    const started = await startRedisCompanion({
      dir: `${o.stateDir}/companions/redis-${safeName(plan.namespace)}`,
      host: companionAddress(plan.namespace, "redis", o.scope),
      port: plan.redis.port,
      password,
      tls: plan.redis.tls,
    });
    if ("missing" in started) return { entry: { skipped: started.missing.message } };
    const { host, port, tls, ca } = started;
    return { entry: { host, port, tls, ...(ca ? { ca } : {}) }, running: started };
  } catch (err) {
    return { entry: notStarted("Redis", err) };
  }
}

async function startRegistry(
  o: CompanionsOptions,
  plan: NamespacePlan,
  storage: () => Promise<RegistryStorage>,
): Promise<{ entry: NonNullable<PublishedCompanions["registry"]>; running?: RegistryCompanion }> {
  if (plan.images.length === 0) {
    return {
      entry: { skipped: plan.registrySkip ?? "no images to hold: no registry was started" },
    };
  }
  try {
    const started = await startRegistryCompanion({
      dir: `${o.stateDir}/companions/registry-${safeName(plan.namespace)}`,
      address: `${companionAddress(plan.namespace, "registry", o.scope)}:${REGISTRY_PORT}`,
      images: plan.images,
      storage: await storage(),
    });
    if ("missing" in started) return { entry: { skipped: started.missing.message } };
    return {
      entry: { host: started.host, publicKey: started.publicKey, images: started.images },
      running: started,
    };
  } catch (err) {
    return { entry: notStarted("registry", err) };
  }
}

/**
 * Starts the companions and publishes them in each namespace. A program that is not
 * installed, or fails to start, is published as such (the checks then skip naming the
 * package, or fail naming the error): starting never throws for it.
 *
 * @param o The state folder, the sandbox's API, the namespaces and images, the clock.
 * @returns The running companions.
 * @throws {Error} When a ConfigMap cannot be published (what was started is stopped).
 *
 * @example
 * ```ts ignore
 * import { startCompanions } from "./mod.ts";
 * const companions = await startCompanions({
 *   stateDir, api: sandbox.handle,
 *   namespaces: [{
 *     namespace: "team-prod", images: [],
 *     redis: { secret: { name: "redis", key: "password" }, port: 6379, tls: true },
 *   }],
 * });
 * await companions.stop();
 * ```
 */
export async function startCompanions(o: CompanionsOptions): Promise<Companions> {
  const clock: ClockHold = o.clock ?? realClock;
  const release = clock.hold("starting the sandbox's companions");
  const redis = new Map<string, RedisCompanion>();
  const registries = new Map<string, RegistryCompanion>();
  const published = new Map<string, PublishedCompanions>();
  const monitoring: MonitoringCompanion[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      const hold = clock.hold("stopping the sandbox's companions");
      try {
        // What each registry holds is kept for the next start, with the keys its images
        // verify with now (a build made in the sandbox added its own).
        for (const [ns, r] of registries) await keepRegistry(o.api, ns, r).catch(() => {});
        await Promise.all([...published.keys()].map((ns) => unpublish(o.api, ns).catch(() => {})));
        await Promise.all(
          [...redis.values(), ...registries.values(), ...monitoring].map((c) => c.stop()),
        );
      } finally {
        hold();
      }
    })();
  try {
    // Only the namespaces the sandbox has (a saved state may be seeded from other files).
    const present = await Promise.all(
      o.namespaces.map((plan) => hasNamespace(o.api, plan.namespace)),
    );
    const served = o.namespaces.filter((_, i) => present[i]);
    // Prometheus and Alertmanager start beside the namespaces' Redis and registries; their
    // entries join each namespace's when all have started.
    const sharing = (served.length ? startMonitoring(o) : Promise.resolve(NO_MONITORING)).then(
      (shared) => {
        monitoring.push(...shared.running);
        return shared.entries;
      },
    );
    const entries: Omit<PublishedCompanions, "prometheus" | "alertmanager">[] = [];
    // One storage for the sandbox's registries (one registry at an address per namespace),
    // opened once; the registries start one at a time (their stand-ins share it).
    let opened: Promise<RegistryStorage> | undefined;
    const storage = () => opened ??= openRegistryStorage(registryStorageDir(o.stateDir));
    let queue: Promise<unknown> = Promise.resolve();
    const inTurn = <T>(f: () => Promise<T>): Promise<T> => {
      const next = queue.then(f, f);
      queue = next.catch(() => {});
      return next;
    };
    const started = await Promise.allSettled([
      sharing,
      ...served.map(async (plan, i) => {
        const [rs, regs] = await Promise.allSettled([
          plan.redis ? startRedisFor(o, { ...plan, redis: plan.redis }) : undefined,
          inTurn(() => startRegistry(o, plan, storage)),
        ]);
        // Each one that started is kept (to be stopped) before either's failure is thrown.
        if (rs.status === "fulfilled" && rs.value?.running) {
          redis.set(plan.namespace, rs.value.running);
        }
        if (regs.status === "fulfilled" && regs.value.running) {
          registries.set(plan.namespace, regs.value.running);
        }
        if (rs.status === "rejected") throw rs.reason;
        if (regs.status === "rejected") throw regs.reason;
        const r = rs.value;
        entries[i] = { ...(r ? { redis: r.entry } : {}), registry: regs.value.entry };
      }),
    ]);
    // Everything has settled (so stop() below reaches every companion that did start).
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    const shared = await sharing;
    served.forEach((plan, i) => published.set(plan.namespace, { ...entries[i]!, ...shared }));
    for (const [namespace, entry] of published) await publish(o.api, namespace, entry);
    return { redis, registries, monitoring, published, stop };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    release();
  }
}
