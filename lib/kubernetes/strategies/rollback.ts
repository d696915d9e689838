/**
 * The one rollback logic every path uses (the deploy's failure handler, after an
 * interrupt, and `rollback` on demand after a dead runner or a finished deploy): read the
 * run record, check it against the cluster, and only then put traffic back on the slots
 * and versions that were live before the run (`executeRollback`, in `restore.ts`).
 * @module
 */
import type { KubernetesCapability } from "../capability.ts";
import type { KubeTarget } from "../target.ts";
import {
  type DeploymentRecord,
  readRunRecord,
  type RunRecord,
  type RunService,
  type SlotVersion,
} from "./record.ts";
import { DEPLOYMENT, obj, SERVICE } from "./_common.ts";

/**
 * What a rollback does for one service.
 *
 * @example
 * ```ts
 * import type { RollbackStep } from "./rollback.ts";
 * const step: RollbackStep = {
 *   service: "web",
 *   to: { slot: "blue", version: "1.0.0" },
 *   leave: { slot: "green", version: "1.1.0" },
 *   restore: null,
 * };
 * ```
 */
export interface RollbackStep {
  /** The service. */
  service: string;
  /** Where traffic goes back to: what was live before the run. */
  to: SlotVersion;
  /** What it leaves: the run's slot and version. */
  leave: SlotVersion;
  /** What `leave.slot` held before the run, re-applied after the traffic moved (undo only). */
  restore: RunService["standby"];
}

/**
 * A rollback that can go ahead.
 *
 * @example
 * ```ts
 * import type { RollbackPlanOk } from "./rollback.ts";
 * const nothing: RollbackPlanOk = {
 *   ok: true,
 *   run: null,
 *   source: "run",
 *   undo: false,
 *   steps: [],
 *   skipped: [],
 *   note: "this run moved no traffic",
 * };
 * ```
 */
export interface RollbackPlanOk {
  /** It can. */
  ok: true;
  /** The run rolled back (null: nothing to do, see `note`). */
  run: RunRecord | null;
  /** Which record entry: the latest `run`, or the last `release`. */
  source: "run" | "release";
  /** The run never finished: its standby slots are restored too. */
  undo: boolean;
  /** One step per service that can go back. */
  steps: RollbackStep[];
  /** Services with nothing before the run (its first deploy), and why. */
  skipped: { service: string; reason: string }[];
  /** Why there is nothing to do, when so. */
  note?: string;
}

/**
 * A refusal: nothing may change, and why.
 *
 * @example
 * ```ts
 * import type { RollbackRefusal } from "./rollback.ts";
 * const no: RollbackRefusal = { ok: false, reason: "Cannot roll back staging: no record" };
 * ```
 */
export interface RollbackRefusal {
  /** It cannot. */
  ok: false;
  /** What is missing or contradicts the cluster, and what to do. */
  reason: string;
}

/**
 * The result of {@linkcode planRollback}.
 *
 * @example
 * ```ts
 * import type { RollbackPlan } from "./rollback.ts";
 * const describe = (p: RollbackPlan) => p.ok ? `${p.steps.length} step(s)` : p.reason;
 * ```
 */
export type RollbackPlan = RollbackPlanOk | RollbackRefusal;

const ADVICE =
  "Nothing changed: restore the cluster to match, or deploy the version to return to " +
  "(deno task deploy <environment> <version>)";

/**
 * Decides a rollback from the run record and checks it against the cluster. With `runId`
 * (a deploy rolling itself back) only that run's record counts; without it (on demand)
 * the latest run when it never finished or succeeded, else the last release. Refuses,
 * changing nothing, when there is no record or the cluster contradicts it (the slot to
 * return to is gone, scaled to 0, runs another version, or — for a finished run — is not
 * available or the Service no longer selects the run's slot).
 *
 * @param k The capability.
 * @param options The target, and the run rolling itself back, if any.
 * @returns The plan, or the refusal.
 *
 * @example
 * ```ts ignore
 * import { planRollback } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const plan = await planRollback(k, { target });
 * if (!plan.ok) throw new Error(plan.reason);
 * for (const s of plan.steps) console.log(`${s.service}: back to ${s.to.version} on ${s.to.slot}`);
 * ```
 */
export async function planRollback(
  k: KubernetesCapability,
  options: { target: KubeTarget; runId?: string | undefined },
): Promise<RollbackPlan> {
  const record = await readRunRecord(k, options);
  const refuse = (why: string): RollbackRefusal => ({
    ok: false,
    reason: `Cannot roll back ${options.target.name}: ${why}. ${ADVICE}`,
  });
  const chosen = chooseRun(record, options.target.namespace, options.runId);
  if ("refuse" in chosen) return refuse(chosen.refuse);
  if ("nothing" in chosen) {
    return {
      ok: true,
      run: null,
      source: "run",
      undo: false,
      steps: [],
      skipped: [],
      note: chosen.nothing,
    };
  }
  const { run, source } = chosen;
  const undo = run.state === "in-progress";
  const steps: RollbackStep[] = [];
  const skipped: { service: string; reason: string }[] = [];
  const problems: string[] = [];
  for (const [service, s] of Object.entries(run.services)) {
    if (s.previous === null) {
      skipped.push({ service, reason: `${service} was first deployed by run ${run.runId}` });
      continue;
    }
    const step = { service, to: s.previous, leave: s.next };
    const problem = await checkStep(k, { namespace: options.target.namespace, run, undo, step });
    if (problem) problems.push(problem);
    const inPlace = step.to.slot === step.leave.slot;
    steps.push({ ...step, restore: undo && !inPlace ? s.standby : null });
  }
  if (problems.length > 0) {
    return refuse(`the record of run ${run.runId} contradicts the cluster: ${problems.join("; ")}`);
  }
  return { ok: true, run, source, undo, steps, skipped };
}

type Chosen =
  | { run: RunRecord; source: "run" | "release" }
  | { nothing: string }
  | { refuse: string };

/** Which run a rollback returns from, from the record alone. */
function chooseRun(record: DeploymentRecord, namespace: string, runId: string | undefined): Chosen {
  const where = `ConfigMap ${namespace}/deployment-info`;
  if (record.problems.length > 0) {
    return {
      refuse: `the deployment record ${where} is unreadable: ${record.problems.join("; ")}`,
    };
  }
  if (runId !== undefined) {
    if (record.run?.runId !== runId) {
      return {
        refuse: `the deployment record ${where} ${
          !record.exists
            ? "is missing"
            : record.run
            ? `names run ${record.run.runId}, not this run (${runId})`
            : `has no "run" entry`
        }: it cannot tell which versions were live before this run`,
      };
    }
    const run = record.run;
    if (run.state === "rolled-back") return { nothing: `run ${run.runId} is already rolled back` };
    if (run.state === "succeeded") {
      return {
        nothing:
          `run ${run.runId} finished and is recorded live: roll it back on demand (deno task rollback)`,
      };
    }
    return { run, source: "run" };
  }
  if (!record.exists) {
    return {
      refuse:
        `there is no deployment record (${where} not found): it cannot tell which versions were live before the last deploy`,
    };
  }
  if (record.run && record.run.state !== "rolled-back") return { run: record.run, source: "run" };
  if (record.release?.state === "succeeded") return { run: record.release, source: "release" };
  return {
    refuse: record.run || record.release
      ? `the last deploy (run ${
        (record.release ?? record.run)!.runId
      }) is already rolled back, and the record keeps nothing older to return to`
      : `the deployment record ${where} has no "run" entry (written by deploys before traffic moves): it cannot tell which versions were live before`,
  };
}

/** What in the cluster contradicts one step of the plan, or null. */
async function checkStep(
  k: KubernetesCapability,
  o: { namespace: string; run: RunRecord; undo: boolean; step: Omit<RollbackStep, "restore"> },
): Promise<string | null> {
  const { namespace, run } = o;
  const { service, to, leave } = o.step;
  const inPlace = to.slot === leave.slot;
  const name = `${service}-${to.slot}`;
  const d = await k.get(DEPLOYMENT, namespace, name);
  const label = d?.metadata.labels?.version;
  const before = `${to.version}, live before run ${run.runId}`;
  if (!d) return `Deployment ${namespace}/${name} (${before}) is gone`;
  if (Number(obj(d.spec).replicas ?? 1) === 0) {
    return `Deployment ${namespace}/${name} (${before}) is scaled to 0`;
  }
  if (label !== to.version && !(inPlace && label === leave.version)) {
    return `Deployment ${namespace}/${name} runs version ${label}, not ${before}`;
  }
  if (o.undo) return null;
  const selected = obj(obj((await k.get(SERVICE, namespace, service))?.spec).selector).slot;
  if (selected !== leave.slot) {
    return `Service ${namespace}/${service} selects ${
      selected ?? "nothing"
    }, but run ${run.runId} left ${leave.slot} live: the cluster changed since`;
  }
  if (inPlace) return null;
  const status = await k.rolloutStatus(namespace, name);
  return status.done ? null : `Deployment ${namespace}/${name} is not available: ${status.message}`;
}
