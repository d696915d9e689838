/**
 * The Job controller: pods up to parallelism, Complete after completions, Failed after
 * `backoffLimit` (`BackoffLimitExceeded`). Under a Job fault of the sandbox's scenario
 * (`tests-fail`, read from `kube-system/sandbox-info`), a test Job's finished pod ends as a
 * failed test run (exit code 1) instead.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import type { Clock } from "../clock/mod.ts";
import { sinceKube, targetNow } from "./clock.ts";
import type { EventRecorder } from "./events.ts";
import { type ControllerDeps, Deadlines } from "./deadlines.ts";
import { createPodFromTemplate, ownedPods, podReady } from "./replicasets.ts";
import { Backoff, guardedReconcile, reportFailure } from "./backoff.ts";
import { testJobFails } from "./scenarios.ts";

type JsonMap = Record<string, unknown>;
const JOBS = findResource("batch", "v1", "jobs") as ResourceType;
const PODS = findResource("", "v1", "pods") as ResourceType;
const CONFIGMAPS = findResource("", "v1", "configmaps") as ResourceType;
const MANAGER = { manager: "kube-controller-manager" };

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

function finishedAt(pod: KObject): string {
  const statuses = (((pod.status ?? {}) as JsonMap).containerStatuses ?? []) as JsonMap[];
  const terminated = ((statuses[0]?.state ?? {}) as JsonMap).terminated as JsonMap | undefined;
  return String(terminated?.finishedAt ?? meta(pod).creationTimestamp);
}

/**
 * The Job controller: runs pods to Complete, or to Failed after the backoff limit. A Job
 * whose reconcile fails gets a Warning Event `FailedCreate` and is backed off (0.2 s,
 * doubling up to 10 s) instead of being retried on every pass.
 */
export class JobController {
  #api: Api;
  #clock: Clock;
  #events: EventRecorder;
  #deadlines: Deadlines;
  #backoff: Backoff;
  #report: Parameters<typeof reportFailure>[0];

  /**
   * @param api The API.
   * @param deps Clock, event recorder, where a failure's first line goes (default stderr), and
   *   where the end of a pod back-off (or of a reconcile back-off) is reported.
   */
  constructor(api: Api, deps: ControllerDeps) {
    this.#api = api;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#deadlines = deps.deadlines ?? new Deadlines();
    this.#backoff = new Backoff({ now: targetNow(deps.clock) });
    this.#report = {
      record: (obj, event) => deps.events.record(obj, event),
      log: deps.log ?? ((line) => console.error(line)),
      component: "job-controller",
    };
  }

  /** The scenario the sandbox runs (its `kube-system/sandbox-info` ConfigMap says). */
  #scenario(): string | undefined {
    const info = this.#api.store.peek(CONFIGMAPS, "kube-system", "sandbox-info");
    const scenario = ((info?.data ?? {}) as JsonMap).scenario;
    return typeof scenario === "string" ? scenario : undefined;
  }

  /**
   * Under `tests-fail`, a test Job's pod that finished ends as a failed test run: exit code 1
   * (the kubelet leaves finished pods alone), so the Job backs off and fails as a real one.
   */
  #failTestPods(job: KObject, pods: KObject[]): void {
    const labels = (meta(job).labels ?? {}) as Record<string, string>;
    if (!testJobFails(this.#scenario(), labels)) return;
    for (const pod of pods) {
      const status = (pod.status ?? {}) as JsonMap;
      if (status.phase !== "Succeeded") continue;
      const statuses = (status.containerStatuses ?? []) as JsonMap[];
      const next = structuredClone(pod);
      next.status = {
        ...status,
        phase: "Failed",
        containerStatuses: statuses.map((c) => {
          const state = (c.state ?? {}) as JsonMap;
          const terminated = (state.terminated ?? {}) as JsonMap;
          return {
            ...c,
            state: {
              terminated: {
                ...terminated,
                exitCode: 1,
                reason: "Error",
                message: `${labels.suite ?? "test"} tests failed (scenario tests-fail)`,
              },
            },
          };
        }),
      };
      const m = meta(pod);
      this.#api.update(PODS, String(m.namespace), String(m.name), next, {
        manager: "kubelet",
        subresource: "status",
      });
    }
  }

  /** Reconcile every Job once. */
  reconcile(): void {
    const seen = new Set<string>();
    for (const job of this.#api.store.list(JOBS)) {
      const key = String(meta(job).uid);
      seen.add(key);
      guardedReconcile(
        this.#backoff,
        key,
        "FailedCreate",
        () => this.#sync(job),
        reportFailure(this.#report, job),
      );
    }
    this.#backoff.retain(seen);
    const retry = this.#backoff.nextIn();
    if (retry !== undefined) this.#deadlines.in(retry);
  }

  #sync(job: KObject): void {
    const m = meta(job);
    const ns = String(m.namespace);
    const spec = job.spec as JsonMap;
    const prev = (job.status ?? {}) as JsonMap;
    const conditions = (prev.conditions ?? []) as JsonMap[];
    const finished = conditions.some((c) =>
      (c.type === "Complete" || c.type === "Failed") && c.status === "True"
    );
    if (!finished) this.#failTestPods(job, ownedPods(this.#api, ns, m.uid));
    const pods = ownedPods(this.#api, ns, m.uid);
    const phase = (p: KObject) => ((p.status ?? {}) as JsonMap).phase;
    const succeeded = pods.filter((p) => phase(p) === "Succeeded").length;
    const failedPods = pods.filter((p) => phase(p) === "Failed");
    const active = pods.filter((p) => phase(p) !== "Succeeded" && phase(p) !== "Failed");
    const next: JsonMap = structuredClone(prev);
    const now = this.#api.now();
    if (!finished && spec.suspend !== true) {
      const completions = num(spec.completions ?? 1);
      const backoffLimit = num(spec.backoffLimit ?? 6);
      if (succeeded >= completions) {
        next.completionTime = now;
        next.conditions = [
          {
            type: "SuccessCriteriaMet",
            status: "True",
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
            lastProbeTime: now,
            lastTransitionTime: now,
          },
          {
            type: "Complete",
            status: "True",
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
            lastProbeTime: now,
            lastTransitionTime: now,
          },
        ];
        this.#events.record(job, {
          reason: "Completed",
          message: "Job completed",
          component: "job-controller",
        });
      } else if (failedPods.length > backoffLimit) {
        next.conditions = [
          {
            type: "FailureTarget",
            status: "True",
            reason: "BackoffLimitExceeded",
            message: "Job has reached the specified backoff limit",
            lastProbeTime: now,
            lastTransitionTime: now,
          },
          {
            type: "Failed",
            status: "True",
            reason: "BackoffLimitExceeded",
            message: "Job has reached the specified backoff limit",
            lastProbeTime: now,
            lastTransitionTime: now,
          },
        ];
        this.#events.record(job, {
          type: "Warning",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
          component: "job-controller",
        });
      } else if (
        active.length < num(spec.parallelism ?? 1) && succeeded + active.length < completions
      ) {
        const lastFailure = failedPods.map(finishedAt).sort().at(-1);
        const backoffMs = failedPods.length === 0
          ? 0
          : Math.min(360_000, 10_000 * 2 ** (failedPods.length - 1));
        const waited = lastFailure ? sinceKube(this.#clock, lastFailure) : Infinity;
        if (waited < backoffMs) this.#deadlines.in(backoffMs - waited);
        else {
          const uid = String(m.uid);
          const pod = createPodFromTemplate(this.#api, job, {
            template: spec.template as JsonMap,
            namePrefix: String(m.name),
            extraLabels: {
              "batch.kubernetes.io/controller-uid": uid,
              "batch.kubernetes.io/job-name": String(m.name),
              "controller-uid": uid,
              "job-name": String(m.name),
            },
          });
          active.push(pod);
          next.startTime ??= now;
          this.#events.record(job, {
            reason: "SuccessfulCreate",
            message: `Created pod: ${meta(pod).name}`,
            component: "job-controller",
          });
        }
      }
    }
    next.active = active.length;
    next.ready = active.filter(podReady).length;
    next.succeeded = succeeded;
    next.failed = failedPods.length;
    next.terminating = 0;
    next.uncountedTerminatedPods = {};
    for (const k of ["active", "succeeded", "failed"]) if (next[k] === 0) delete next[k];
    if (JSON.stringify(next) === JSON.stringify(prev)) return;
    const updated = structuredClone(job);
    updated.status = next;
    this.#api.update(JOBS, ns, String(m.name), updated, { ...MANAGER, subresource: "status" });
  }
}
