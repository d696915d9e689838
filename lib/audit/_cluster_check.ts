/**
 * The chain audit's checks against the cluster's record (see `chain.ts`): each checkpoint
 * the record keeps must match its run's journal at its line and name a run that still has
 * its folder; each run that wrote a checkpoint must be in the record's history; the
 * record's previous run must be the one the head's journal names.
 * @module
 */
import type { AuditedRun } from "./history.ts";
import { type Checkpoint, type ClusterRecord, HISTORY_LIMIT } from "./cluster_record.ts";
import type { AuditProblem, ClusterCheck } from "./chain.ts";

const short = (digest: string) => `${digest.slice(0, 12)}…`;

/** A checkpoint's verdict against its run's journal: undefined when it matches. */
function checkpointProblem(run: AuditedRun, c: Checkpoint, where: string): string | undefined {
  const line = run.lineDigests[c.events - 1];
  if (line === c.digest) return undefined;
  if (run.journal.lines < c.events) {
    return `${run.runId}'s journal has ${run.journal.lines} lines, but ${where} recorded line ` +
      `${c.events} (${short(c.digest)}): it was cut short or replaced`;
  }
  return `${run.runId}'s journal does not match ${where} at line ${c.events} (recorded ` +
    `${short(c.digest)}, the journal's ${line ? short(line) : "line breaks its chain"}): ` +
    "it was replaced or rewritten after the cluster recorded it";
}

/** Where a run missing from the runs folder sits in the cluster's history. */
function neighbours(ids: readonly string[], i: number, has: (id: string) => boolean) {
  const id = ids[i];
  const before = ids.slice(0, i).findLast((x) => x !== id && has(x));
  const after = ids.slice(i + 1).find((x) => x !== id && has(x));
  const text = before && after
    ? ` between ${before} and ${after}`
    : before
    ? ` after ${before}`
    : after
    ? ` before ${after}`
    : "";
  return { before, after, text };
}

/** Checks the cluster's checkpoints and history against the runs. */
export function clusterProblems(
  record: ClusterRecord,
  o: { runs: readonly AuditedRun[]; inWindow: (r: AuditedRun) => boolean; runsDir: string },
): { problems: AuditProblem[]; notes: string[]; check: ClusterCheck } {
  const problems: AuditProblem[] = [];
  const notes: string[] = [];
  const byId = new Map(o.runs.map((r) => [r.runId, r]));
  for (const p of record.problems) {
    problems.push({
      kind: "record-unreadable",
      runIds: [],
      message: `the cluster's record (${record.source}): ${p}`,
      fix: "the annotation was edited by hand: compare it with its last known good value",
    });
  }
  const checkpoints: Checkpoint[] = [...(record.history ?? [])];
  const c = record.checkpoint;
  if (c && !checkpoints.some((h) => h.runId === c.runId && h.events === c.events)) {
    checkpoints.push(c);
  }
  let verified = 0;
  const ids = checkpoints.map((h) => h.runId);
  const deleted = new Set<string>();
  for (const [i, cp] of checkpoints.entries()) {
    const run = byId.get(cp.runId);
    if (!run) {
      if (deleted.has(cp.runId)) continue;
      deleted.add(cp.runId);
      const n = neighbours(ids, i, (id) => byId.has(id));
      problems.push({
        kind: "deleted",
        runIds: [cp.runId, ...(n.before ? [n.before] : []), ...(n.after ? [n.after] : [])],
        message: `run ${cp.runId}${n.text} is in the cluster's run history (checkpoint at line ` +
          `${cp.events}) and ${o.runsDir} has no folder for it: it was deleted`,
        fix:
          `restore ${o.runsDir}/${cp.runId} from a backup (or copy it from the machine that ran it)`,
      });
      continue;
    }
    const wrong = checkpointProblem(run, cp, "the cluster's checkpoint");
    if (wrong) {
      problems.push({
        kind: "replaced",
        runIds: [run.runId],
        message: wrong,
        fix: `restore ${run.dir} from a backup; deno task report verify ${run.runId} checks ` +
          "what it holds now",
      });
    } else verified++;
  }
  const head = c ? byId.get(c.runId) : undefined;
  const own = head?.previous;
  const said = record.previousRun;
  if (head && own && said && (own.runId !== said.runId || own.digest !== said.digest)) {
    problems.push({
      kind: "cluster-mismatch",
      runIds: [head.runId, said.runId],
      message: `${head.runId}'s journal records ${own.runId} as its previous run, the cluster's ` +
        `record says ${said.runId} (${short(said.digest)})`,
      fix:
        "one of them was rewritten: the cluster's record is the one the runner cannot edit alone",
    });
  }
  if (!record.exists) {
    notes.push(`${record.source}: there is no deployment-info ConfigMap`);
  } else if (record.history === undefined) {
    notes.push(
      `${record.source} keeps no run history (no run has anchored a checkpoint in it yet, or an ` +
        "older runner wrote it): runs were not looked up in it",
    );
  }
  // The runs the cluster must know: those that wrote a checkpoint — when its history is
  // full, only those since the oldest run still in it (older ones fell out).
  const known = new Set(ids);
  const full = (record.history?.length ?? 0) >= HISTORY_LIMIT;
  const horizon = full ? o.runs.find((r) => known.has(r.runId))?.startedAt : undefined;
  const looked = !record.exists || record.history !== undefined;
  for (const r of o.runs) {
    if (!looked || r.dryRun || r.checkpointStages.length === 0 || !o.inWindow(r)) continue;
    if (known.has(r.runId) || (full && (horizon === undefined || r.startedAt < horizon))) continue;
    problems.push({
      kind: "unknown-to-cluster",
      runIds: [r.runId],
      message: `${r.runId} (${r.pipeline}${r.version ? ` ${r.version}` : ""}, ${r.startedAt}) ` +
        `wrote a checkpoint (stage ${r.checkpointStages.join(", ")}) but the cluster's record ` +
        "does not know it",
      fix: "it did not run against this cluster (made elsewhere and copied in, or written by " +
        "hand), or the cluster's record was reset: find where it ran before trusting it",
    });
  }
  return {
    problems,
    notes,
    check: {
      consulted: true,
      source: record.source,
      exists: record.exists,
      checkpoints: checkpoints.length,
      verified,
      head: c,
    },
  };
}
