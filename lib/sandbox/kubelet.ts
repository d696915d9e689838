/**
 * The kubelet: pods are scheduled, pulled, started and made Ready over scaled time; Ready
 * pods get a real HTTP server on loopback; scenarios make them crash, fail or start slowly;
 * a container whose Secret, ConfigMap or key is missing waits (`CreateContainerConfigError`)
 * and one whose variables its service would refuse crash-loops (`pod_config.ts`);
 * container logs (one JSON object a line, as the services write them, or plain text where a
 * container's `LOG_FORMAT` says so: `log_format.ts`) are kept for `kubectl logs`.
 * @module
 */
import { commandPodStep, forgetCommandPod, podCommand } from "./pod_command_run.ts";
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import type { Clock } from "../clock/mod.ts";
import { kubeTime, sinceKube } from "./clock.ts";
import type { EventRecorder } from "./events.ts";
import { Deadlines } from "./deadlines.ts";
import type { PodBehaviour } from "./scenarios.ts";
import { PodServer } from "./pod_server.ts";
import { formatLogLine, type LogFormat, podLogFormat } from "./log_format.ts";
import { podFinished, podReady } from "./replicasets.ts";
import {
  checkPodConfig,
  type ContainerView,
  crashSchedule,
  logLine,
  podStatus,
  terminationMessage,
} from "./pod_config.ts";

export { crashSchedule };

/** The annotation a Ready pod carries with its server's `127.0.0.1:<port>`. */
const ADDRESS_ANNOTATION = `${SANDBOX_API_GROUP}/address`;

type JsonMap = Record<string, unknown>;
const PODS = findResource("", "v1", "pods") as ResourceType;
const NODES = findResource("", "v1", "nodes") as ResourceType;
const MANAGER = { manager: "kubelet" };
const CONTAINER_START_MS = 1_000;
const JOB_RUN_MS = 3_000;

/** What the kubelet needs to know about pods from the simulation. */
export interface KubeletHooks {
  /** The behaviour of a pod running `version` in `namespace`. */
  behaviour(
    namespace: string,
    image: string,
    version: string,
    labels: Record<string, string>,
  ): PodBehaviour;
  /** Whether a job pod's job should fail (scenarios migration-fails, tests-fail). */
  jobFails(job: { name: string; labels: Record<string, string> }): boolean;
  /** A request a pod answered. */
  onRequest(
    namespace: string,
    labels: Record<string, string>,
    status: number,
    latencyMs: number,
  ): void;
}

interface Runtime {
  uid: string;
  /** When the kubelet took the pod on (a stamp of the clock). */
  startedAt: number;
  /** Target ms the pod had already lived then (a Ready pod restored from a saved state). */
  offsetMs: number;
  startedIso: string;
  readyIso?: string;
  finishedIso?: string;
  startupMs: number;
  crashes: boolean;
  /** Its container's env resolved (a config error keeps it waiting until it does). */
  configured: boolean;
  /** The last config error told in an Event (each new one is told once). */
  configEvent?: string;
  /** What it says when it crashes on its configuration. */
  crashLine?: string;
  jobFails?: boolean;
  server?: PodServer;
  serverStarting?: boolean;
  logs: string[];
  /** How its container writes log lines (JSON unless its LOG_FORMAT says text). */
  format: LogFormat;
  announced: Set<string>;
  /** Ready with its server up and nothing left to change over time. */
  steady?: boolean;
}

/** The image repository of a pod's first container (without tag or digest). */
export function podImage(pod: KObject): string {
  const image = String((((pod.spec as JsonMap).containers ?? []) as JsonMap[])[0]?.image ?? "");
  const noDigest = image.split("@")[0] ?? "";
  const colon = noDigest.lastIndexOf(":");
  return colon > noDigest.lastIndexOf("/") ? noDigest.slice(0, colon) : noDigest;
}

/** The version a pod runs: its first image's tag, else its `version` label, else `latest`. */
export function podVersion(pod: KObject): string {
  const image = String((((pod.spec as JsonMap).containers ?? []) as JsonMap[])[0]?.image ?? "");
  const noDigest = image.split("@")[0] ?? "";
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  if (colon > slash) return noDigest.slice(colon + 1);
  return ((meta(pod).labels ?? {}) as Record<string, string>).version || "latest";
}

/** The kubelet: schedules pods, runs their simulated lifecycle and their HTTP servers. */
export class Kubelet {
  #api: Api;
  #clock: Clock;
  #events: EventRecorder;
  #hooks: KubeletHooks;
  #deadlines: Deadlines;
  #runtimes = new Map<string, Runtime>();
  #ipCounter = 1;

  /**
   * @param api The API.
   * @param deps Clock, events, simulation hooks, and where the next moment a pod changes by
   *   itself (started, Ready, crashed, job finished) is reported.
   */
  constructor(
    api: Api,
    deps: { clock: Clock; events: EventRecorder; hooks: KubeletHooks; deadlines?: Deadlines },
  ) {
    this.#api = api;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#hooks = deps.hooks;
    this.#deadlines = deps.deadlines ?? new Deadlines();
  }

  /** Loopback addresses of Ready pods: pod uid -> port. */
  ports(): Map<string, number> {
    const out = new Map<string, number>();
    for (const rt of this.#runtimes.values()) if (rt.server) out.set(rt.uid, rt.server.port);
    return out;
  }

  /** The log lines of a pod. */
  logs(uid: string): string[] | undefined {
    return this.#runtimes.get(uid)?.logs;
  }

  /** Run one kubelet pass over all pods. */
  async reconcile(options: { onlyTransitioning?: boolean } = {}): Promise<void> {
    const seen = new Set<string>();
    for (const pod of this.#api.store.scan(PODS)) {
      const uid = String(meta(pod).uid);
      seen.add(uid);
      if (options.onlyTransitioning && this.#runtimes.get(uid)?.steady) continue;
      await this.#sync(pod);
    }
    for (const [uid, rt] of this.#runtimes) {
      if (seen.has(uid)) continue;
      this.#runtimes.delete(uid);
      forgetCommandPod(uid);
      await rt.server?.stop();
    }
  }

  /** Stop every pod server. */
  async stop(): Promise<void> {
    const all = [...this.#runtimes.values()];
    this.#runtimes.clear();
    await Promise.all(all.map((rt) => rt.server?.stop()));
  }

  #schedule(pod: KObject): KObject {
    const nodes = this.#api.store.scan(NODES).map((n) => String(meta(n).name)).sort();
    const counts = new Map(nodes.map((n) => [n, 0]));
    for (const p of this.#api.store.scan(PODS)) {
      const node = String((p.spec as JsonMap).nodeName ?? "");
      if (counts.has(node)) counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    const node = [...counts].sort((a, b) => a[1] - b[1])[0]?.[0] ?? "sandbox-node-1";
    const next = structuredClone(pod);
    (next.spec as JsonMap).nodeName = node;
    const m = meta(pod);
    const updated = this.#api.update(PODS, String(m.namespace), String(m.name), next, {
      manager: "kube-scheduler",
    });
    this.#events.record(updated, {
      reason: "Scheduled",
      message: `Successfully assigned ${m.namespace}/${m.name} to ${node}`,
      component: "default-scheduler",
    });
    return updated;
  }

  #runtime(pod: KObject, isJob: boolean, owner: JsonMap | undefined): Runtime {
    const m = meta(pod);
    const uid = String(m.uid);
    const version = podVersion(pod);
    const podLabels = (m.labels ?? {}) as Record<string, string>;
    const behaviour = this.#hooks.behaviour(String(m.namespace), podImage(pod), version, podLabels);
    const alreadyReady = podReady(pod);
    const startupMs = Math.max(CONTAINER_START_MS, behaviour.startupMs);
    const startedAt = this.#clock.now();
    const rt: Runtime = {
      uid,
      startedAt,
      offsetMs: alreadyReady ? startupMs + 1 : 0,
      startedIso: kubeTime(new Date(startedAt)),
      startupMs,
      crashes: !isJob && behaviour.crashes && !alreadyReady,
      configured: alreadyReady,
      logs: [],
      format: podLogFormat(pod),
      announced: new Set(),
    };
    if (alreadyReady) {
      // Restored from an earlier run: keep its timestamps, do not announce it again.
      const status = (pod.status ?? {}) as JsonMap;
      const first = ((status.containerStatuses ?? []) as JsonMap[])[0];
      const running = ((first?.state ?? {}) as JsonMap).running as JsonMap | undefined;
      const readyCondition = ((status.conditions ?? []) as JsonMap[]).find((c) =>
        c.type === "Ready"
      );
      if (typeof running?.startedAt === "string") rt.startedIso = running.startedAt;
      if (typeof readyCondition?.lastTransitionTime === "string") {
        rt.readyIso = readyCondition.lastTransitionTime;
      }
      rt.announced = new Set(["start", "ready"]);
      const line = `sandbox restarted; container still running version ${version}`;
      rt.logs.push(formatLogLine(
        rt.format,
        logLine(this.#api.now(), line, {
          service: String(
            (((pod.spec as JsonMap).containers ?? []) as JsonMap[])[0]?.name ?? "app",
          ),
          version,
        }),
      ));
    }
    if (isJob) {
      rt.jobFails = this.#hooks.jobFails({ name: String(owner?.name ?? ""), labels: podLabels });
    }
    return rt;
  }

  /** Resolves a container's config before it is created: the kubelet's error, if any. */
  #configure(pod: KObject, rt: Runtime, isJob: boolean): string | undefined {
    const checked = checkPodConfig(this.#api.store, pod, { isJob, image: podImage(pod) });
    const configError = checked.error;
    if (configError !== undefined) {
      rt.startedAt = this.#clock.now(); // the container is created once its config resolves
      rt.startedIso = kubeTime(new Date(rt.startedAt));
      if (rt.configEvent !== configError) {
        rt.configEvent = configError;
        this.#events.record(pod, {
          type: "Warning",
          reason: "Failed",
          message: `Error: ${configError}`,
          component: "kubelet",
        });
      }
      return configError;
    }
    rt.configured = true;
    if (checked.problem) {
      rt.crashes = true;
      rt.crashLine = checked.problem;
    }
    return undefined;
  }

  /** Where the container is `elapsed` ms into its life (and what it logged on the way). */
  #lifecycle(
    pod: KObject,
    rt: Runtime,
    at: { elapsed: number; isJob: boolean; configError: string | undefined },
  ): ContainerView {
    const { elapsed, isJob, configError } = at;
    const m = meta(pod);
    const containers = ((pod.spec as JsonMap).containers ?? []) as JsonMap[];
    const cname = String(containers[0]?.name ?? "app");
    const version = podVersion(pod);
    const now = this.#api.now();
    let phase = "Pending";
    let ready = false;
    let state: JsonMap = configError !== undefined
      ? { waiting: { reason: "CreateContainerConfigError", message: configError } }
      : { waiting: { reason: "ContainerCreating" } };
    let lastState: JsonMap = {};
    let restarts = 0;
    const say = (
      key: string,
      line: string,
      event?: { type?: "Normal" | "Warning"; reason: string; message: string },
    ) => {
      if (rt.announced.has(key)) return;
      rt.announced.add(key);
      rt.logs.push(formatLogLine(rt.format, logLine(now, line, { service: cname, version })));
      if (event) this.#events.record(pod, { ...event, component: "kubelet" });
    };
    if (configError === undefined && elapsed >= CONTAINER_START_MS) {
      phase = "Running";
      state = { running: { startedAt: rt.startedIso } };
      say("start", `starting ${cname} version ${version}`, {
        reason: "Started",
        message: `Started container ${cname}`,
      });
      if (isJob) {
        if (elapsed >= CONTAINER_START_MS + JOB_RUN_MS) {
          rt.finishedIso ??= now;
          const failed = rt.jobFails === true;
          phase = failed ? "Failed" : "Succeeded";
          state = {
            terminated: {
              exitCode: failed ? 1 : 0,
              reason: failed ? "Error" : "Completed",
              startedAt: rt.startedIso,
              finishedAt: rt.finishedIso,
            },
          };
          say(
            "end",
            !failed
              ? "job finished successfully"
              : (m.labels as Record<string, string> | undefined)?.type === "test"
              ? `FAILED: ${
                (m.labels as Record<string, string>).suite ?? "test"
              } tests: 1 failed (simulated failure, scenario tests-fail); exit code 1`
              : `ERROR: migration failed: ${cname} exited with code 1 (simulated failure, scenario migration-fails)`,
          );
        } else say("run", "running job");
      } else if (podCommand(pod)) {
        // A pod that runs a command and ends (kubectl run --restart=Never -- curl …).
        const result = commandPodStep(pod, {
          store: this.#api.store,
          ports: () => this.ports(),
          wake: () => {
            const fresh = this.#api.store.peek(PODS, String(m.namespace), String(m.name));
            if (fresh) void this.#sync(fresh);
          },
        });
        if (!result) {
          ready = true; // no readiness probe: Ready while it runs (kubectl run -i waits for it)
          rt.readyIso ??= now;
        } else {
          rt.finishedIso ??= now;
          phase = result.exitCode === 0 ? "Succeeded" : "Failed";
          state = {
            terminated: {
              exitCode: result.exitCode,
              reason: result.exitCode === 0 ? "Completed" : "Error",
              startedAt: rt.startedIso,
              finishedAt: rt.finishedIso,
            },
          };
          if (!rt.announced.has("output")) {
            rt.announced.add("output");
            const text = new TextDecoder().decode(result.stdout) + result.stderr;
            // Its log is what the command wrote (not a server's start-up line).
            rt.logs.splice(
              0,
              rt.logs.length,
              ...text.split("\n").filter((line, i, all) => line !== "" || i < all.length - 1),
            );
          }
        }
      } else if (rt.crashes) {
        restarts = crashSchedule(elapsed).restarts;
        if (restarts > 0) {
          state = {
            waiting: {
              reason: "CrashLoopBackOff",
              message: `back-off restarting failed container ${cname} in pod ${m.name}`,
            },
          };
          say(
            `crash-${restarts}`,
            rt.crashLine ?? `fatal: version ${version} crashed on start-up (exit code 1)`,
            {
              type: "Warning",
              reason: "BackOff",
              message: `Back-off restarting failed container ${cname} in pod ${m.name}`,
            },
          );
          const message = terminationMessage(containers[0], rt.logs);
          lastState = {
            terminated: {
              exitCode: 1,
              reason: "Error",
              ...(message !== undefined ? { message } : {}),
              startedAt: rt.startedIso,
              finishedAt: rt.startedIso,
            },
          };
        }
      } else if (elapsed >= rt.startupMs) {
        ready = true;
        rt.readyIso ??= now;
        say("ready", `listening, version ${version} ready`);
      }
    }
    return {
      phase,
      ready,
      state,
      lastState,
      restarts,
      started: phase === "Running" && !rt.crashes,
    };
  }

  async #sync(original: KObject): Promise<void> {
    let pod = original;
    const m = meta(pod);
    const ns = String(m.namespace);
    const uid = String(m.uid);
    if (podFinished(pod)) {
      const done = this.#runtimes.get(String(m.uid));
      if (done) done.steady = true;
      return;
    }
    if (!(pod.spec as JsonMap).nodeName) pod = this.#schedule(pod);
    const owner = ((m.ownerReferences ?? []) as JsonMap[]).find((r) => r.controller);
    const isJob = owner?.kind === "Job";
    const version = podVersion(pod);
    let rt = this.#runtimes.get(uid);
    if (!rt) this.#runtimes.set(uid, rt = this.#runtime(pod, isJob, owner));
    const configError = rt.configured ? undefined : this.#configure(pod, rt, isJob);
    const elapsed = sinceKube(this.#clock, rt.startedAt) + rt.offsetMs;
    const prev = (pod.status ?? {}) as JsonMap;
    const node = this.#api.store.peek(NODES, "", String((pod.spec as JsonMap).nodeName));
    const nodeIp = String(
      (((node?.status ?? {}) as JsonMap).addresses as JsonMap[] | undefined)?.[0]?.address ??
        "10.0.0.11",
    );
    const podIP = String(
      prev.podIP ??
        `10.244.${Math.floor(this.#ipCounter / 250) % 250}.${(this.#ipCounter++ % 250) + 2}`,
    );
    const view = this.#lifecycle(pod, rt, { elapsed, isJob, configError });
    const { phase, ready } = view;
    if (ready && !rt.server && !rt.serverStarting) {
      const labels = {
        ...((m.labels ?? {}) as Record<string, string>),
        pod: String(m.name),
        version,
      };
      const image = podImage(pod);
      rt.server = new PodServer({
        namespace: ns,
        name: String(m.name),
        version,
        labels,
        clock: this.#clock,
        behaviour: () => this.#hooks.behaviour(ns, image, version, labels),
        onRequest: (status, latencyMs) => this.#hooks.onRequest(ns, labels, status, latencyMs),
      });
    }
    if (!ready && rt.server) {
      const server = rt.server;
      delete rt.server;
      await server.stop();
    }
    const status = podStatus(pod, view, {
      nodeIp,
      podIP,
      startedIso: rt.startedIso,
      readyIso: rt.readyIso ?? rt.startedIso,
      containersStarted: configError === undefined && elapsed >= CONTAINER_START_MS,
    });
    const finished = phase === "Succeeded" || phase === "Failed";
    const current = this.#api.store.peek(PODS, ns, String(m.name));
    if (!current) return;
    if (JSON.stringify(current.status ?? {}) !== JSON.stringify(status)) {
      const next = structuredClone(current);
      next.status = status;
      this.#api.update(PODS, ns, String(m.name), next, { ...MANAGER, subresource: "status" });
    }
    rt.steady = ready && !rt.crashes;
    // A config error waits for the Secret or ConfigMap to change (a pass runs on every change).
    if (!finished && configError === undefined) this.#reportNextChange(rt, elapsed, isJob, ready);
    if (rt.server) {
      const address = `127.0.0.1:${rt.server.port}`;
      const fresh = this.#api.store.peek(PODS, ns, String(m.name));
      const annotations = ((fresh ? meta(fresh).annotations : undefined) ?? {}) as JsonMap;
      if (fresh && annotations[ADDRESS_ANNOTATION] !== address) {
        const next = structuredClone(fresh);
        meta(next).annotations = { ...annotations, [ADDRESS_ANNOTATION]: address };
        this.#api.update(PODS, ns, String(m.name), next, MANAGER);
      }
    }
  }

  /** When this pod next changes by itself (its start, Ready, next crash, or job's end). */
  #reportNextChange(rt: Runtime, elapsed: number, isJob: boolean, ready: boolean): void {
    if (elapsed < CONTAINER_START_MS) this.#deadlines.in(CONTAINER_START_MS - elapsed);
    else if (isJob) this.#deadlines.in(CONTAINER_START_MS + JOB_RUN_MS - elapsed);
    else if (rt.crashes) this.#deadlines.in(crashSchedule(elapsed).nextInMs);
    else if (!ready) this.#deadlines.in(rt.startupMs - elapsed);
  }
}
