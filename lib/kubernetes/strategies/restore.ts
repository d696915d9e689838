/**
 * Carries out a rollback plan of `planRollback` (`rollback.ts`): traffic back first, then
 * the standby slots of a run that never finished, then the record.
 * @module
 */
import type { KubeObject, KubernetesCapability } from "../capability.ts";
import { deploymentManifest } from "../manifests.ts";
import { type SlotWeights } from "../slots.ts";
import type { KubeTarget } from "../target.ts";
import { DELETE_AFTER_ANNOTATION } from "./cleanup.ts";
import { type RunRecord, type SlotVersion, writeRunRecord } from "./record.ts";
import type { RollbackPlanOk, RollbackStep } from "./rollback.ts";
import { ambientClock } from "../../async/ambient.ts";
import { rollbackService } from "./traffic.ts";
import { DEPLOYMENT } from "./_common.ts";

/**
 * What {@linkcode executeRollback} did.
 *
 * @example
 * ```ts
 * import type { RollbackResult } from "./restore.ts";
 * const r: RollbackResult = { messages: [], warnings: [], services: [] };
 * ```
 */
export interface RollbackResult {
  /** One line per service: what traffic returned to and what it left. */
  messages: string[];
  /** Standby slots that could not be restored (the traffic rollback still stands). */
  warnings: string[];
  /** Per service: where traffic is now, and the weights when there is a route. */
  services: { service: string; to: SlotVersion; left: SlotVersion; weights: SlotWeights | null }[];
}

/**
 * Options for {@linkcode executeRollback}.
 *
 * @example
 * ```ts
 * import type { ExecuteRollbackOptions } from "./restore.ts";
 * import type { RollbackPlanOk } from "./rollback.ts";
 * import type { KubeTarget } from "../target.ts";
 * const target = {} as KubeTarget;
 * const plan = {} as RollbackPlanOk;
 * const o: ExecuteRollbackOptions = { target, plan, runId: "r2", by: "ann", timeoutMs: 60_000 };
 * ```
 */
export interface ExecuteRollbackOptions {
  /** The deploy target. */
  target: KubeTarget;
  /** The plan `planRollback` made. */
  plan: RollbackPlanOk;
  /** The run doing the rollback (for the record's flat keys). */
  runId: string;
  /** Who. */
  by: string;
  /** How long to wait for a rollout (default: the rollout deadline plus 30 s). */
  timeoutMs?: number | undefined;
}

async function restoreStandby(
  k: KubernetesCapability,
  target: KubeTarget,
  step: RollbackStep,
  timeoutMs: number,
): Promise<string> {
  const restore = step.restore!;
  const namespace = target.namespace;
  const name = `${step.service}-${step.leave.slot}`;
  const manifest: KubeObject = deploymentManifest(target, {
    service: step.service,
    slot: step.leave.slot,
    version: restore.version,
  });
  (manifest.spec as Record<string, unknown>).replicas = restore.replicas;
  await k.apply(manifest);
  if (restore.deleteAfter) {
    await k.patch(DEPLOYMENT, namespace, name, {
      metadata: { annotations: { [DELETE_AFTER_ANNOTATION]: restore.deleteAfter } },
    }, "merge");
  }
  if (restore.replicas > 0) {
    const r = await k.waitForRollout(namespace, name, { timeoutMs, pollMs: 500 });
    if (!r.done) throw new Error(r.message);
  }
  return `${name} back on ${restore.version}, as before run (standby for a later rollback)`;
}

/**
 * Carries out a plan of `planRollback`: every step's traffic (Service selector,
 * HTTPRoute weights; a rolling update's previous version re-applied), then the standby
 * slots of a run that never finished, then the record (`rolled-back`, and the flat keys
 * naming what is live again). A service that fails does not stop the others; the record
 * stays `in-progress` then, so the rollback can be run again.
 *
 * @param k The capability.
 * @param options The target, the plan, the acting run, who, the rollout timeout.
 * @returns What was done.
 * @throws {Error} Naming the services whose traffic could not be put back.
 *
 * @example
 * ```ts ignore
 * import { executeRollback, planRollback } from "./mod.ts";
 * import type { KubernetesCapability } from "../capability.ts";
 * import type { KubeTarget } from "../target.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * declare const target: KubeTarget;
 * const plan = await planRollback(k, { target });
 * if (plan.ok) {
 *   const result = await executeRollback(k, { target, plan, runId: "r2", by: "ann" });
 *   console.log(result.messages);
 * }
 * ```
 */
export async function executeRollback(
  k: KubernetesCapability,
  options: ExecuteRollbackOptions,
): Promise<RollbackResult> {
  const { target, plan } = options;
  const namespace = target.namespace;
  const timeoutMs = options.timeoutMs ?? target.rolloutDeadlineMs + 30_000;
  const result: RollbackResult = { messages: [], warnings: [], services: [] };
  const errors: string[] = [];
  for (const step of plan.steps) {
    const { service, to, leave } = step;
    try {
      let weights: SlotWeights | null = null;
      if (to.slot === leave.slot) {
        await k.apply(deploymentManifest(target, { service, slot: to.slot, version: to.version }));
        const r = await k.waitForRollout(namespace, `${service}-${to.slot}`, {
          timeoutMs,
          pollMs: 500,
        });
        if (!r.done) throw new Error(r.message);
      } else {
        weights = (await rollbackService(k, { target, service, slot: to.slot })).weights;
      }
      result.services.push({ service, to, left: leave, weights });
      result.messages.push(
        `${service}: traffic back on ${to.slot} (version ${to.version}), leaving ${leave.slot} (version ${leave.version})${
          weights ? ` — blue ${weights.blue}% / green ${weights.green}%` : ""
        }`,
      );
    } catch (error) {
      errors.push(`${service}: ${(error as Error).message}`);
    }
  }
  for (const step of plan.steps.filter((s) => s.restore)) {
    try {
      const d = await k.get(DEPLOYMENT, namespace, `${step.service}-${step.leave.slot}`);
      if (d?.metadata.labels?.version === step.restore!.version) continue;
      result.messages.push(`${step.service}: ${await restoreStandby(k, target, step, timeoutMs)}`);
    } catch (error) {
      result.warnings.push(
        `${step.service}: ${step.service}-${step.leave.slot} not restored to ${
          step.restore!.version
        } (${(error as Error).message}): a later rollback will refuse to use it`,
      );
    }
  }
  if (errors.length > 0) {
    throw new Error(
      `Cannot roll back ${errors.length} service(s) of ${target.name}: ${errors.join("; ")}`,
    );
  }
  if (plan.run) {
    const done: RunRecord = {
      ...plan.run,
      state: "rolled-back",
      finishedAt: new Date(ambientClock().now()).toISOString(),
    };
    const versions = [...new Set(result.services.map((s) => s.to.version))];
    await writeRunRecord(k, {
      target,
      ...(result.services.length > 0
        ? {
          info: {
            version: versions.length === 1 ? versions[0]! : "mixed",
            runId: options.runId,
            slots: Object.fromEntries(result.services.map((s) => [s.service, s.to.slot])),
            deployedBy: options.by,
            status: "rolled-back",
          },
        }
        : {}),
      ...(plan.source === "run" ? { run: done } : { release: done }),
      ...(plan.source === "run" && plan.run.state === "succeeded" ? { release: done } : {}),
    });
  }
  return result;
}
