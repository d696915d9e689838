/**
 * DORA's four keys from an environment's own run records (see `docs/dora.md` for
 * fourkeys' definitions and where these differ): **deployment frequency** (successful
 * deploys per day and week in the window, and fourkeys' bucket), **lead time for changes**
 * (the deployed version's commit time to the deploy's finish; median), **change failure
 * rate** (deploys rolled back or needing a rollback / deploys that changed the environment)
 * and **time to restore** (a failed deploy's finish to the next good deploy's finish;
 * median). A deploy is a non-dry run that deploys a version; a rollback run (pipeline
 * `rollback` by default) that rolls a successful deploy back makes that deploy a failure.
 * @module
 */
import type { AuditedRun } from "./history.ts";

const DAY = 86_400_000;

/** A deploy's commit and when it was made. */
export interface CommitTime {
  /** The commit. */
  readonly commit: string;
  /** The commit's time (committer date), epoch ms. */
  readonly committedAtMs: number;
  /** Where the commit came from: the version's tag, or the commit the run ran from. */
  readonly source: "tag" | "run-commit";
}

/** Options of {@linkcode fourKeys}. */
export interface FourKeysOptions {
  /** The window's start (epoch ms). */
  readonly sinceMs: number;
  /** The window's end (epoch ms). */
  readonly untilMs: number;
  /** Each deploy's commit time, by run id (`commitTimes`); a deploy without one is listed. */
  readonly commits: ReadonlyMap<string, CommitTime>;
  /** The pipelines whose runs roll a deploy back (default `["rollback"]`). */
  readonly rollbackPipelines?: readonly string[];
  /**
   * The pipelines whose runs are deploys (default `["deploy"]`): a build's or a promotion's
   * test runs carry a version too, and are not deploys.
   */
  readonly deployPipelines?: readonly string[];
}

/** One deploy as the four keys count it. */
export interface DoraDeploy {
  /** The run. */
  readonly runId: string;
  /** The version deployed. */
  readonly version: string;
  /** When it finished. */
  readonly finishedAt: string;
  /** How it ended (`succeeded` may still be a failure, rolled back later). */
  readonly status: string;
  /** Why it counts as a change failure, when it does. */
  readonly failure: string | undefined;
}

/**
 * The four keys of a window.
 *
 * @example
 * ```ts
 * import type { FourKeys } from "./dora.ts";
 * const rate = (k: FourKeys) => k.changeFailureRate.rate;
 * ```
 */
export interface FourKeys {
  /** The window. */
  readonly window: { readonly since: string; readonly until: string; readonly days: number };
  /** The deploys that changed the environment, in the window, oldest first. */
  readonly deploys: readonly DoraDeploy[];
  /** Deploys in the window that changed nothing (failed before any change), or never finished. */
  readonly notCounted: readonly { readonly runId: string; readonly why: string }[];
  /** Successful deploys per day and per week, and fourkeys' bucket (null: no deploys). */
  readonly deploymentFrequency: {
    readonly successful: number;
    readonly perDay: number;
    readonly perWeek: number;
    readonly bucket: "daily" | "weekly" | "monthly" | "yearly" | null;
  };
  /** The median time from the deployed commit to the deploy's finish. */
  readonly leadTime: {
    readonly medianMs: number | null;
    readonly samples: readonly {
      readonly runId: string;
      readonly commit: string;
      readonly source: "tag" | "run-commit";
      readonly ms: number;
    }[];
    /** Successful deploys without a usable commit time, and why. */
    readonly missing: readonly { readonly runId: string; readonly why: string }[];
  };
  /** Change failures / deploys that changed the environment (null: none). */
  readonly changeFailureRate: {
    readonly failures: number;
    readonly deploys: number;
    readonly rate: number | null;
  };
  /** The median time from a failure to the next good deploy (consecutive failures: one). */
  readonly timeToRestore: {
    readonly medianMs: number | null;
    readonly restores: readonly {
      readonly failed: readonly string[];
      readonly restoredBy: string;
      readonly ms: number;
    }[];
    /** Failures not restored by the window's end. */
    readonly unrestored: readonly string[];
  };
}

/**
 * The median of numbers (the mean of the two middle ones for an even count, as
 * `PERCENTILE_CONT(x, 0.5)`), or null for none.
 *
 * @param values The numbers.
 * @returns The median, or null.
 *
 * @example
 * ```ts
 * import { median } from "./dora.ts";
 * import assert from "node:assert/strict";
 * assert.equal(median([4, 1, 3]), 3);
 * assert.equal(median([4, 1, 3, 2]), 2.5);
 * assert.equal(median([]), null);
 * ```
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Why a deploy is a change failure, or undefined (`rolledBackBy`: a later rollback run). */
function failureOf(run: AuditedRun, rolledBackBy: string | undefined): string | undefined {
  if (run.status === "rolled_back") return "rolled back";
  if ((run.status === "failed" || run.status === "interrupted") && run.rollback.performed) {
    return run.rollback.succeeded === false
      ? `${run.status}, and its rollback failed`
      : `${run.status}, then rolled back`;
  }
  if (rolledBackBy) return `rolled back later by ${rolledBackBy}`;
  return undefined;
}

/** Which deploy each successful rollback run rolled back: the one it names, else the latest. */
function rolledBack(
  runs: readonly AuditedRun[],
  isDeploy: (r: AuditedRun) => boolean,
  rollbackPipelines: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  const deploys = runs.filter((r) => isDeploy(r) && r.status === "succeeded");
  const ids = new Set(deploys.map((d) => d.runId));
  for (const r of runs) {
    if (r.dryRun || r.status !== "succeeded" || !rollbackPipelines.includes(r.pipeline)) continue;
    const named = r.outputRunIds.find((id) => ids.has(id));
    const target = named ??
      deploys.findLast((d) => d.finishedAt !== undefined && d.finishedAt <= r.startedAt)?.runId;
    if (target && !out.has(target)) out.set(target, r.runId);
  }
  return out;
}

/** fourkeys' deployment-frequency bucket over the window (7-day weeks, 30-day months). */
function bucketOf(
  finishes: readonly number[],
  o: { sinceMs: number; untilMs: number },
): FourKeys["deploymentFrequency"]["bucket"] {
  if (finishes.length === 0) return null;
  const span = Math.max(o.untilMs - o.sinceMs, 1);
  const weeks = Math.ceil(span / (7 * DAY));
  const months = Math.ceil(span / (30 * DAY));
  const daysPerWeek = Array.from({ length: weeks }, () => new Set<number>());
  const perMonth = new Array<number>(months).fill(0);
  for (const t of finishes) {
    const offset = t - o.sinceMs;
    daysPerWeek[Math.min(Math.floor(offset / (7 * DAY)), weeks - 1)]!.add(Math.floor(t / DAY));
    perMonth[Math.min(Math.floor(offset / (30 * DAY)), months - 1)]!++;
  }
  if (median(daysPerWeek.map((d) => d.size))! >= 3) return "daily";
  if (median(daysPerWeek.map((d) => (d.size > 0 ? 1 : 0)))! >= 1) return "weekly";
  if (median(perMonth)! >= 1) return "monthly";
  return "yearly";
}

/**
 * Computes DORA's four keys over a window of an environment's runs.
 *
 * @param runs The environment's runs, in the order they started (`readRunHistory`).
 * @param options The window, each deploy's commit time, the rollback pipelines.
 * @returns The four keys, with the deploys and samples they come from.
 *
 * @example
 * ```ts
 * import { fourKeys } from "./dora.ts";
 * import assert from "node:assert/strict";
 * const keys = fourKeys([], { sinceMs: 0, untilMs: 7 * 86_400_000, commits: new Map() });
 * assert.equal(keys.deploymentFrequency.perWeek, 0);
 * assert.equal(keys.changeFailureRate.rate, null);
 * ```
 */
export function fourKeys(runs: readonly AuditedRun[], options: FourKeysOptions): FourKeys {
  const { sinceMs, untilMs } = options;
  const rollbackPipelines = options.rollbackPipelines ?? ["rollback"];
  const deployPipelines = options.deployPipelines ?? ["deploy"];
  const isDeploy = (r: AuditedRun) =>
    !r.dryRun && r.version !== undefined && !rollbackPipelines.includes(r.pipeline) &&
    deployPipelines.includes(r.pipeline);
  const inWindow = (at: string | undefined) => {
    const t = at === undefined ? NaN : Date.parse(at);
    return t >= sinceMs && t <= untilMs;
  };
  const rolledBackBy = rolledBack(runs, isDeploy, rollbackPipelines);
  const changed: DoraDeploy[] = [];
  const notCounted: { runId: string; why: string }[] = [];
  for (const r of runs.filter(isDeploy)) {
    if (r.status === "unfinished") {
      if (inWindow(r.startedAt)) notCounted.push({ runId: r.runId, why: "it never finished" });
      continue;
    }
    const failure = failureOf(r, rolledBackBy.get(r.runId));
    if (r.status !== "succeeded" && failure === undefined) {
      if (inWindow(r.finishedAt)) {
        notCounted.push({ runId: r.runId, why: `${r.status} before changing anything` });
      }
      continue;
    }
    changed.push({
      runId: r.runId,
      version: r.version!,
      finishedAt: r.finishedAt!,
      status: r.status,
      failure,
    });
  }
  const deploys = changed.filter((d) => inWindow(d.finishedAt));
  const successful = deploys.filter((d) => d.status === "succeeded");
  const days = (untilMs - sinceMs) / DAY;

  const samples: FourKeys["leadTime"]["samples"][number][] = [];
  const missing: { runId: string; why: string }[] = [];
  for (const d of successful) {
    const c = options.commits.get(d.runId);
    if (!c) {
      missing.push({ runId: d.runId, why: `no commit time for ${d.version}` });
      continue;
    }
    const ms = Date.parse(d.finishedAt) - c.committedAtMs;
    if (ms < 0) {
      missing.push({ runId: d.runId, why: `its commit ${c.commit} is dated after the deploy` });
      continue;
    }
    samples.push({ runId: d.runId, commit: c.commit, source: c.source, ms });
  }

  // Outages: from the first failure after a good deploy to the next good deploy.
  const restores: { failed: string[]; restoredBy: string; ms: number }[] = [];
  const unrestored: string[] = [];
  let open: DoraDeploy[] = [];
  const close = (by: DoraDeploy | undefined) => {
    if (open.length === 0) return;
    const start = Date.parse(open[0]!.finishedAt);
    const counted = inWindow(open[0]!.finishedAt);
    if (counted && by && Date.parse(by.finishedAt) <= untilMs) {
      restores.push({
        failed: open.map((f) => f.runId),
        restoredBy: by.runId,
        ms: Date.parse(by.finishedAt) - start,
      });
    } else if (counted) unrestored.push(...open.map((f) => f.runId));
    open = [];
  };
  for (const d of changed) {
    if (d.failure) open.push(d);
    else close(d);
  }
  close(undefined);

  const failures = deploys.filter((d) => d.failure !== undefined).length;
  return {
    window: {
      since: new Date(sinceMs).toISOString(),
      until: new Date(untilMs).toISOString(),
      days,
    },
    deploys,
    notCounted,
    deploymentFrequency: {
      successful: successful.length,
      perDay: days > 0 ? successful.length / days : 0,
      perWeek: days > 0 ? (successful.length / days) * 7 : 0,
      bucket: bucketOf(successful.map((d) => Date.parse(d.finishedAt)), { sinceMs, untilMs }),
    },
    leadTime: { medianMs: median(samples.map((s) => s.ms)), samples, missing },
    changeFailureRate: {
      failures,
      deploys: deploys.length,
      rate: deploys.length > 0 ? failures / deploys.length : null,
    },
    timeToRestore: { medianMs: median(restores.map((r) => r.ms)), restores, unrestored },
  };
}
