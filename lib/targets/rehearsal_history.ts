/**
 * What a sandbox rehearsal gives the cluster before the rehearsed deploy, so that its gates
 * read the same records a real cluster holds: the backup CronJobs' history (a namespace
 * without any backup Job gets its CronJobs' first runs), and, for an environment that is
 * promoted from another (`deployment.promote_from`), the version deployed to that environment
 * first, in the same sandbox, through the same pipeline — unless its record already shows the
 * version succeeded there. The gate then reads that record: nothing is assumed.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { SandboxTarget } from "./sandbox.ts";
import { bystanderFetch } from "./bystander.ts";

/**
 * What these need of a sandbox: its API (URL, token) and its clock (a `SandboxTarget`, or a
 * rehearsal's `SandboxAccess`).
 *
 * @example
 * ```ts
 * import type { SandboxApi } from "./rehearsal_history.ts";
 * import { realClock } from "../clock/mod.ts";
 * const api: SandboxApi = { url: "http://127.0.0.1:6443", token: "t", clock: realClock };
 * ```
 */
export type SandboxApi = Pick<SandboxTarget, "url" | "token" | "clock"> & {
  /** A sandbox in this process: answered unfaulted (the records are set up, not deployed). */
  readonly inspect?: SandboxTarget["inspect"];
};

type Json = Record<string, unknown>;

/** The backup CronJobs run daily: a rehearsal stands in for a run that was due. */
const DAY_MS = 24 * 3_600_000;

/** The sandbox's API, as a client reaches it (tracked on its clock: real work). */
async function call(
  sandbox: SandboxApi,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  // Under api-chaos the history is still written: it stands for what the cluster holds.
  const work = bystanderFetch(sandbox.url, sandbox.token, sandbox.inspect)(path, {
    method,
    ...(body
      ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
      : {}),
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json().catch(() => ({}))) as Json,
  }));
  return await sandbox.clock.track(`sandbox ${method} ${path}`, work);
}

function jobDone(job: Json): "Complete" | "Failed" | undefined {
  const conditions = ((job.status as Json | undefined)?.conditions ?? []) as Json[];
  const c = conditions.find((x) =>
    (x.type === "Complete" || x.type === "Failed") &&
    x.status === "True"
  );
  return c?.type as "Complete" | "Failed" | undefined;
}

function cronJob(namespace: string, name: string, type: string, image: string): Json {
  const labels = { type };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace, labels },
    spec: {
      schedule: type === "backup" ? "0 3 * * *" : "30 4 * * *",
      concurrencyPolicy: "Forbid",
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: 1,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              containers: [{ name: type, image, args: [type] }],
            },
          },
        },
      },
    },
  };
}

/** Runs one Job from a CronJob's template (`kubectl create job --from=cronjob/<name>`). */
async function runOnce(
  sandbox: SandboxApi,
  namespace: string,
  cron: Json,
): Promise<{ name: string; state: string }> {
  const meta = cron.metadata as Json;
  const template = ((cron.spec as Json).jobTemplate ?? {}) as Json;
  const name = `${meta.name}-${Math.floor(sandbox.clock.now() / 60_000)}`;
  const jobs = `/apis/batch/v1/namespaces/${namespace}/jobs`;
  const created = await call(sandbox, "POST", jobs, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace,
      labels: (template.metadata as Json | undefined)?.labels ?? {},
      annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
      ownerReferences: [{
        apiVersion: "batch/v1",
        kind: "CronJob",
        name: meta.name,
        uid: meta.uid,
        controller: true,
      }],
    },
    spec: template.spec,
  });
  if (created.status >= 300) {
    throw new Error(
      `Cannot run ${meta.name} in the sandbox: ${created.status} ${String(created.body.message)}`,
    );
  }
  // The Job controller runs it on the sandbox's clock: look again every (sandbox) second.
  for (let i = 0; i < 600; i++) {
    const job = await call(sandbox, "GET", `${jobs}/${name}`);
    const done = jobDone(job.body);
    if (done) return { name, state: done };
    await sandbox.clock.sleep(1_000);
  }
  return { name, state: "still running after 10 minutes" };
}

/**
 * Gives a namespace of the sandbox its backup history: the environment's backup CronJobs
 * (`backup.cronjob`, `backup.verification_cronjob`; created when missing, as the platform
 * team provisions them) and, when none of their Jobs started in the last day, one run of each
 * (what their daily schedule would have done: the sandbox schedules no CronJobs). A Job of the
 * last day is kept however it ended: the pre-flight judges it.
 *
 * @param sandbox The sandbox.
 * @param env The environment (its namespace, `backup:` section and image registry).
 * @returns One line per change, for the output.
 *
 * @example
 * ```ts ignore
 * for (const line of await ensureBackupHistory(sandbox, env)) view.line(`sandbox: ${line}`);
 * ```
 */
export async function ensureBackupHistory(
  sandbox: SandboxApi,
  env: Environment,
): Promise<string[]> {
  const b = env.backup;
  if (!b) return [];
  const ns = env.environment.namespace;
  const image = `${env.deployment.image_registry}/database-backup:1.0.0`;
  const lines: string[] = [];
  const wanted: [string, string][] = [[b.cronjob, "backup"]];
  if (b.verification_cronjob) wanted.push([b.verification_cronjob, "backup-verification"]);
  for (const [name, type] of wanted) {
    const path = `/apis/batch/v1/namespaces/${ns}/cronjobs`;
    let cron = await call(sandbox, "GET", `${path}/${name}`);
    if (cron.status === 404) {
      cron = await call(sandbox, "POST", path, cronJob(ns, name, type, image));
      if (cron.status >= 300) {
        throw new Error(
          `Cannot create CronJob ${name} in the sandbox: ${String(cron.body.message)}`,
        );
      }
      lines.push(`${ns}: created CronJob ${name} (${type})`);
    }
    const jobs = await call(
      sandbox,
      "GET",
      `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=${encodeURIComponent(`type=${type}`)}`,
    );
    const started = ((jobs.body.items ?? []) as Json[]).map((j) =>
      Date.parse(String((j.metadata as Json).creationTimestamp))
    ).filter((t) => !Number.isNaN(t));
    const last = started.length ? Math.max(...started) : undefined;
    if (last !== undefined && sandbox.clock.now() - last < DAY_MS) continue;
    const run = await runOnce(sandbox, ns, cron.body);
    lines.push(
      last === undefined
        ? `${ns}: no ${type} had run yet: ran ${name} once (Job ${run.name}: ${run.state})`
        : `${ns}: ${name}'s daily run was due (the sandbox schedules no CronJobs): ran it (Job ${run.name}: ${run.state})`,
    );
  }
  return lines;
}

/**
 * The version an environment's deployment record says last succeeded there (its `release`),
 * read from the sandbox; null when none.
 *
 * @param sandbox The sandbox.
 * @param namespace The environment's namespace.
 * @returns The release's version and run, or null.
 *
 * @example
 * ```ts ignore
 * const release = await releasedVersion(sandbox, "shop-staging");
 * ```
 */
export async function releasedVersion(
  sandbox: SandboxApi,
  namespace: string,
): Promise<{ version: string; runId: string } | null> {
  const cm = await call(
    sandbox,
    "GET",
    `/api/v1/namespaces/${namespace}/configmaps/deployment-info`,
  );
  const text = ((cm.body.data ?? {}) as Record<string, string>).release;
  if (cm.status !== 200 || !text) return null;
  try {
    const release = JSON.parse(text) as { version?: unknown; runId?: unknown; state?: unknown };
    return typeof release.version === "string" && release.state === "succeeded"
      ? { version: release.version, runId: String(release.runId) }
      : null;
  } catch {
    return null;
  }
}
