/**
 * Carries out a rollback plan of `planRollback` (`strategies_rollback.ts`): traffic back
 * first, then the standby slots of a run that never finished, then the record.
 * Re-exported by `strategies.ts`.
 * @module
 */
import type { Environment } from "../config/mod.ts";
import type { KindRef, KubeObject, KubernetesCapability } from "./capability.ts";
import { deploymentManifest, type ManifestOptions, type SlotWeights } from "./manifests.ts";
import { DELETE_AFTER_ANNOTATION, rollbackService } from "./strategies_traffic.ts";
import { type RunRecord, type SlotVersion, writeRunRecord } from "./strategies_record.ts";
import type { RollbackPlanOk, RollbackStep } from "./strategies_rollback.ts";

const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };

/**
 * What {@linkcode executeRollback} did.
 *
 * @example
 * ```ts
 * import type { RollbackResult } from "./strategies_restore.ts";
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
 * import type { ExecuteRollbackOptions } from "./strategies_restore.ts";
 * const o: ExecuteRollbackOptions = { runId: "r2", by: "ann", timeoutMs: 60_000 };
 * ```
 */
export interface ExecuteRollbackOptions extends ManifestOptions {
  /** The run doing the rollback (for the record's flat keys). */
  runId: string;
  /** Who. */
  by: string;
  /** How long to wait for a rollout (default: the rollout deadline plus 30 s). */
  timeoutMs?: number | undefined;
}

async function restoreStandby(
  k: KubernetesCapability,
  env: Environment,
  step: RollbackStep,
  timeoutMs: number,
): Promise<string> {
  const restore = step.restore!;
  const namespace = env.environment.namespace;
  const name = `${step.service}-${step.leave.slot}`;
  const manifest: KubeObject = deploymentManifest(env, {
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
 * @param env The environment.
 * @param plan The plan.
 * @param options The acting run, who, the rollout timeout.
 * @returns What was done.
 * @throws {Error} Naming the services whose traffic could not be put back.
 *
 * @example
 * ```ts ignore
 * import { executeRollback, planRollback } from "./strategies.ts";
 * import type { KubernetesCapability } from "./capability.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * declare const k: KubernetesCapability; // ctx.use<KubernetesCapability>("kubernetes")
 * const env = await loadEnvironment("staging");
 * const plan = await planRollback(k, env);
 * if (plan.ok) console.log((await executeRollback(k, env, plan, { runId: "r2", by: "ann" })).messages);
 * ```
 */
export async function executeRollback(
  k: KubernetesCapability,
  env: Environment,
  plan: RollbackPlanOk,
  options: ExecuteRollbackOptions,
): Promise<RollbackResult> {
  const namespace = env.environment.namespace;
  const timeoutMs = options.timeoutMs ?? env.deployment.rollout_deadline.ms + 30_000;
  const result: RollbackResult = { messages: [], warnings: [], services: [] };
  const errors: string[] = [];
  for (const step of plan.steps) {
    const { service, to, leave } = step;
    try {
      let weights: SlotWeights | null = null;
      if (to.slot === leave.slot) {
        await k.apply(deploymentManifest(env, { service, slot: to.slot, version: to.version }));
        const r = await k.waitForRollout(namespace, `${service}-${to.slot}`, {
          timeoutMs,
          pollMs: 500,
        });
        if (!r.done) throw new Error(r.message);
      } else {
        weights = (await rollbackService(k, env, service, to.slot, options)).weights;
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
      result.messages.push(`${step.service}: ${await restoreStandby(k, env, step, timeoutMs)}`);
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
      `Cannot roll back ${errors.length} service(s) of ${env.name}: ${errors.join("; ")}`,
    );
  }
  if (plan.run) {
    const done: RunRecord = {
      ...plan.run,
      state: "rolled-back",
      finishedAt: new Date().toISOString(),
    };
    const versions = [...new Set(result.services.map((s) => s.to.version))];
    await writeRunRecord(k, env, {
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
    }, options);
  }
  return result;
}
