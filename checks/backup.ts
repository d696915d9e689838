/**
 * Backup checks: a recent backup file exists (the seed's `find /backups/database
 * -name '*<yesterday>*'`, done properly: by modification time), and the latest backup
 * verification log says PASSED (need `read` on the folder); or, where backups run as a
 * Kubernetes CronJob, the same read from the cluster's record of its Jobs
 * ({@linkcode recentBackupJob}, needs `uses("kubernetes")`).
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import { describeError } from "../lib/probes/timeout.ts";
import { type CommonCheckOptions, fail, pass, toMs } from "./_outcome.ts";
import { kubeCheck } from "./kubernetes_check.ts";

/** Options for {@linkcode recentBackup}. */
export interface RecentBackupOptions extends CommonCheckOptions {
  /** File names must match this (default: any file). */
  readonly pattern?: RegExp;
  /** The newest match must be younger than this (default `"24h"`). */
  readonly maxAge?: string | number;
  /** And at least this big (default 1 byte: an empty dump is no backup). */
  readonly minSizeBytes?: number;
  /** Search sub-folders up to this depth (default 3). */
  readonly maxDepth?: number;
  /** The clock (for tests). */
  readonly now?: () => number;
}

interface Found {
  path: string;
  mtime: number;
  size: number;
}

async function walk(dir: string, depth: number, pattern: RegExp | undefined, out: Found[]) {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir.replace(/\/+$/, "")}/${entry.name}`;
    if (entry.isDirectory && depth > 0) await walk(path, depth - 1, pattern, out);
    else if (entry.isFile && (!pattern || pattern.test(entry.name))) {
      const info = await Deno.stat(path);
      out.push({ path, mtime: info.mtime?.getTime() ?? 0, size: info.size });
    }
  }
}

/**
 * A backup file newer than `maxAge` (and not empty) exists under `dir`.
 *
 * @param dir The backup folder, e.g. `/backups/database`.
 * @param options Pattern, max age, min size, depth, name, required.
 * @returns The check; evidence: dir, matches, newest (path, ageHours, size).
 *
 * @example
 * ```ts
 * import { recentBackup } from "./backup.ts";
 * import assert from "node:assert/strict";
 * assert.equal(recentBackup("/backups/database").name, "Recent backup: /backups/database");
 * ```
 */
export function recentBackup(dir: string, options: RecentBackupOptions = {}): Check {
  const maxAgeMs = toMs(options.maxAge ?? "24h", "maxAge");
  const minSize = options.minSizeBytes ?? 1;
  return {
    name: options.name ?? `Recent backup: ${dir}`,
    required: options.required ?? true,
    run: async () => {
      const found: Found[] = [];
      try {
        await walk(dir, options.maxDepth ?? 3, options.pattern, found);
      } catch (err) {
        const reason = err instanceof Deno.errors.NotFound
          ? "the folder does not exist"
          : err instanceof Deno.errors.NotCapable
          ? `no permission to read it: declare permissions({ read: ["${dir}"] })`
          : describeError(err);
        return fail(`Cannot list backups in ${dir}: ${reason}`, { dir, error: reason });
      }
      const now = (options.now ?? Date.now)();
      const usable = found.filter((f) => f.size >= minSize).sort((a, b) => b.mtime - a.mtime);
      const newest = usable[0];
      const describe = (f: Found) => ({
        path: f.path,
        size: f.size,
        modified: new Date(f.mtime).toISOString(),
        ageHours: Math.round(((now - f.mtime) / 3.6e6) * 10) / 10,
      });
      const evidence: Record<string, unknown> = {
        dir,
        pattern: options.pattern?.source,
        maxAgeHours: maxAgeMs / 3.6e6,
        matches: found.length,
        nonEmpty: usable.length,
        ...(newest ? { newest: describe(newest) } : {}),
      };
      if (!newest) {
        return fail(`No ${found.length ? "non-empty " : ""}backup file in ${dir}`, evidence);
      }
      if (now - newest.mtime > maxAgeMs) {
        return fail(
          `The newest backup in ${dir} is ${describe(newest).ageHours} h old (limit ${
            maxAgeMs / 3.6e6
          } h)`,
          evidence,
        );
      }
      return pass(`Backup ${newest.path} is ${describe(newest).ageHours} h old`, evidence);
    },
  };
}

/**
 * A backup verification log exists and contains a success marker (the seed's
 * `grep -q PASSED /var/log/backup_verification_<date>.log`).
 *
 * @param file The log file.
 * @param options `marker` (default `"PASSED"`), `maxAge` (default `"24h"`), name, required.
 * @returns The check; evidence: file, modified, found.
 *
 * @example
 * ```ts
 * import { backupVerified } from "./backup.ts";
 * import assert from "node:assert/strict";
 * assert.equal(backupVerified("/var/log/backup_verification.log").name, "Backup verification passed");
 * ```
 */
export function backupVerified(
  file: string,
  options: CommonCheckOptions & {
    readonly marker?: string;
    readonly maxAge?: string | number;
    readonly now?: () => number;
  } = {},
): Check {
  const marker = options.marker ?? "PASSED";
  const maxAgeMs = toMs(options.maxAge ?? "24h", "maxAge");
  return {
    name: options.name ?? "Backup verification passed",
    required: options.required ?? true,
    run: async () => {
      let text: string;
      let mtime: number;
      try {
        mtime = (await Deno.stat(file)).mtime?.getTime() ?? 0;
        text = await Deno.readTextFile(file);
      } catch (err) {
        const reason = err instanceof Deno.errors.NotFound
          ? "it does not exist"
          : describeError(err);
        return fail(`Cannot read backup verification log ${file}: ${reason}`, { file });
      }
      const now = (options.now ?? Date.now)();
      const found = text.includes(marker);
      const evidence = { file, modified: new Date(mtime).toISOString(), marker, found };
      if (now - mtime > maxAgeMs) {
        return fail(
          `Backup verification log ${file} is older than ${maxAgeMs / 3.6e6} h`,
          evidence,
        );
      }
      if (!found) return fail(`Backup verification log ${file} does not say ${marker}`, evidence);
      return pass(`Backup verification ${marker}`, evidence);
    },
  };
}

const JOB = { apiVersion: "batch/v1", kind: "Job" } as const;

/** Options for {@linkcode recentBackupJob}. */
export interface RecentBackupJobOptions extends CommonCheckOptions {
  /** The Jobs that are the history, as a label selector (default `"type=backup"`). */
  readonly selector?: string;
  /** The newest successful Job must have completed within this (default `"24h"`). */
  readonly maxAge?: string | number;
  /** What the Jobs do, for messages (default `"backup"`). */
  readonly what?: string;
  /** The CronJob that makes them, for the message saying how to run one. */
  readonly cronjob?: string;
}

interface JobRun {
  name: string;
  state: "succeeded" | "failed" | "running";
  /** Completion (or failure) time, epoch ms; creation for a running Job. */
  at: number;
  reason?: string;
}

function jobRun(job: Record<string, unknown>): JobRun {
  const meta = (job.metadata ?? {}) as Record<string, unknown>;
  const status = (job.status ?? {}) as Record<string, unknown>;
  const conditions = (status.conditions ?? []) as Record<string, unknown>[];
  const holds = (type: string) => conditions.find((c) => c.type === type && c.status === "True");
  const complete = holds("Complete");
  const failed = holds("Failed");
  const stamp = (v: unknown) => (typeof v === "string" ? Date.parse(v) : NaN);
  const created = stamp(meta.creationTimestamp);
  if (complete) {
    const at = stamp(status.completionTime ?? complete.lastTransitionTime);
    return { name: String(meta.name), state: "succeeded", at: Number.isNaN(at) ? created : at };
  }
  if (failed) {
    const at = stamp(failed.lastTransitionTime);
    return {
      name: String(meta.name),
      state: "failed",
      at: Number.isNaN(at) ? created : at,
      reason: String(failed.reason ?? failed.message ?? "Failed"),
    };
  }
  return { name: String(meta.name), state: "running", at: created };
}

/**
 * The newest successful backup Job in a namespace completed within `maxAge`, and no backup
 * failed since: what a cluster holds of its backup CronJob's runs (the seed's `find
 * /backups/database -name '*<yesterday>*'`, done on the cluster's own record: the Jobs'
 * `Complete` condition and `completionTime`). The same check with another selector reads the
 * backup verification Jobs (`type=backup-verification`: the seed's
 * `backup_verification_<date>.log` says PASSED). Needs `uses("kubernetes")`; the age is
 * measured on the run's clock.
 *
 * @param namespace The namespace of the Jobs.
 * @param options Label selector, max age, what they are, name, required.
 * @returns The check; evidence: namespace, selector, jobs, newest success, failed since.
 *
 * @example
 * ```ts
 * import { recentBackupJob } from "./backup.ts";
 * import assert from "node:assert/strict";
 * const check = recentBackupJob("shop-prod", { maxAge: "6h" });
 * assert.equal(check.name, "Recent database backup (within 6 h)");
 * ```
 */
export function recentBackupJob(namespace: string, options: RecentBackupJobOptions = {}): Check {
  const selector = options.selector ?? "type=backup";
  const maxAgeMs = toMs(options.maxAge ?? "24h", "maxAge");
  const hours = (ms: number) => Math.round((ms / 3.6e6) * 10) / 10;
  const what = options.what ?? "backup";
  return kubeCheck(`Recent database ${what} (within ${hours(maxAgeMs)} h)`, async (k, ctx) => {
    const now = ctx.now();
    const runs = (await k.list(JOB, namespace, { labelSelector: selector }))
      .map((j) => jobRun(j as Record<string, unknown>))
      .sort((a, b) => b.at - a.at);
    const newest = runs.find((r) => r.state === "succeeded");
    const failedSince = runs.filter((r) => r.state === "failed" && (!newest || r.at > newest.at));
    const evidence: Record<string, unknown> = {
      namespace,
      selector,
      maxAgeHours: hours(maxAgeMs),
      jobs: runs.length,
      ...(newest
        ? {
          newest: {
            job: newest.name,
            completed: new Date(newest.at).toISOString(),
            ageHours: hours(now - newest.at),
          },
        }
        : {}),
      failedSince: failedSince.map((r) => ({ job: r.name, reason: r.reason })),
    };
    const how = `the ${what} Jobs (${selector}) in ${namespace}`;
    if (!newest) {
      return fail(
        `No successful ${what} in ${namespace}: ${
          runs.length === 0 ? "no Jobs" : `${runs.length} Job(s), none Complete`
        } labelled ${selector}; run one (kubectl create job --from=cronjob/${
          options.cronjob ?? "<its CronJob>"
        } -n ${namespace} <name>) and deploy again`,
        evidence,
      );
    }
    if (failedSince.length > 0) {
      const last = failedSince[0]!;
      return fail(
        `The latest ${what} failed: Job ${last.name} (${last.reason}) after ${newest.name}; fix ${how} first`,
        evidence,
      );
    }
    if (now - newest.at > maxAgeMs) {
      return fail(
        `The newest ${what} (Job ${newest.name}) is ${hours(now - newest.at)} h old (limit ${
          hours(maxAgeMs)
        } h): run a fresh ${what} before deploying${
          options.cronjob
            ? ` (kubectl create job --from=cronjob/${options.cronjob} -n ${namespace} <name>)`
            : ""
        }`,
        evidence,
      );
    }
    return pass(`${what} ${newest.name} completed ${hours(now - newest.at)} h ago`, evidence);
  }, options);
}
