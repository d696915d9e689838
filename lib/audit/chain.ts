/**
 * The chain of an environment's runs across time, checked: each run's `run.started`
 * records the previous run and its final digest, so a deleted run leaves a **gap**, a run
 * rewritten after the next one started no longer ends in the digest recorded (**replaced**),
 * and a run inserted afterwards is followed by no one (**unchained**) or shares its
 * predecessor with another (**fork**). Each journal's own hash chain and its report's
 * digest are checked too. Against the cluster's record (`cluster_record.ts`): every
 * checkpoint the cluster keeps must match its run's journal at that line (else
 * **replaced**), name a run that still has its folder (else **deleted**), and every run that
 * wrote a checkpoint must be in the cluster's history (else **unknown to the cluster**).
 * The runs of an environment form one chain per target they went to (the sandbox, the real
 * cluster), as the runner links them. Each problem names its runs and what to do.
 * @module
 */
import type { AuditedRun, AuditLink, RunHistory } from "./history.ts";
import type { Checkpoint, ClusterRecord } from "./cluster_record.ts";
import { clusterProblems } from "./_cluster_check.ts";

/** What kind of problem the audit found. */
export type ProblemKind =
  | "gap"
  | "replaced"
  | "grown"
  | "fork"
  | "unchained"
  | "restarted"
  | "unlinked"
  | "broken-journal"
  | "report-mismatch"
  | "unreadable"
  | "deleted"
  | "unknown-to-cluster"
  | "cluster-mismatch"
  | "record-unreadable"
  | "signature";

/**
 * One problem: its kind, the runs it names, what is wrong and what to do.
 *
 * @example
 * ```ts
 * import type { AuditProblem } from "./chain.ts";
 * const p: AuditProblem = {
 *   kind: "gap",
 *   runIds: ["r2", "r1", "r3"],
 *   message: "run r2 is missing between r1 and r3",
 *   fix: "restore its folder from a backup",
 * };
 * ```
 */
export interface AuditProblem {
  /** The kind. */
  readonly kind: ProblemKind;
  /** The runs it is about (the missing or changed run first, then its neighbours). */
  readonly runIds: readonly string[];
  /** What is wrong, naming the runs. */
  readonly message: string;
  /** What to do. */
  readonly fix: string;
}

/** What the cluster's record added to the audit. */
export type ClusterCheck =
  | { readonly consulted: false; readonly reason: string }
  | {
    readonly consulted: true;
    readonly source: string;
    readonly exists: boolean;
    /** The checkpoints compared (the history and the latest one, without repeats). */
    readonly checkpoints: number;
    /** How many of them match their run's journal. */
    readonly verified: number;
    /** The latest checkpoint. */
    readonly head: Checkpoint | undefined;
  };

/**
 * The result of {@linkcode auditChain}.
 *
 * @example
 * ```ts
 * import type { ChainAudit } from "./chain.ts";
 * const whole = (a: ChainAudit) => a.problems.length === 0;
 * ```
 */
export interface ChainAudit {
  /** Every problem, in the order of the runs. */
  readonly problems: readonly AuditProblem[];
  /** What is worth knowing and is not a problem (runs before chaining, unfinished runs). */
  readonly notes: readonly string[];
  /** Runs in the window: chained, from before chaining, dry runs. */
  readonly counts: { readonly chained: number; readonly legacy: number; readonly dryRuns: number };
  /** The latest run of each chain (one per target the runs went to) and its digest. */
  readonly heads: readonly ChainHead[];
  /** What the cluster's record said. */
  readonly cluster: ClusterCheck;
}

/**
 * The latest run of a chain.
 *
 * @example
 * ```ts
 * import type { ChainHead } from "./chain.ts";
 * const h: ChainHead = { target: "kubernetes", runId: "r9", digest: "0".repeat(64), events: 40 };
 * ```
 */
export interface ChainHead extends AuditLink {
  /** The target its chain's runs went to (`sandbox`, `kubernetes`); null when none is known. */
  readonly target: string | null;
  /** How many lines its journal has. */
  readonly events: number;
}

/** Options of {@linkcode auditChain}. */
export interface ChainAuditOptions {
  /** The runs folder, for messages. */
  readonly runsDir: string;
  /** Check only runs started at or after this time (epoch ms); earlier ones are context. */
  readonly sinceMs?: number | undefined;
  /** Check only runs started at or before this time (epoch ms). */
  readonly untilMs?: number | undefined;
  /** The cluster's record; undefined: not consulted (and said so). */
  readonly record?: ClusterRecord | undefined;
  /** Why the cluster was not consulted, when `record` is undefined. */
  readonly notConsulted?: string | undefined;
  /** Audit only the chain of runs that went to this target (`sandbox`, `kubernetes`). */
  readonly target?: string | undefined;
  /** The target the cluster's record is of: the runs it must know went there. */
  readonly recordTarget?: string | undefined;
}

const short = (digest: string) => `${digest.slice(0, 12)}…`;

/** Checks a run's own journal and report. */
function runProblems(run: AuditedRun): AuditProblem[] {
  const out: AuditProblem[] = [];
  const verify = `deno task report verify ${run.runId}`;
  if (!run.journal.ok) {
    out.push({
      kind: "broken-journal",
      runIds: [run.runId],
      message:
        `${run.runId}'s journal breaks at line ${run.journal.brokenAt}: ${run.journal.reason}`,
      fix: `the journal was edited after it was written: compare ${run.dir}/events.jsonl with ` +
        `its backup; ${verify} names what disagrees`,
    });
  }
  if (run.reportDigest === "invalid") {
    out.push({
      kind: "report-mismatch",
      runIds: [run.runId],
      message: `${run.runId}'s report.json is not a report (no events.digest)`,
      fix:
        `restore it from a backup, or delete it and run ${verify} to rebuild it from the journal`,
    });
  } else if (
    run.reportDigest !== null && run.journal.ok && run.reportDigest !== run.journal.digest
  ) {
    out.push({
      kind: "report-mismatch",
      runIds: [run.runId],
      message: `${run.runId}'s report.json records digest ${short(run.reportDigest)}, ` +
        `its journal ends in ${short(run.journal.digest)}: one of them was changed`,
      fix: `${verify} names the first field that disagrees; restore the changed file from a backup`,
    });
  }
  return out;
}

/** Checks the link `run` records to its previous run. */
function linkProblems(
  run: AuditedRun,
  link: AuditLink,
  o: { byId: ReadonlyMap<string, AuditedRun>; before: AuditedRun | undefined; runsDir: string },
): AuditProblem[] {
  const prev = o.byId.get(link.runId);
  if (!prev) {
    const between = o.before ? `between ${o.before.runId} and ${run.runId}` : `before ${run.runId}`;
    return [{
      kind: "gap",
      runIds: [link.runId, ...(o.before ? [o.before.runId] : []), run.runId],
      message: `run ${link.runId} is missing ${between}: ${run.runId} records it as its previous ` +
        `run (digest ${short(link.digest)}), and ${o.runsDir} has no folder for it`,
      fix:
        `restore ${o.runsDir}/${link.runId} from a backup (or copy it from the machine that ran ` +
        "it); a deleted run cannot be made again",
    }];
  }
  if (prev.journal.digest === link.digest) return [];
  const at = link.events ?? prev.lineDigests.indexOf(link.digest) + 1;
  if (at > 0 && prev.lineDigests[at - 1] === link.digest) {
    return [{
      kind: "grown",
      runIds: [prev.runId, run.runId],
      message:
        `${prev.runId}'s journal grew after ${run.runId} started: ${run.runId} recorded it ` +
        `ending at line ${at}, it now has ${prev.journal.lines} lines`,
      fix:
        `if ${prev.runId} was resumed after ${run.runId} started, its report's resumes say so; ` +
        `otherwise lines ${
          at + 1
        }-${prev.journal.lines} were added afterwards: restore it from a backup`,
    }];
  }
  return [{
    kind: "replaced",
    runIds: [prev.runId, run.runId],
    message:
      `${prev.runId} was replaced or rewritten after ${run.runId} started: its journal ends ` +
      `in ${short(prev.journal.digest)}, but ${run.runId} recorded ${short(link.digest)}`,
    fix: `restore ${prev.dir} from a backup; deno task report verify ${prev.runId} checks what ` +
      "it holds now",
  }];
}

/**
 * The problems of the links between the runs of one chain (gaps, replaced, forks,
 * restarts); `byId` holds every run, so a link into another chain is not a gap.
 */
function chainProblems(
  chainable: readonly AuditedRun[],
  o: {
    inWindow: (r: AuditedRun) => boolean;
    runsDir: string;
    byId: ReadonlyMap<string, AuditedRun>;
  },
) {
  const problems: AuditProblem[] = [];
  const notes: string[] = [];
  const { byId } = o;
  const successors = new Map<string, AuditedRun[]>();
  for (const r of chainable) {
    if (r.previous) {
      successors.set(r.previous.runId, [...(successors.get(r.previous.runId) ?? []), r]);
    }
  }
  const explained = new Set<string>();
  for (const [i, run] of chainable.entries()) {
    const before = chainable[i - 1];
    if (!o.inWindow(run)) continue;
    const chainedBefore = chainable.slice(0, i).some((r) => r.previous !== undefined);
    if (run.previous === undefined) {
      if (chainedBefore) {
        problems.push({
          kind: "unlinked",
          runIds: [run.runId],
          message: `${run.runId} records no previous run at all, though earlier runs are chained`,
          fix: "it was written by a runner without chaining, or its run.started was rewritten: " +
            `deno task report verify ${run.runId}`,
        });
      }
    } else if (run.previous === null) {
      if (before && chainedBefore) {
        problems.push({
          kind: "restarted",
          runIds: [run.runId, before.runId],
          message:
            `${run.runId} says it is the first run of ${run.environment}, but ${before.runId} ` +
            "and others ran before it: the chain was restarted",
          fix: "the runner lost the chain's head (its runs folder was moved or reset): find out " +
            "why before trusting the runs after it",
        });
      }
    } else {
      const found = linkProblems(run, run.previous, { byId, before, runsDir: o.runsDir });
      if (found[0]?.kind === "gap" && before) explained.add(before.runId);
      problems.push(...found);
      const siblings = successors.get(run.previous.runId) ?? [];
      if (siblings.length > 1 && siblings[0] === run) {
        problems.push({
          kind: "fork",
          runIds: [run.previous.runId, ...siblings.map((s) => s.runId)],
          message: `${siblings.map((s) => s.runId).join(" and ")} all record ` +
            `${run.previous.runId} as their previous run: runs started from the same head`,
          fix: "runs of one environment ran at once (the deploy lock was bypassed), or one was " +
            "inserted afterwards: check which one the cluster's record knows",
        });
      }
    }
    if (run.status === "unfinished" && i < chainable.length - 1) {
      notes.push(
        `${run.runId} never finished (its runner died): deno task resume ${run.runId}, or ` +
          `deno task report verify ${run.runId} to rebuild its report`,
      );
    }
  }
  // A chained run that no later run follows, while a later chained run exists: inserted.
  const last = chainable.findLast((r) => r.previous !== undefined);
  for (const run of chainable) {
    if (!o.inWindow(run) || run === last || run.previous === undefined) continue;
    if ((successors.get(run.runId) ?? []).length > 0 || explained.has(run.runId)) continue;
    problems.push({
      kind: "unchained",
      runIds: [run.runId],
      message: `no later run records ${run.runId} as its previous run: it is outside the chain ` +
        "(inserted afterwards, or the run after it was deleted)",
      fix: `find where ${run.runId} came from; deno task report verify ${run.runId}`,
    });
  }
  return { problems, notes, head: last ?? chainable.at(-1) };
}

/**
 * The chains of an environment's runs: one per target the runs went to (a sandbox
 * rehearsal chains to the rehearsals before it, not into the real cluster's history); a run
 * whose target is not recorded belongs to every chain. All in one when no target is known.
 */
function chainsOf(
  runs: readonly AuditedRun[],
  only: string | undefined,
): { target: string | null; runs: AuditedRun[] }[] {
  const targets = [...new Set(runs.flatMap((r) => (r.target ? [r.target] : [])))].sort();
  const chosen = only !== undefined ? [only] : targets;
  if (chosen.length === 0) return [{ target: null, runs: [...runs] }];
  return chosen.map((t) => ({
    target: t,
    runs: runs.filter((r) => r.target === undefined || r.target === t),
  }));
}

/**
 * Audits the chain of an environment's runs, and the cluster's record when given.
 *
 * @param history The environment's runs (`readRunHistory`).
 * @param options The runs folder (for messages), the window, the cluster's record.
 * @returns Every problem with its runs and what to do, notes, counts, the head, and what
 * the cluster's record said (or that it was not consulted).
 *
 * @example
 * ```ts
 * import { auditChain } from "./chain.ts";
 * import assert from "node:assert/strict";
 * const audit = auditChain({ runs: [], unreadable: [] }, { runsDir: "runs" });
 * assert.deepEqual(audit.problems, []);
 * assert.equal(audit.cluster.consulted, false);
 * ```
 */
export function auditChain(history: RunHistory, options: ChainAuditOptions): ChainAudit {
  const { runsDir } = options;
  const since = options.sinceMs ?? -Infinity;
  const until = options.untilMs ?? Infinity;
  const inWindow = (r: AuditedRun) => {
    const t = Date.parse(r.startedAt);
    return t >= since && t <= until;
  };
  const runs = history.runs.filter((r) => Date.parse(r.startedAt) <= until);
  const problems: AuditProblem[] = history.unreadable.map((u) => ({
    kind: "unreadable",
    runIds: u.runId ? [u.runId] : [],
    message: `${u.dir} cannot be read as a run: ${u.reason}`,
    fix: "restore the folder from a backup; a run without its journal cannot be verified",
  }));
  const chainable = runs.filter((r) => !r.dryRun);
  const byId = new Map(chainable.map((r) => [r.runId, r]));
  const notes: string[] = [];
  let legacy = 0;
  for (const run of chainable.filter(inWindow)) {
    if (options.target !== undefined && run.target !== undefined && run.target !== options.target) {
      continue;
    }
    problems.push(...runProblems(run));
    if (run.previous === undefined) legacy++;
  }
  const seen = new Set<string>();
  const heads: ChainHead[] = [];
  for (const chain of chainsOf(chainable, options.target)) {
    const found = chainProblems(chain.runs, { inWindow, runsDir, byId });
    for (const p of found.problems) {
      const key = `${p.kind} ${p.runIds.join(" ")}`;
      if (!seen.has(key)) problems.push(p);
      seen.add(key);
    }
    for (const n of found.notes) if (!notes.includes(n)) notes.push(n);
    const h = found.head;
    if (h) {
      heads.push({
        target: chain.target,
        runId: h.runId,
        digest: h.journal.digest,
        events: h.journal.lines,
      });
    }
  }
  if (legacy > 0) {
    notes.push(`${legacy} run(s) predate chaining (no previous run in their run.started)`);
  }
  let cluster: ClusterCheck = {
    consulted: false,
    reason: options.notConsulted ??
      "not consulted: give --record <file>, --sandbox or --cluster to check the runs against it",
  };
  if (options.record) {
    // The record is one target's: the runs it must know are that target's.
    const recordTarget = options.recordTarget;
    const expected = (r: AuditedRun) =>
      inWindow(r) &&
      (recordTarget === undefined || r.target === undefined || r.target === recordTarget);
    const c = clusterProblems(options.record, { runs, inWindow: expected, runsDir });
    problems.push(...c.problems);
    notes.push(...c.notes);
    cluster = c.check;
  }
  const windowed = runs.filter(inWindow);
  return {
    problems,
    notes,
    counts: {
      chained: windowed.filter((r) => !r.dryRun && r.previous !== undefined).length,
      legacy,
      dryRuns: windowed.filter((r) => r.dryRun).length,
    },
    heads,
    cluster,
  };
}
