/**
 * `startSandbox()`: the sandbox cluster's composition — store, API, HTTP server, seed,
 * saved state and simulation — and its kubeconfig; `findRunningSandbox()` finds one already
 * serving a state folder. Everything runs on one {@linkcode Clock} (`options.clock`, default
 * a clock scaled `timeScale` times); `state.json` records the clock's `now()` when it was
 * written (`clockAt`), and a sandbox refuses a clock that is behind it.
 * @module
 */
import { autosave, durably } from "./persist.ts";
import { resolve } from "node:path";
import { type Clock, realClock, scaledClock } from "../clock/mod.ts";
import { type Random, seededRandom } from "../random/mod.ts";
import { SANDBOX_CLUSTER } from "../product/mod.ts";
import { Store } from "./store.ts";
import { Api } from "./api.ts";
import { ApiHttp } from "./server.ts";
import { RESOURCE_TYPES } from "./resources.ts";
import { checkScenario, type FaultSpec } from "./scenarios.ts";
import { ApiChaos, type ApiChaosStats, splitApiChaos } from "./api_chaos.ts";
import {
  checkSeed,
  type SandboxSeed,
  seedCluster,
  trafficRatesOf,
  writeSandboxInfo,
} from "./seed.ts";
import { readState, removeStaleTemporaries, type SandboxState, writeFileAtomic } from "./state.ts";
import { Simulation } from "./simulation.ts";
import { GATEWAYS } from "./gateway_seed.ts";
import { GatewayListeners } from "./gateway_listener.ts";

/** How long `stop()` lets requests in flight finish before it closes every connection. */
const STOP_GRACE_MS = 2_000;

/** Options for {@linkcode startSandbox}. */
export interface SandboxOptions {
  /** Directory for state.json, kubeconfig and prometheus-targets.json. */
  stateDir: string;
  /** API port on 127.0.0.1 (0 or omitted: any free port). */
  port?: number;
  /** Fault scenario name (see `SCENARIOS`). */
  scenario?: string;
  /**
   * Sandbox seconds per real second (default 60), when no `clock` is given: the sandbox
   * then runs on `scaledClock(timeScale)`, its stamps moved past a saved state's `clockAt`.
   */
  timeScale?: number;
  /**
   * The clock every timer and timestamp of the cluster uses (the runner's, so both jump
   * together on a virtual clock). Its `now()` must not be behind the saved state's
   * `clockAt` (see {@linkcode savedClockAt}). Default: `scaledClock(timeScale ?? 60)`.
   */
  clock?: Clock;
  /**
   * Seed of the traffic model on a virtual clock and of random fault onsets (default 0):
   * the same seed draws the same requests.
   */
  randomSeed?: number | string;
  /**
   * The faults to inject (`parseScenario(text, { seed })` from `scenarios.ts`, or a
   * simulator's draw). Default: the `scenario`'s. Either way `scenario` names the run.
   */
  faults?: readonly FaultSpec[];
  /**
   * What a freshly seeded cluster holds besides the system namespaces and nodes (default:
   * nothing). Applied only when the cluster is new: a restored state keeps what it had.
   */
  seed?: SandboxSeed;
  /** Start from a freshly seeded cluster: the saved state is discarded (not even read). */
  reset?: boolean;
  /**
   * Simulated traffic per namespace, in requests per sandbox second (default 50). The real
   * rate is `trafficRate × timeScale`, capped at `maxRealRate`: each real request counts once.
   */
  trafficRate?: number;
  /** Cap on real requests per second per namespace (default 100). */
  maxRealRate?: number;
  /**
   * Save the state a while after each change (default true), as well as at `stop()`. A
   * simulation's run sets false: nothing resumes from its state, which is thrown away after
   * the run, and its hour of canary would be ~260 saves of the whole store.
   */
  autosave?: boolean;
}

/** A running sandbox cluster. */
export interface Sandbox {
  /** The API server URL (`http://127.0.0.1:<port>`). */
  url: string;
  /** Path of the kubeconfig written for it. */
  kubeconfigPath: string;
  /** The active scenario, if any. */
  scenario: string | undefined;
  /** Sandbox seconds per real second (`Infinity` on a virtual clock). */
  timeScale: number;
  /** The clock the cluster runs on. */
  clock: Clock;
  /**
   * The clock's `now()` when the state was last saved (after `stop()`: at the stop). The
   * next sandbox on this state directory must start its clock no earlier.
   */
  readonly clockAt: number;
  /**
   * Answers one API request in this process, as the server would over a connection (the
   * same routing and authentication, no socket): for a caller beside the sandbox, such as
   * the gates' measurements on a virtual clock, where a loopback round trip is only cost.
   */
  handle(request: Request): Promise<Response>;
  /**
   * {@linkcode Sandbox.handle} for a bystander — a simulation's observer, which must see the
   * cluster as it is: the same answers, never faulted by `api-chaos` nor counted in its
   * stats.
   */
  inspect(request: Request): Promise<Response>;
  /**
   * The measurements endpoint's answer (`/apis/<SANDBOX_API_GROUP>/v1/namespaces/<ns>/
   * measurements`), its status and JSON-able body, straight from the traffic model: what
   * {@linkcode Sandbox.handle} would answer for it (api-chaos never faults it), without a
   * Request and a Response to encode and decode — the gates look at it thousands of times a
   * rehearsal.
   */
  measure(
    namespace: string,
    params: URLSearchParams,
  ): { status: number; body: Record<string, unknown> };
  /**
   * Under `api-chaos`: the API requests seen and the faults they got (over HTTP and
   * through {@linkcode Sandbox.handle} alike; written to `<stateDir>/api-chaos.json` on
   * stop); undefined without it.
   */
  readonly apiChaos: ApiChaosStats | undefined;
  /**
   * Stop controllers, pods, traffic and the server; save the state. Requests still in
   * flight after a grace period (2 s) have their connections closed: `stop()` always ends.
   */
  stop(): Promise<void>;
}

/** Thrown by {@linkcode startSandbox} when a sandbox already serves the same state dir. */
export class SandboxRunningError extends Error {
  /** The URL of the running sandbox. */
  readonly url: string;
  /** Path of its kubeconfig. */
  readonly kubeconfigPath: string;

  /**
   * Build the error for a sandbox found running.
   *
   * @param running The running sandbox's URL and kubeconfig path.
   */
  constructor(running: { url: string; kubeconfigPath: string }) {
    super(
      `Cannot start a sandbox: one is already running at ${running.url} (kubeconfig ${running.kubeconfigPath})`,
    );
    this.name = "SandboxRunningError";
    this.url = running.url;
    this.kubeconfigPath = running.kubeconfigPath;
  }
}

/**
 * Find a sandbox already serving `stateDir`: its kubeconfig exists and its server answers
 * `/healthz` within a second. A kubeconfig left behind by a killed sandbox does not count.
 *
 * @param stateDir The sandbox state directory.
 * @returns Its URL and kubeconfig path, or undefined.
 *
 * @example
 * ```ts ignore
 * import { findRunningSandbox, startSandbox } from "./mod.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const dir = SANDBOX_DIR;
 * const running = await findRunningSandbox(dir);
 * const kubeconfig = running?.kubeconfigPath ?? (await startSandbox({ stateDir: dir })).kubeconfigPath;
 * ```
 */
export async function findRunningSandbox(
  stateDir: string,
): Promise<{ url: string; kubeconfigPath: string } | undefined> {
  const kubeconfigPath = `${stateDir}/kubeconfig`;
  let text: string;
  try {
    text = await Deno.readTextFile(kubeconfigPath);
  } catch {
    return undefined;
  }
  const url = text.match(/^\s*server:\s*(http:\/\/127\.0\.0\.1:\d+)\s*$/m)?.[1];
  if (!url) return undefined;
  try {
    // A real-time limit: the sandbox asked is another process's.
    const response = await fetch(`${url}/healthz`, { signal: realClock.timeout(1000) });
    await response.body?.cancel();
    return response.ok ? { url, kubeconfigPath } : undefined;
  } catch {
    return undefined;
  }
}

async function checkStateDir(stateDir: string): Promise<void> {
  if (stateDir === "") throw new RangeError("Cannot use an empty sandbox state directory");
  try {
    const info = await Deno.stat(stateDir);
    if (!info.isDirectory) {
      throw new RangeError(
        `Cannot use ${stateDir} as the sandbox state directory: not a directory`,
      );
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    if (error instanceof RangeError) throw error;
    throw new RangeError(
      `Cannot use ${stateDir} as the sandbox state directory: ${(error as Error).message}`,
    );
  }
}

function kubeconfig(url: string, token: string): string {
  const user = `${SANDBOX_CLUSTER}-admin`;
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${SANDBOX_CLUSTER}`,
    "  cluster:",
    `    server: ${url}`,
    // client-node refuses plain HTTP unless TLS verification is off (there is no TLS here).
    "    insecure-skip-tls-verify: true",
    "users:",
    `- name: ${user}`,
    "  user:",
    `    token: ${token}`,
    "contexts:",
    `- name: ${SANDBOX_CLUSTER}`,
    "  context:",
    `    cluster: ${SANDBOX_CLUSTER}`,
    `    user: ${user}`,
    "    namespace: default",
    `current-context: ${SANDBOX_CLUSTER}`,
    "",
  ].join("\n");
}

/** Checks every option (and the seed) before anything is read or written. */
function checkOptions(options: SandboxOptions) {
  const scenario = checkScenario(options.scenario);
  const timeScale = options.timeScale ?? 60;
  if (options.clock === undefined) scaledClock(timeScale); // checks the scale (a RangeError)
  const trafficRate = options.trafficRate ?? 50;
  if (!(trafficRate >= 0) || !Number.isFinite(trafficRate)) {
    throw new RangeError(`Cannot use traffic rate ${trafficRate}: must be a number >= 0`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot use port ${port}: must be an integer from 0 to 65535`);
  }
  const seed = options.seed ?? {};
  checkSeed(seed);
  return { scenario, timeScale, trafficRate, port, seed };
}

/**
 * The clock to run on: the one given (refused when behind the saved state's `clockAt`), or
 * one scaled `timeScale` times whose stamps start no earlier than `clockAt`.
 */
function chooseClock(
  options: SandboxOptions,
  timeScale: number,
  previous: SandboxState | undefined,
  statePath: string,
): Clock {
  const clockAt = previous?.clockAt;
  if (options.clock === undefined) {
    return scaledClock(timeScale, Math.max(0, (clockAt ?? 0) - realClock.now()));
  }
  if (clockAt !== undefined && options.clock.now() < clockAt) {
    const at = (ms: number) => new Date(ms).toISOString();
    throw new RangeError(
      `Cannot start the sandbox on a ${options.clock.kind} clock at ${
        at(options.clock.now())
      }: its saved state ${statePath} was written at ${
        at(clockAt)
      } (clockAt) and would lie in the future. Start the clock at or after it (savedClockAt()), or pass reset to discard the saved state`,
    );
  }
  return options.clock;
}

/**
 * The clock time a sandbox state directory was last saved at (`state.json`'s `clockAt`):
 * start the next sandbox's clock (a virtual one above all) no earlier than this.
 *
 * @param stateDir The sandbox state directory.
 * @returns Epoch ms, or undefined when there is no saved state (or it predates `clockAt`).
 * @throws {SandboxStateError} When the saved state cannot be loaded.
 *
 * @example
 * ```ts ignore
 * import { savedClockAt, startSandbox } from "./mod.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const stateDir = await Deno.makeTempDir();
 * const clock = virtualClock({ startMs: Math.max(Date.now(), (await savedClockAt(stateDir)) ?? 0) });
 * const sandbox = await startSandbox({ stateDir, clock });
 * ```
 */
export async function savedClockAt(stateDir: string): Promise<number | undefined> {
  return (await readState(`${stateDir}/state.json`))?.clockAt;
}

/** The store and API: restored from the saved state, else freshly seeded. */
async function openCluster(
  previous: SandboxState | undefined,
  seed: SandboxSeed,
  clock: Clock,
  random: Random | undefined,
): Promise<{ store: Store; api: Api }> {
  const store = new Store();
  const api = new Api(store, { clock, ...(random ? { random } : {}) });
  const types = RESOURCE_TYPES.includes(GATEWAYS) ? RESOURCE_TYPES : [...RESOURCE_TYPES, GATEWAYS];
  api.registerTypes(types);
  if (previous) {
    store.restore(previous.store, (key) => {
      const [group, version, plural] = key.split("/");
      return types.find((t) => t.group === group && t.version === version && t.plural === plural);
    });
  } else {
    await seedCluster(api, seed);
  }
  return { store, api };
}

/** Serves the API on 127.0.0.1, counting requests in flight. */
function serve(http: ApiHttp, port: number, handle: (request: Request) => Promise<Response>) {
  // Closed by aborting, not by `shutdown()`: a client that never finishes its request
  // (a body that never ends) would keep a graceful shutdown waiting for ever.
  const closing = new AbortController();
  let inFlight = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {}, signal: closing.signal },
    async (request) => {
      inFlight++;
      try {
        return await handle(request);
      } finally {
        inFlight--;
      }
    },
  );
  http.setAddress(`127.0.0.1:${server.addr.port}`);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    inFlight: () => inFlight,
    async close() {
      closing.abort();
      await server.finished;
    },
  };
}

/**
 * Start a sandbox cluster on 127.0.0.1: a Kubernetes-compatible API server with
 * controllers, simulated pods, traffic and scenarios. Writes `<stateDir>/kubeconfig`.
 *
 * @param options State directory, seed, port, scenario, time scale, reset and traffic rate.
 * @returns The running sandbox.
 * Every option and the saved state are checked before anything is written: when it throws,
 * the state directory is as it was.
 *
 * @throws {RangeError} For an unknown scenario, a bad time scale, traffic rate, port or seed,
 *   or a state directory that is not a directory.
 * @throws {SandboxRunningError} When a sandbox already serves this state directory.
 * @throws {SandboxStateError} When the saved state cannot be loaded (corrupt, or over the
 *   sandbox's limits): pass `reset` to discard it.
 *
 * @example
 * ```ts ignore
 * import { startSandbox } from "./mod.ts";
 * const sandbox = await startSandbox({
 *   stateDir: await Deno.makeTempDir(),
 *   port: 0,
 *   seed: { namespaces: [{ name: "shop-prod", secrets: [{ name: "db", data: { password: "pw" } }] }] },
 * });
 * await sandbox.stop();
 * ```
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { scenario, timeScale, trafficRate, port, seed } = checkOptions(options);
  const stateDir = options.stateDir;
  await checkStateDir(stateDir);
  const running = await findRunningSandbox(stateDir);
  if (running) throw new SandboxRunningError(running);
  const statePath = `${stateDir}/state.json`;
  const kubeconfigPath = `${stateDir}/kubeconfig`;
  // Read (and check) the saved state before anything is written.
  const previous = options.reset ? undefined : await readState(statePath);
  const clock = chooseClock(options, timeScale, previous, statePath);
  await Deno.mkdir(stateDir, { recursive: true });
  await removeStaleTemporaries(stateDir);

  // A seeded run names its objects the same each time (restarted states draw anew).
  const random = options.randomSeed === undefined
    ? undefined
    : seededRandom(`${options.randomSeed}|names|${previous?.store.resourceVersion ?? 0}`);
  const { store, api } = await openCluster(previous, seed, clock, random);
  writeSandboxInfo(api, {
    scenario: scenario ?? "none",
    timeScale: String(clock.scale),
    clock: clock.kind,
    startedAt: new Date(clock.now()).toISOString(),
  });
  const simulation = new Simulation(api, {
    clock,
    scenario,
    trafficRate,
    ...(options.maxRealRate !== undefined ? { maxRealRate: options.maxRealRate } : {}),
    ...(options.randomSeed !== undefined ? { randomSeed: options.randomSeed } : {}),
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
    rates: trafficRatesOf(seed),
    stateDir,
    versions: previous?.versions ?? {},
  });
  const token = crypto.randomUUID().replaceAll("-", "");
  const http = new ApiHttp(api, {
    token,
    hooks: {
      metrics: (type, ns) => simulation.metrics(type, ns),
      measurements: (ns, params) => simulation.measurements(ns, params),
      podLog: (ns, name) => simulation.podLog(ns, name),
      proxyPort: (ns, target) => simulation.proxyPort(ns, target),
    },
  });
  // api-chaos: its faults come before the API, over HTTP and in this process alike.
  const spec = splitApiChaos(scenario).chaos;
  const chaos = spec ? new ApiChaos(spec, { clock, seed: options.randomSeed }) : undefined;
  // An API server answers a write once it is durable (etcd's commit): a write is on disk
  // before its answer, so a runner killed right after it (its sandbox in its process)
  // loses nothing it was told was done. Not on a virtual clock (a simulation that dies is
  // run again; its writes are many and its saves would cost its speed).
  let flush: () => Promise<void> = () => Promise.resolve();
  const apiHandler = (request: Request) =>
    clock.kind === "virtual" ? http.handle(request) : durably(request, http, () => flush());
  const handle = chaos ? chaos.wrap(apiHandler) : apiHandler;
  const server = serve(http, port, handle);
  const gateways = new GatewayListeners(api, {
    clock,
    servicePort: (ns, name) => simulation.proxyPort(ns, { kind: "services", name }),
    scope: resolve(stateDir),
  });
  gateways.start();

  let clockAt = clock.now();
  const save = async () => {
    clockAt = Math.max(clockAt, clock.now());
    // What JSON.stringify of a SandboxState writes; the store's part reuses the text of
    // every object unchanged since the last save.
    const state = `{"version":1,"savedAt":${JSON.stringify(new Date(clockAt).toISOString())},` +
      `"clockAt":${clockAt},"store":${store.snapshotJson()},` +
      `"versions":${JSON.stringify(simulation.versions)}}`;
    store.markClean();
    await writeFileAtomic(statePath, state);
  };
  await save();
  await writeFileAtomic(kubeconfigPath, kubeconfig(server.url, token));
  const saver = options.autosave === false
    ? { stop() {}, saving: () => Promise.resolve(), flush: () => Promise.resolve() }
    : autosave(store, clock, save);
  flush = saver.flush;
  await simulation.start();

  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    kubeconfigPath,
    scenario,
    timeScale: clock.scale,
    clock,
    get clockAt() {
      return clockAt;
    },
    handle,
    inspect: (request) => http.handle(request),
    measure: (namespace, params) => simulation.measurementAnswer(namespace, params),
    apiChaos: chaos?.stats,
    stop() {
      stopped ??= (async () => {
        saver.stop();
        await gateways.stop();
        await simulation.stop();
        http.closeWatches();
        // Connections are real: their grace period is real time, whatever the cluster's clock.
        const deadline = realClock.now() + STOP_GRACE_MS;
        while (server.inFlight() > 0 && realClock.now() < deadline) await realClock.sleep(20);
        await realClock.sleep(20); // let the last answers be written
        await server.close();
        await saver.saving();
        await save();
        // What api-chaos did, for whoever ran the rehearsal (a test, a bench).
        if (chaos) await writeFileAtomic(`${stateDir}/api-chaos.json`, JSON.stringify(chaos.stats));
        await Deno.remove(kubeconfigPath).catch(() => {});
      })();
      return stopped;
    },
  };
}
