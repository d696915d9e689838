/**
 * Test hooks as Kubernetes Jobs: a suite (smoke, integration, ...) runs as a Job labelled
 * `type=test` and `suite=<name>` in the namespace, and {@linkcode testJobPassed} creates it,
 * waits on the run's clock until it completes or fails, and passes only when it completed.
 * A failure names the Job's condition (e.g. `BackoffLimitExceeded`), the pod's last exit code
 * and its reason, so the report says why the tests failed, not only that they did.
 * @module
 */
import type { Check, CheckOutcome, StageContext } from "../lib/dsl/types.ts";
import type { KindRef, KubeObject, KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { fail, pass } from "./_outcome.ts";
import type { CommonCheckOptions } from "./options.ts";

const JOB: KindRef = { apiVersion: "batch/v1", kind: "Job" };
const POD: KindRef = { apiVersion: "v1", kind: "Pod" };

/** One test suite run as a Job. */
export interface TestJobSpec {
  /** The Job's name (unique per run, e.g. `smoke-tests-1-2-4-<run>`). */
  readonly name: string;
  /** The suite (`smoke`, `integration`): the Job's `suite` label. */
  readonly suite: string;
  /** The image that holds the tests. */
  readonly image: string;
  /** The command that runs them (exit 0: passed). */
  readonly command: readonly string[];
  /** Environment variables of the test container. */
  readonly env?: Readonly<Record<string, string>>;
  /** More labels (e.g. `version`); `type=test` and `suite` are always set. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Retries of a failed pod before the Job fails (default 0: a test run is not retried). */
  readonly backoffLimit?: number;
}

/**
 * The Job manifest of a test suite: labels `type=test` and `suite` on the Job and its pod,
 * `restartPolicy: Never`, the given backoff limit (default 0).
 *
 * @param namespace The namespace.
 * @param spec The suite.
 * @returns The manifest (server-side apply).
 *
 * @example
 * ```ts
 * import { testJobManifest } from "./test_jobs.ts";
 * import assert from "node:assert/strict";
 * const job = testJobManifest("shop-staging", {
 *   name: "smoke-tests-1",
 *   suite: "smoke",
 *   image: "registry.example/shop:1.0.0",
 *   command: ["./scripts/smoke-tests.sh", "staging"],
 * });
 * assert.equal(job.metadata.labels?.type, "test");
 * ```
 */
export function testJobManifest(namespace: string, spec: TestJobSpec): KubeObject {
  const labels = { ...spec.labels, type: "test", suite: spec.suite };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: spec.name, namespace, labels },
    spec: {
      backoffLimit: spec.backoffLimit ?? 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          containers: [{
            name: `${spec.suite}-tests`,
            image: spec.image,
            command: [...spec.command],
            env: Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value })),
          }],
        },
      },
    },
  };
}

type JsonMap = Record<string, unknown>;

/** The Job's `Complete` or `Failed` condition, once it has one that is True. */
function finished(job: KubeObject): { type: string; reason: string; message: string } | null {
  const conditions = (((job as JsonMap).status as JsonMap | undefined)?.conditions ??
    []) as JsonMap[];
  const done = conditions.find((c) =>
    (c.type === "Complete" || c.type === "Failed") && c.status === "True"
  );
  return done
    ? {
      type: String(done.type),
      reason: String(done.reason ?? ""),
      message: String(done.message ?? ""),
    }
    : null;
}

/** The last terminated container of the Job's pods: exit code, reason, message. */
async function lastExit(k: KubernetesCapability, namespace: string, name: string) {
  const pods = await k.list(POD, namespace, { labelSelector: `job-name=${name}` });
  const exits = pods.flatMap((p) => {
    const statuses = (((p as JsonMap).status as JsonMap | undefined)?.containerStatuses ??
      []) as JsonMap[];
    return statuses.map((s) => ((s.state as JsonMap | undefined)?.terminated ?? null))
      .filter((t): t is JsonMap => t !== null)
      .map((t) => ({
        pod: p.metadata.name,
        exitCode: Number(t.exitCode),
        reason: String(t.reason ?? ""),
        ...(t.message ? { message: String(t.message) } : {}),
        finishedAt: String(t.finishedAt ?? ""),
      }));
  });
  return {
    pods: pods.length,
    last: exits.sort((a, b) => a.finishedAt < b.finishedAt ? -1 : 1).at(-1),
  };
}

/** Options for {@linkcode testJobPassed}. */
export interface TestJobOptions extends CommonCheckOptions {
  /** The longest the suite may run, in target ms (default 15 minutes). */
  readonly timeoutMs?: number;
  /** How often its status is read, in target ms (default 2 000). */
  readonly pollMs?: number;
  /** Delete earlier Jobs of the same suite first (default true), so the latest run is the record. */
  readonly replacePrevious?: boolean;
}

async function waitForJob(
  k: KubernetesCapability,
  ctx: StageContext,
  namespace: string,
  spec: TestJobSpec,
  options: TestJobOptions,
): Promise<CheckOutcome> {
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const started = ctx.now();
  const evidence: JsonMap = { namespace, job: spec.name, suite: spec.suite, image: spec.image };
  for (;;) {
    const job = await k.get(JOB, namespace, spec.name);
    if (!job) return fail(`Job ${namespace}/${spec.name} disappeared while running`, evidence);
    const done = finished(job);
    const status = ((job as JsonMap).status ?? {}) as JsonMap;
    evidence.succeeded = Number(status.succeeded ?? 0);
    evidence.failed = Number(status.failed ?? 0);
    evidence.durationMs = ctx.now() - started;
    if (done) {
      const exit = await lastExit(k, namespace, spec.name);
      Object.assign(evidence, { condition: done, pods: exit.pods, lastExit: exit.last ?? null });
      if (done.type === "Complete") {
        return pass(`${spec.suite} tests passed (Job ${spec.name} completed)`, evidence);
      }
      const code = exit.last ? `; last exit code ${exit.last.exitCode} (${exit.last.reason})` : "";
      return fail(
        `${spec.suite} tests failed: Job ${namespace}/${spec.name} ${
          done.reason || "failed"
        }${code}` +
          ` — see kubectl logs -n ${namespace} job/${spec.name}`,
        evidence,
      );
    }
    if (ctx.now() - started >= timeoutMs) {
      return fail(
        `${spec.suite} tests did not finish within ${Math.round(timeoutMs / 1000)} s ` +
          `(Job ${namespace}/${spec.name} still running): see kubectl describe job ${spec.name}`,
        evidence,
      );
    }
    await ctx.sleep(options.pollMs ?? 2_000);
  }
}

/**
 * Runs a test suite as a Job and passes when the Job completed: created (earlier Jobs of the
 * same suite and `version`-less history replaced), then read on the run's clock until its
 * `Complete` or `Failed` condition.
 *
 * @param namespace The namespace.
 * @param spec The suite's Job.
 * @param options Deadline, poll interval, replace earlier runs, name, required.
 * @returns The check; evidence: job, suite, image, succeeded, failed, condition, lastExit, durationMs.
 *
 * @example
 * ```ts
 * import { testJobPassed } from "./test_jobs.ts";
 * import assert from "node:assert/strict";
 * const check = testJobPassed("shop-staging", {
 *   name: "smoke-tests-1",
 *   suite: "smoke",
 *   image: "registry.example/shop:1.0.0",
 *   command: ["./scripts/smoke-tests.sh"],
 * });
 * assert.equal(check.name, "smoke tests");
 * ```
 */
export function testJobPassed(
  namespace: string,
  spec: TestJobSpec,
  options: TestJobOptions = {},
): Check {
  const name = options.name ?? `${spec.suite} tests`;
  return {
    name,
    required: options.required ?? true,
    async run(ctx) {
      const k = ctx.use<KubernetesCapability>("kubernetes");
      try {
        if (options.replacePrevious ?? true) {
          const earlier = await k.list(JOB, namespace, {
            labelSelector: `type=test,suite=${spec.suite}`,
          });
          for (const job of earlier) {
            const old = job.metadata.name;
            if (old === spec.name) continue;
            // A Job deleted through the API orphans its pods (batch/v1's default): delete them too.
            await k.delete(JOB, namespace, old);
            for (const pod of await k.list(POD, namespace, { labelSelector: `job-name=${old}` })) {
              await k.delete(POD, namespace, pod.metadata.name);
            }
          }
        }
        await k.apply(testJobManifest(namespace, spec));
        ctx.log(`Job ${namespace}/${spec.name} created (${spec.command.join(" ")})`);
        return await waitForJob(k, ctx, namespace, spec, options);
      } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
        return fail(`${name}: cannot run Job ${namespace}/${spec.name}: ${message}`, {
          namespace,
          job: spec.name,
          error: message,
        });
      }
    },
  };
}
