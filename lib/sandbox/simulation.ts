/**
 * `Simulation`: runs the controllers, the kubelet, the gateway controller and the traffic on
 * the cluster's clock, keeps the Prometheus file_sd targets and the versions first seen, and
 * answers the measurements endpoint.
 *
 * The control loop is event-driven: a pass runs when the store changes (its change hook) or
 * when the earliest deadline a controller or the kubelet reported comes (a pod becomes
 * Ready, a crash back-off ends, a progress deadline passes, a Job's pod finishes, a
 * reconcile back-off ends). An idle cluster sets no timer, so a virtual clock stands still;
 * on real and scaled clocks a coarse safety pass runs while something is transitioning.
 * Each pass holds the clock (`clock.track`), from the change that asked for it to its end.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Clock } from "../clock/mod.ts";
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import { targetNow } from "./clock.ts";
import { EventRecorder } from "./events.ts";
import { DeploymentController } from "./deployments.ts";
import { podReady, ReplicaSetController } from "./replicasets.ts";
import { JobController } from "./jobs.ts";
import { RouteController } from "./routes.ts";
import { Kubelet, podImage, podVersion } from "./kubelet.ts";
import {
  type FaultSpec,
  isMigrationJob,
  parseScenario,
  podBehaviour,
  testJobFails,
} from "./scenarios.ts";
import { writeFileAtomic } from "./state.ts";
import { matchesSelectorObject } from "./selectors.ts";
import { Backoff } from "./backoff.ts";
import { Deadlines } from "./deadlines.ts";
import { type MeasureQuery, TrafficGenerator, type TrafficSource } from "./traffic.ts";
import { TrafficModel } from "./traffic_model.ts";
import type { TrafficRates } from "./traffic_rates.ts";
import { serviceProfileOf } from "./traffic_plan.ts";
import { clusterMetrics } from "./node_metrics.ts";

type JsonMap = Record<string, unknown>;
const PODS = findResource("", "v1", "pods") as ResourceType;
const DEPLOYMENTS = findResource("apps", "v1", "deployments") as ResourceType;
const SERVICES = findResource("", "v1", "services") as ResourceType;
/** While something transitions, a wall-clock loop passes at least this often (target ms). */
const SAFETY_PASS_MS = 1_000;
/** ... and at most this often in real ms (a high time scale must not make it spin). */
const MIN_REAL_GAP_MS = 40;
/** The kinds whose changes start no controller pass (nothing in the sandbox reads them). */
const PASSIVE: ReadonlySet<string> = new Set(["leases", "events"]);

/** By default, at most this many real requests per second per namespace. */
export const MAX_REAL_RATE = 100;

/**
 * A clock whose `now()` runs in target time from where it is made (a scaled clock's stamps
 * stay real): what a model counting target seconds needs on any clock.
 */
function targetAxis(clock: Clock): Clock {
  const origin = clock.now();
  return {
    kind: clock.kind,
    scale: clock.scale,
    now: () => origin + clock.since(origin),
    since: (stamp) => origin + clock.since(origin) - stamp,
    sleep: (ms, o) => clock.sleep(ms, o),
    schedule: (ms, fn, o) => clock.schedule(ms, fn, o),
    timeout: (ms) => clock.timeout(ms),
    hold: (what) => clock.hold(what),
    track: (what, work) => clock.track(what, work),
  };
}

/** Options for the {@linkcode Simulation}. */
export interface SimulationOptions {
  /** The cluster's clock (the same as the API's). */
  clock: Clock;
  scenario: string | undefined;
  trafficRate: number;
  maxRealRate?: number;
  stateDir: string;
  versions: Record<string, string[]>;
  /** Seed of the traffic model and of random fault onsets (default 0). */
  randomSeed?: number | string;
  /** The faults (default: the scenario's, `parseScenario(scenario, { seed: randomSeed })`). */
  faults?: readonly FaultSpec[];
  /** Expected traffic per namespace and service (the seed's, `trafficRatesOf(seed)`). */
  rates?: TrafficRates;
}

/**
 * Everything that makes the sandbox behave like a cluster: controllers, the kubelet with
 * its pod servers, traffic, measurements, the Prometheus target file and metrics.k8s.io.
 */
export class Simulation {
  /** Per `namespace|image`, versions in the order first deployed (the last is "being deployed"). */
  versions: Record<string, string[]>;
  #api: Api;
  #clock: Clock;
  #now: () => number;
  #options: SimulationOptions;
  #events: EventRecorder;
  #deadlines = new Deadlines();
  #deployments: DeploymentController;
  #replicaSets: ReplicaSetController;
  #jobs: JobController;
  #routes: RouteController;
  #kubelet: Kubelet;
  #traffic: TrafficSource;
  #faults: readonly FaultSpec[];
  #rates: TrafficRates;
  #loop: Promise<void> | undefined;
  #requested = false;
  #wake: { due: number; cancel: () => void } | undefined;
  #unsubscribe: (() => void) | undefined;
  #targets = "";
  #stopped = false;
  /** `namespace|image|version` first deployed while this sandbox runs → when (clock stamp). */
  #introduced = new Map<string, number>();
  #proxyTurn = 0;
  #lastRv = -1;
  /** Passes run so far (a test's measure of a loop that does not spin). */
  passes = 0;
  /** A pass that throws (a bug, not an object's failure) pauses the loop, doubling. */
  #passBackoff: Backoff;

  /** @param api The API. @param options Clock, scenario, traffic, state dir, known versions. */
  constructor(api: Api, options: SimulationOptions) {
    this.#api = api;
    this.#options = options;
    this.versions = structuredClone(options.versions);
    const clock = this.#clock = options.clock;
    this.#now = targetNow(clock);
    this.#events = new EventRecorder(api);
    this.#passBackoff = new Backoff({ now: this.#now, baseMs: 250, maxMs: 10_000 });
    const deps = { clock, events: this.#events, deadlines: this.#deadlines };
    this.#deployments = new DeploymentController(api, deps);
    this.#replicaSets = new ReplicaSetController(api, deps);
    this.#jobs = new JobController(api, deps);
    this.#routes = new RouteController(api);
    this.#faults = options.faults ??
      parseScenario(options.scenario, { seed: options.randomSeed ?? 0 });
    this.#rates = options.rates ?? {};
    let record: (ns: string, l: Record<string, string>, s: number, ms: number) => void = () => {};
    this.#kubelet = new Kubelet(api, {
      ...deps,
      hooks: {
        behaviour: (ns, image, version, labels) => this.#behaviour(ns, image, version, labels),
        jobFails: (job) =>
          (this.#faults.some((f) => f.kind === "migration") &&
            isMigrationJob(job.name, job.labels)) ||
          testJobFails(this.#scenarioNow(), job.labels),
        onRequest: (ns, labels, status, latencyMs) => record(ns, labels, status, latencyMs),
      },
    });
    // The gates' measurements are drawn at the environment's expected rates on every clock
    // (the same seed, the same numbers): real requests at a scaled clock's pace are far too
    // few for production-rate evidence. Real and scaled clocks also send real requests to
    // the pods, so their /metrics (and a Prometheus scraping them) see real traffic.
    const model = new TrafficModel(api, {
      clock: clock.kind === "virtual" ? clock : targetAxis(clock),
      seed: options.randomSeed ?? 0,
      faults: this.#faults,
      rates: this.#rates,
      defaultRate: options.trafficRate,
      versions: options.versions,
    });
    if (clock.kind === "virtual") {
      // Real requests cannot follow jumping time: each interval's requests are drawn.
      this.#traffic = model;
    } else {
      const realRate = Math.min(
        options.trafficRate * clock.scale,
        options.maxRealRate ?? MAX_REAL_RATE,
      );
      const generator = new TrafficGenerator(api, {
        clock,
        ports: () => this.#kubelet.ports(),
        realRate,
      });
      this.#traffic = {
        start: () => generator.start(),
        stop: () => generator.stop(),
        observe: () => model.observe(),
        measure: (namespace, query) => model.measure(namespace, query),
        get sent() {
          return generator.sent;
        },
      };
      record = (ns, labels, status, latencyMs) =>
        generator.measurements.record(ns, { at: clock.now(), status, latencyMs, labels });
    }
  }

  /** The scenario as `kube-system/sandbox-info` says now (the Jobs' faults are read there). */
  #scenarioNow(): string | undefined {
    const cm = findResource("", "v1", "configmaps")!;
    const info = this.#api.store.peek(cm, "kube-system", "sandbox-info");
    const scenario = (info?.data as Record<string, unknown> | undefined)?.scenario;
    return typeof scenario === "string" ? scenario : undefined;
  }

  /** How a pod of `version` behaves now: the faults, from the moment its version came. */
  #behaviour(ns: string, image: string, version: string, labels: Record<string, string>) {
    const service = labels.service ?? labels.app;
    const at = this.#isNewest(`${ns}|${image}`, version);
    const expected = service ? this.#rates[ns]?.[service] : undefined;
    return podBehaviour(this.#faults, at !== undefined, {
      ...(at !== undefined ? { sinceDeployMs: this.#clock.since(at) } : {}),
      // Real pods answer a few hundred requests a window: no baseline errors there.
      ...(expected ? { profile: { ...serviceProfileOf(expected), errorRate: 0 } } : {}),
      ...(service ? { service } : {}),
    });
  }

  /**
   * When the version being deployed came (a clock stamp), or undefined for any other: the
   * newest version of an image in a namespace, first deployed while this sandbox runs (a
   * version restored from an earlier run is not faulted).
   */
  #isNewest(key: string, version: string): number | undefined {
    const list = this.versions[key];
    if (list === undefined || list[list.length - 1] !== version) return undefined;
    return this.#introduced.get(`${key}|${version}`);
  }

  #trackVersions(): void {
    for (const d of this.#api.store.scan(DEPLOYMENTS)) {
      const ns = String(meta(d).namespace);
      const template = ((d.spec ?? {}) as JsonMap).template as JsonMap | undefined;
      const pod = { metadata: template?.metadata ?? {}, spec: template?.spec ?? {} };
      const key = `${ns}|${podImage(pod)}`;
      const version = podVersion(pod);
      const list = this.versions[key] ??= [];
      if (!list.includes(version)) {
        list.push(version);
        this.#introduced.set(`${key}|${version}`, this.#clock.now());
        this.#api.store.markDirty();
      }
    }
  }

  /** Start the control loop (a first pass, then on changes and deadlines) and the traffic. */
  async start(): Promise<void> {
    // Leases and Events are written often (a deploy's lock renews every few seconds) and no
    // controller, pod or route reads them: a change to one needs no pass.
    this.#unsubscribe = this.#api.store.subscribe((change) => {
      if (!PASSIVE.has(change.resource.plural)) this.#request();
    });
    this.#request();
    await this.#loop;
    this.#traffic.start();
  }

  /** Ask for a pass: the clock is held from now until the passes asked for have run. */
  #request(): void {
    if (this.#stopped) return;
    this.#requested = true;
    this.#loop ??= this.#clock.track("sandbox pass", this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      await Promise.resolve(); // a burst of changes (one request's writes) makes one pass
      while (this.#requested && !this.#stopped) {
        this.#requested = false;
        await this.#clock.track("sandbox pass", this.#pass());
      }
    } finally {
      this.#loop = undefined;
    }
  }

  async #pass(): Promise<void> {
    this.#deadlines.reset();
    if (!this.#passBackoff.ready("pass")) {
      this.#deadlines.in(this.#passBackoff.nextIn() ?? 0);
      return this.#planWake();
    }
    this.passes++;
    try {
      const store = this.#api.store;
      this.#trackVersions();
      this.#deployments.reconcile();
      this.#replicaSets.reconcile();
      this.#jobs.reconcile();
      this.#routes.reconcile();
      await this.#kubelet.reconcile();
      this.#replicaSets.reconcile();
      this.#deployments.reconcile();
      if (store.resourceVersion !== this.#lastRv) {
        await this.#writeTargets();
        this.#traffic.observe();
      }
      this.#lastRv = store.resourceVersion;
      this.#passBackoff.succeeded("pass");
    } catch (error) {
      const delay = this.#passBackoff.failed("pass");
      this.#deadlines.in(delay);
      if (this.#passBackoff.failures("pass") === 1) {
        console.error(
          `sandbox: controller error (pausing the control loop, next try in ${delay} ms): ${
            (error as Error).stack ?? error
          }`,
        );
      }
    }
    this.#planWake();
  }

  /** One timer at the earliest deadline (none when nothing changes by itself). */
  #planWake(): void {
    let delay = this.#deadlines.next;
    if (delay !== undefined && this.#clock.kind !== "virtual") {
      const minimum = MIN_REAL_GAP_MS * this.#clock.scale;
      delay = Math.max(Math.min(delay, Math.max(SAFETY_PASS_MS, minimum)), this.#clock.scale);
    }
    if (delay === undefined || this.#stopped) {
      this.#wake?.cancel();
      this.#wake = undefined;
      return;
    }
    const due = this.#now() + delay;
    if (this.#wake?.due === due) return;
    this.#wake?.cancel();
    const wake = {
      due,
      cancel: this.#clock.schedule(delay, () => {
        if (this.#wake === wake) this.#wake = undefined;
        this.#request();
      }),
    };
    this.#wake = wake;
  }

  async #writeTargets(): Promise<void> {
    const ports = this.#kubelet.ports();
    const groups = [];
    for (const pod of this.#api.store.scan(PODS)) {
      const m = meta(pod);
      const port = ports.get(String(m.uid));
      if (!port || !podReady(pod)) continue;
      const labels = (m.labels ?? {}) as Record<string, string>;
      groups.push({
        targets: [`127.0.0.1:${port}`],
        labels: {
          namespace: String(m.namespace),
          service: labels.service ?? labels.app ?? "",
          slot: labels.slot ?? "",
          version: podVersion(pod),
          pod: String(m.name),
        },
      });
    }
    groups.sort((a, b) => a.labels.pod.localeCompare(b.labels.pod));
    const text = JSON.stringify(groups, null, 2);
    if (text === this.#targets) return;
    this.#targets = text;
    await writeFileAtomic(`${this.#options.stateDir}/prometheus-targets.json`, text);
  }

  /** Stop traffic, the control loop and every pod server. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#wake?.cancel();
    this.#wake = undefined;
    await this.#traffic.stop();
    await this.#loop;
    await this.#clock.track("sandbox pods stop", this.#kubelet.stop());
  }

  /** The timer the loop waits on (target ms from now), or undefined when idle. */
  get nextWakeIn(): number | undefined {
    return this.#wake ? Math.max(0, this.#wake.due - this.#now()) : undefined;
  }

  /** Requests the traffic has sent (or drawn). */
  get requestsSent(): number {
    return this.#traffic.sent;
  }

  /** metrics.k8s.io NodeMetrics / PodMetrics, derived from the running pods. */
  metrics(type: ResourceType, namespace: string | undefined): KObject[] {
    return clusterMetrics(this.#api, type, namespace);
  }

  /**
   * The measurements endpoint: `{ requests, errors, errorRate, p95Ms, window }` over the
   * query's `window`, `labelSelector`, `over` (ms) and `samples` (a count); 400 for a bad one.
   */
  measurements(namespace: string, params: URLSearchParams): Response {
    const { status, body } = this.measurementAnswer(namespace, params);
    return Response.json(body, { status });
  }

  /**
   * {@linkcode Simulation.measurements}' answer as its status and (JSON-able, fresh) body:
   * for a caller in this process, without a Response to encode and decode.
   */
  measurementAnswer(
    namespace: string,
    params: URLSearchParams,
  ): { status: number; body: Record<string, unknown> } {
    const failure = (code: number, reason: string, message: string) => ({
      status: code,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message,
        reason,
        code,
      },
    });
    if (this.#metricsDown()) {
      return failure(
        503,
        "ServiceUnavailable",
        "the metrics source is unreachable (scenario metrics-down)",
      );
    }
    try {
      const result = this.#traffic.measure(namespace, measureQuery(params));
      return {
        status: 200,
        body: {
          kind: "Measurement",
          apiVersion: `${SANDBOX_API_GROUP}/v1`,
          namespace,
          ...result,
        },
      };
    } catch (error) {
      return failure(400, "BadRequest", (error as Error).message);
    }
  }

  /**
   * Whether the metrics source is down: a `metrics-down` fault from the start, or one whose
   * onset has passed since the newest version being deployed came.
   */
  #metricsDown(): boolean {
    const down = this.#faults.filter((f) => f.kind === "metrics-down");
    if (down.length === 0) return false;
    if (down.some((f) => f.onsetMs === 0)) return true;
    if (this.#introduced.size === 0) return false;
    const since = Math.min(...[...this.#introduced.values()].map((at) => this.#clock.since(at)));
    return down.some((f) => since >= f.onsetMs);
  }

  /** The loopback port of a Ready pod, or of one Ready pod behind a Service (round robin). */
  proxyPort(
    namespace: string,
    target: { kind: "pods" | "services"; name: string },
  ): number | undefined {
    const ports = this.#kubelet.ports();
    if (target.kind === "pods") {
      const pod = this.#api.store.peek(PODS, namespace, target.name);
      return pod ? ports.get(String(meta(pod).uid)) : undefined;
    }
    const svc = this.#api.store.peek(SERVICES, namespace, target.name);
    const selector = ((svc?.spec ?? {}) as JsonMap).selector as Record<string, string> | undefined;
    if (!selector) return undefined;
    const candidates = this.#api.store.scan(PODS, namespace).filter((p) =>
      podReady(p) &&
      matchesSelectorObject({ matchLabels: selector }, meta(p).labels as Record<string, string>) &&
      ports.has(String(meta(p).uid))
    );
    const pick = candidates[this.#proxyTurn++ % Math.max(1, candidates.length)];
    return pick ? ports.get(String(meta(pick).uid)) : undefined;
  }

  /** A pod's simulated log. */
  podLog(namespace: string, name: string): string | undefined {
    const pod = this.#api.store.peek(PODS, namespace, name);
    if (!pod) return undefined;
    const lines = this.#kubelet.logs(String(meta(pod).uid)) ?? [];
    return lines.length ? lines.join("\n") + "\n" : "";
  }
}

/** The measurements endpoint's query; a RangeError (a 400) for a bad `over` or `samples`. */
function measureQuery(params: URLSearchParams): MeasureQuery {
  const number = (name: string, integer: boolean): number | undefined => {
    const text = params.get(name);
    if (text === null || text === "") return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
      throw new RangeError(
        `Cannot use ${name}=${text}: expected ${
          integer ? "a whole number" : "a number of milliseconds"
        } >= 0`,
      );
    }
    return n;
  };
  const over = number("over", false);
  const samples = number("samples", true);
  const labelSelector = params.get("labelSelector");
  return {
    window: params.get("window") ?? "60s",
    ...(labelSelector ? { labelSelector } : {}),
    ...(over !== undefined ? { over } : {}),
    ...(samples !== undefined ? { samples } : {}),
  };
}
