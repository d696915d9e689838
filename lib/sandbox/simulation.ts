/**
 * `Simulation`: runs the controllers, the kubelet, the gateway controller and the traffic
 * generator on the sandbox clock, keeps the Prometheus file_sd targets and the versions first
 * seen, and answers the measurements endpoint.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Api } from "./api.ts";
import { kubeTime } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import type { SandboxClock } from "./clock.ts";
import { EventRecorder } from "./events.ts";
import { DeploymentController } from "./deployments.ts";
import { podReady, ReplicaSetController } from "./replicasets.ts";
import { JobController } from "./jobs.ts";
import { RouteController } from "./routes.ts";
import { Kubelet, podImage, podVersion } from "./kubelet.ts";
import { Measurements } from "./measurements.ts";
import { TrafficGenerator } from "./traffic.ts";
import { isMigrationJob, podBehaviour } from "./scenarios.ts";
import { writeFileAtomic } from "./state.ts";
import { matchesSelectorObject } from "./selectors.ts";
import { Backoff } from "./backoff.ts";

type JsonMap = Record<string, unknown>;
const PODS = findResource("", "v1", "pods") as ResourceType;
const DEPLOYMENTS = findResource("apps", "v1", "deployments") as ResourceType;
const SERVICES = findResource("", "v1", "services") as ResourceType;
const TICK_MS = 40;
/** Without changes, a full controller pass still runs this often (deadlines, backoffs). */
const FULL_PASS_MS = 250;
/** By default, at most this many real requests per second per namespace. */
export const MAX_REAL_RATE = 100;

/** Options for the {@linkcode Simulation}. */
export interface SimulationOptions {
  clock: SandboxClock;
  scenario: string | undefined;
  trafficRate: number;
  maxRealRate?: number;
  stateDir: string;
  versions: Record<string, string[]>;
}

/**
 * Everything that makes the sandbox behave like a cluster: controllers, the kubelet with
 * its pod servers, traffic, measurements, the Prometheus target file and metrics.k8s.io.
 */
export class Simulation {
  /** Per `namespace|image`, versions in the order first deployed (the last is "being deployed"). */
  versions: Record<string, string[]>;
  #api: Api;
  #options: SimulationOptions;
  #events: EventRecorder;
  #deployments: DeploymentController;
  #replicaSets: ReplicaSetController;
  #jobs: JobController;
  #routes: RouteController;
  #kubelet: Kubelet;
  #measurements: Measurements;
  #traffic: TrafficGenerator;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;
  #targets = "";
  #stopped = false;
  #introduced = new Set<string>();
  #proxyTurn = 0;
  #lastRv = -1;
  #nextFull = 0;
  #nextPrune = 0;
  /** A pass that throws (a bug, not an object's failure) pauses the loop, doubling. */
  #passBackoff: Backoff;

  /** @param api The API. @param options Clock, scenario, traffic, state dir, known versions. */
  constructor(api: Api, options: SimulationOptions) {
    this.#api = api;
    this.#options = options;
    this.versions = structuredClone(options.versions);
    const clock = options.clock;
    this.#events = new EventRecorder(api);
    this.#passBackoff = new Backoff({ now: () => clock.nowMs(), baseMs: 250, maxMs: 10_000 });
    this.#deployments = new DeploymentController(api, { clock, events: this.#events });
    this.#replicaSets = new ReplicaSetController(api, { clock, events: this.#events });
    this.#jobs = new JobController(api, { clock, events: this.#events });
    this.#routes = new RouteController(api);
    this.#measurements = new Measurements(clock);
    this.#kubelet = new Kubelet(api, {
      clock,
      events: this.#events,
      hooks: {
        behaviour: (ns, image, version) =>
          podBehaviour(options.scenario, this.#isNewest(`${ns}|${image}`, version)),
        jobFails: (job) =>
          options.scenario === "migration-fails" && isMigrationJob(job.name, job.labels),
        onRequest: (ns, labels, status, latencyMs) =>
          this.#measurements.record(ns, { at: Date.now(), status, latencyMs, labels }),
      },
    });
    const realRate = Math.min(
      options.trafficRate * clock.timeScale,
      options.maxRealRate ?? MAX_REAL_RATE,
    );
    this.#traffic = new TrafficGenerator(api, { ports: () => this.#kubelet.ports(), realRate });
  }

  /**
   * The version being deployed: the newest version of an image in a namespace, first
   * deployed while this sandbox runs (a version restored from an earlier run is not faulted).
   */
  #isNewest(key: string, version: string): boolean {
    const list = this.versions[key];
    return list !== undefined && list[list.length - 1] === version &&
      this.#introduced.has(`${key}|${version}`);
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
        this.#introduced.add(`${key}|${version}`);
        this.#api.store.markDirty();
      }
    }
  }

  /** Start the control loop and the traffic. */
  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.#tick().finally(() => this.#running = undefined);
    }, TICK_MS);
    this.#traffic.start();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || !this.#passBackoff.ready("pass")) return;
    try {
      const store = this.#api.store;
      const now = Date.now();
      if (store.resourceVersion === this.#lastRv && now < this.#nextFull) {
        // Nothing changed: only pods still starting, crashing or running a job move on.
        await this.#kubelet.reconcile({ onlyTransitioning: true });
      } else {
        this.#trackVersions();
        this.#deployments.reconcile();
        this.#replicaSets.reconcile();
        this.#jobs.reconcile();
        this.#routes.reconcile();
        await this.#kubelet.reconcile();
        this.#replicaSets.reconcile();
        this.#deployments.reconcile();
        this.#nextFull = now + FULL_PASS_MS;
      }
      if (store.resourceVersion !== this.#lastRv) await this.#writeTargets();
      this.#lastRv = store.resourceVersion;
      if (now >= this.#nextPrune) {
        this.#measurements.prune(Math.max(600_000, this.#options.clock.toRealMs(3_600_000)));
        this.#nextPrune = now + 1000;
      }
      this.#passBackoff.succeeded("pass");
    } catch (error) {
      const delay = this.#passBackoff.failed("pass");
      if (this.#passBackoff.failures("pass") === 1) {
        console.error(
          `sandbox: controller error (pausing the control loop, next try in ${delay} ms): ${
            (error as Error).stack ?? error
          }`,
        );
      }
    }
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
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#traffic.stop();
    await this.#running;
    await this.#kubelet.stop();
  }

  /** Requests the load generator has sent. */
  get requestsSent(): number {
    return this.#traffic.sent;
  }

  /** metrics.k8s.io NodeMetrics / PodMetrics, derived from the running pods. */
  metrics(type: ResourceType, namespace: string | undefined): KObject[] {
    const now = kubeTime();
    const pods = this.#api.store.scan(PODS, namespace).filter((p) =>
      ((p.status ?? {}) as JsonMap).phase === "Running"
    );
    const usage = (p: KObject) => {
      const seed = [...String(meta(p).uid)].reduce((n, c) => n + c.charCodeAt(0), 0);
      return { cpu: 20 + (seed % 40), memory: 96 + (seed % 64) };
    };
    if (type.kind === "PodMetrics") {
      return pods.map((p) => ({
        kind: "PodMetrics",
        apiVersion: "metrics.k8s.io/v1beta1",
        metadata: {
          name: meta(p).name,
          namespace: meta(p).namespace,
          labels: meta(p).labels ?? {},
          creationTimestamp: now,
        },
        timestamp: now,
        window: "30s",
        containers: (((p.spec as JsonMap).containers ?? []) as JsonMap[]).map((c) => ({
          name: c.name,
          usage: { cpu: `${usage(p).cpu}m`, memory: `${usage(p).memory}Mi` },
        })),
      }));
    }
    const nodes = this.#api.store.scan(findResource("", "v1", "nodes") as ResourceType);
    return nodes.map((n) => {
      const name = String(meta(n).name);
      const mine = pods.filter((p) => (p.spec as JsonMap).nodeName === name);
      const cpu = 350 + mine.reduce((s, p) => s + usage(p).cpu, 0);
      const mem = 2048 + mine.reduce((s, p) => s + usage(p).memory, 0);
      return {
        kind: "NodeMetrics",
        apiVersion: "metrics.k8s.io/v1beta1",
        metadata: { name, labels: meta(n).labels ?? {}, creationTimestamp: now },
        timestamp: now,
        window: "30s",
        usage: { cpu: `${cpu}m`, memory: `${mem}Mi` },
      };
    });
  }

  /** The measurements endpoint: `{ requests, errors, errorRate, p95Ms, window }`. */
  measurements(namespace: string, params: URLSearchParams): Response {
    if (this.#options.scenario === "metrics-down") {
      return Response.json({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the metrics source is unreachable (scenario metrics-down)",
        reason: "ServiceUnavailable",
        code: 503,
      }, { status: 503 });
    }
    const window = params.get("window") ?? "60s";
    try {
      const result = this.#measurements.measure(namespace, {
        window,
        ...(params.get("labelSelector")
          ? { labelSelector: params.get("labelSelector") ?? "" }
          : {}),
      });
      return Response.json({
        kind: "Measurement",
        apiVersion: `${SANDBOX_API_GROUP}/v1`,
        namespace,
        ...result,
      });
    } catch (error) {
      return Response.json({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: (error as Error).message,
        reason: "BadRequest",
        code: 400,
      }, { status: 400 });
    }
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
