/**
 * The production gate: what the runbook's `deploy_production.sh` checks before a production
 * deploy (`production_pre_checks`), for an environment whose file says
 * `deployment.promote_from` (production: staging). Staging is healthy, **the same version
 * succeeded there** (read from staging's deployment record, never assumed), staging's test
 * Jobs (`type=test`) passed, the production cluster's capacity is at most 70%, and a backup
 * is younger than 6 hours. It runs with the other pre-flight stages, so a version staging
 * never had is refused before anything changes.
 * @module
 */
import { type Check, type Stage, stage } from "../../mod.ts";
import { nodeCapacity } from "../../checks/kubernetes.ts";
import { kubeCheck } from "../../checks/kubernetes_check.ts";
import { fail, pass } from "../../checks/_outcome.ts";
import { recentBackupJob } from "../../checks/backup.ts";
import type { KubeObject, KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { type DeploymentRecord, readRunRecord } from "../../lib/kubernetes/strategies/mod.ts";
import type { DeployContext } from "./context.ts";

/** `deploy_production.sh`: the newest production backup must be younger than this. */
export const PRODUCTION_BACKUP_MAX_AGE = "6h";
/** `deploy_production.sh`: the production cluster's capacity may be at most this (percent). */
export const PRODUCTION_MAX_CAPACITY_PERCENT = 70;

const JOB = { apiVersion: "batch/v1", kind: "Job" } as const;
const SERVICE = { apiVersion: "v1", kind: "Service" } as const;

/** Where the version must have succeeded first. */
interface Source {
  readonly environment: string;
  readonly namespace: string;
}

async function record(k: KubernetesCapability, c: DeployContext, from: Source) {
  return await readRunRecord(k, { target: { ...c.target, namespace: from.namespace } });
}

function current(r: DeploymentRecord): string {
  if (r.release) return `${r.release.version} (run ${r.release.runId})`;
  return r.exists ? "no successful deploy recorded" : "nothing: it has no deployment record";
}

/**
 * The version being deployed is the one staging's record says last succeeded there (its
 * `release`; a later run that failed is in the evidence: {@linkcode sourceHealthy} checks that
 * staging still serves the release).
 *
 * @example
 * ```ts ignore
 * stage("preflight:production").check(sameVersionSucceeded(c, { environment: "staging", namespace: "shop-staging" }));
 * ```
 */
export function sameVersionSucceeded(c: DeployContext, from: Source): Check {
  const version = c.version.version;
  return kubeCheck(`Same version succeeded in ${from.environment}`, async (k) => {
    const r = await record(k, c, from);
    const evidence = {
      environment: from.environment,
      namespace: from.namespace,
      version,
      release: r.release
        ? { version: r.release.version, runId: r.release.runId, finishedAt: r.release.finishedAt }
        : null,
      latestRun: r.run ? { version: r.run.version, runId: r.run.runId, state: r.run.state } : null,
      problems: r.problems,
    };
    const deployFirst =
      `deploy it to ${from.environment} first (deno task deploy ${from.environment} ${c.version.tag})`;
    if (r.release?.version !== version) {
      return fail(
        `${c.version.tag} never succeeded in ${from.environment}: ${from.environment} runs ${
          current(r)
        }; ${deployFirst}`,
        evidence,
      );
    }
    return pass(
      `${c.version.tag} succeeded in ${from.environment} (run ${r.release.runId})`,
      evidence,
    );
  });
}

/**
 * Every service of staging's release runs on the slot its record names with all replicas
 * updated and available (`kubectl rollout status` of each live Deployment), and its Service
 * sends traffic there (the runbook curls staging's health; this reads what serves it).
 *
 * @example
 * ```ts ignore
 * stage("preflight:production").check(sourceHealthy(c, { environment: "staging", namespace: "shop-staging" }));
 * ```
 */
export function sourceHealthy(c: DeployContext, from: Source): Check {
  return kubeCheck(`${from.environment} is healthy`, async (k) => {
    const r = await record(k, c, from);
    if (!r.release) {
      return fail(`${from.environment} has no live release to check (${current(r)})`, {
        namespace: from.namespace,
      });
    }
    const services: Record<string, string> = {};
    const unhealthy: string[] = [];
    for (const [service, s] of Object.entries(r.release.services)) {
      const name = `${service}-${s.next.slot}`;
      const status = await k.rolloutStatus(from.namespace, name);
      services[service] = `${name}: ${status.availableReplicas}/${status.replicas} available`;
      if (!status.done || status.availableReplicas === 0) unhealthy.push(status.message);
      // The record says where traffic is; the Service's selector is where it really goes.
      const svc = await k.get(SERVICE, from.namespace, service);
      const live = (svc?.spec as { selector?: Record<string, string> } | undefined)?.selector?.slot;
      if (live !== undefined && live !== s.next.slot) {
        unhealthy.push(
          `Service ${service} sends traffic to ${live}, not the release's ${s.next.slot} (${s.next.version})`,
        );
      }
    }
    const evidence = { namespace: from.namespace, version: r.release.version, services };
    if (Object.keys(services).length === 0) {
      return fail(`${from.environment}'s release records no services`, evidence);
    }
    if (unhealthy.length > 0) {
      return fail(`${from.environment} is not healthy: ${unhealthy.join("; ")}`, evidence);
    }
    return pass(
      `${from.environment} runs ${r.release.version}: ${
        Object.keys(services).length
      } services available`,
      evidence,
    );
  });
}

function jobState(job: KubeObject): "passed" | "failed" | "running" {
  const conditions = ((job.status as Record<string, unknown> | undefined)?.conditions ??
    []) as Record<string, unknown>[];
  const holds = (type: string) => conditions.some((x) => x.type === type && x.status === "True");
  return holds("Failed") ? "failed" : holds("Complete") ? "passed" : "running";
}

/**
 * Staging's test Jobs (label `type=test`) passed: at least one ran, and none failed or is
 * still running (the runbook: no `Complete=False`; none at all is no evidence, so it fails
 * closed). Jobs labelled with a `version` count only when it is this version.
 *
 * @example
 * ```ts ignore
 * stage("preflight:production").check(sourceTestsPassed(c, { environment: "staging", namespace: "shop-staging" }));
 * ```
 */
export function sourceTestsPassed(c: DeployContext, from: Source): Check {
  const version = c.version.version;
  return kubeCheck(`${from.environment} tests passed`, async (k) => {
    const jobs = (await k.list(JOB, from.namespace, { labelSelector: "type=test" })).filter((j) => {
      const v = j.metadata.labels?.version;
      return v === undefined || v === version || v === c.version.tag;
    });
    const states = Object.fromEntries(jobs.map((j) => [j.metadata.name, jobState(j)]));
    const failed = Object.keys(states).filter((n) => states[n] === "failed");
    const running = Object.keys(states).filter((n) => states[n] === "running");
    const evidence = { namespace: from.namespace, selector: "type=test", version, jobs: states };
    if (failed.length > 0) {
      return fail(
        `${from.environment} tests failed: ${
          failed.join(", ")
        } (kubectl logs job/<name> -n ${from.namespace})`,
        evidence,
      );
    }
    if (running.length > 0) {
      return fail(`${from.environment} tests still running: ${running.join(", ")}`, evidence);
    }
    if (jobs.length === 0) {
      return fail(
        `${from.environment} ran no test Jobs (type=test) for ${c.version.tag}: its deploy runs them; deploy it there first`,
        evidence,
      );
    }
    return pass(`${jobs.length} test Job(s) passed in ${from.environment}`, evidence);
  });
}

/**
 * `preflight:production`: the production gate, with the other pre-flight stages (so before
 * the confirmation and before anything changes). Reads the promotion source's namespace
 * (its deployment record, Deployments and test Jobs) and the production cluster's node
 * metrics and backup Jobs; changes nothing. Undefined when the file names no
 * `deployment.promote_from`.
 *
 * @example
 * ```ts ignore
 * const gate = productionGateStage(c, lock);
 * const preflight = [...preflightStages(c, lock), ...(gate ? [gate] : [])];
 * ```
 */
export function productionGateStage(
  c: DeployContext,
  lock: Stage<unknown>,
): Stage<unknown> | undefined {
  const from = c.env.deployment.promote_from;
  if (!from) return undefined;
  const max = PRODUCTION_MAX_CAPACITY_PERCENT;
  return stage("preflight:production").needs(lock)
    .uses({ kubernetes: { namespaces: [from.namespace] } })
    .describe(
      `${from.environment} healthy and ran ${c.version.tag} with its tests passed; capacity <= ${max}%; a backup within ${PRODUCTION_BACKUP_MAX_AGE}`,
    )
    .check(
      sameVersionSucceeded(c, from),
      sourceHealthy(c, from),
      sourceTestsPassed(c, from),
      // deploy_production.sh refuses above 70% (the average of CPU and memory); each is held
      // to it here (at or above 70.0% fails, as the other capacity checks count).
      nodeCapacity("cpu", { maxPercent: max, name: `${c.env.name} CPU capacity below ${max}%` }),
      nodeCapacity("memory", {
        maxPercent: max,
        name: `${c.env.name} memory capacity below ${max}%`,
      }),
      recentBackupJob(c.namespace, {
        maxAge: PRODUCTION_BACKUP_MAX_AGE,
        ...(c.env.backup ? { cronjob: c.env.backup.cronjob } : {}),
        name: `${c.env.name} backup within ${PRODUCTION_BACKUP_MAX_AGE}`,
      }),
    );
}
