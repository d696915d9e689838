/**
 * Getting the new version live: migrations, the idle slot of every service, then the
 * traffic — blue-green (switch the Service selector), canary (HTTPRoute weights
 * 5% → 20% → 100%, gated on error rate and p95 latency, and at 5% and 20% on the p95
 * against the live slot's, the four services in lockstep), or rolling (the
 * Deployment's own strategy). Before any traffic moves, the environment's test suites run
 * as Jobs (`type=test`) against the new slot: smoke tests everywhere, integration tests
 * outside production (as the runbook's `post_deployment_validation` does); one that fails
 * fails the deploy with the traffic where it was.
 * @module
 */
import { assertStillThisRun } from "./guard.ts";
import { type Stage, stage, type StageContext } from "../../mod.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import {
  deployIdleSlot,
  liveSlot,
  rollingUpdate,
  type RunRecord,
  setWeights,
  type SlotDeployment,
  switchService,
  verifySlotHealth,
} from "../../lib/kubernetes/strategies/mod.ts";
import { SERVICE_PORT, type Slot, type SlotWeights } from "../../lib/kubernetes/slots.ts";
import { podProxyFetch } from "../../lib/kubernetes/proxy_fetch.ts";
import type { DatabaseCapability } from "../../lib/capabilities/database.ts";
import { testJobPassed, type TestJobSpec } from "../../checks/test_jobs.ts";
import { announce } from "./finish.ts";
import type { DeployContext } from "./context.ts";
import { pinningImages } from "./images.ts";

/** What a deploy stage hands on. */
export type Deployed = Pick<SlotDeployment, "service" | "slot" | "previousSlot" | "version"> & {
  /** Rolling updates: the version the slot ran before (a rollback re-applies it). */
  previousVersion?: string;
};

/** The canary steps of the runbook: traffic share, duration, thresholds. */
export const CANARY_STEPS = [
  { id: "canary-5", percent: 5, duration: "15m", errorRate: "1%", p95: "2000ms" },
  { id: "canary-20", percent: 20, duration: "30m", errorRate: "0.5%", p95: "1500ms" },
] as const;

/**
 * The confidence of the canary steps' baseline comparison (sequential gates): 8 healthy
 * comparisons per deploy (4 services × 2 steps) at α = 0.0001 each keep the deploy's false
 * alarms from them ≤ 0.08%. A healthy canary *is* its baseline, so a comparison spends all
 * of its α (unlike the threshold gates, far from their thresholds): at 0.999 (≤ 0.8%),
 * 2 of 120 healthy simulated deploys were rolled back. A +1 s shift is still found in a look
 * or two (p far below 1e-6 with hundreds of requests).
 */
export const BASELINE_CONFIDENCE = 0.9999;

/** How the canary steps' gates decide: `sequential` (the default) or `fixed` (the runbook's). */
export type GateKind = "fixed" | "sequential";

/**
 * The gate kind a run asks for with `--option gates=fixed|sequential` (default sequential),
 * so that `simulate --compare-gates` can run both on the same seeds.
 */
export function gateKindOf(options: Readonly<Record<string, string>>): GateKind {
  const kind = options.gates ?? "sequential";
  if (kind !== "fixed" && kind !== "sequential") {
    throw new RangeError(`--option gates takes fixed or sequential, got "${kind}"`);
  }
  return kind;
}

function kube(ctx: StageContext): KubernetesCapability {
  return ctx.use<KubernetesCapability>("kubernetes");
}

function weightsFor(slot: Slot, percent: number): SlotWeights {
  return slot === "green"
    ? { green: percent, blue: 100 - percent }
    : { blue: percent, green: 100 - percent };
}

/** The migration stage: the engine, with only the database in its permissions. */
export function migrateStage(c: DeployContext, after: Stage<unknown>) {
  return stage("migrate").needs(after).uses("database").timeout("30m")
    .describe("apply pending migrations (expand/contract: the old version must keep working)")
    .run(async (ctx) => {
      const db = ctx.use<DatabaseCapability>("database");
      const result = await db.migrateUp("migrations", {
        // The same rule as `deno task migrate` and the pre-flight lint.
        lint: c.env.deployment.require_confirmation ? "block" : "warn",
        appliedBy: ctx.user,
        dryRun: ctx.dryRun,
      });
      const names = result.migrations.map((m) => `${m.version} ${m.name}`);
      ctx.notice(
        `${ctx.dryRun ? "would apply" : "applied"} ${names.length} migration(s)${
          names.length ? `: ${names.join(", ")}` : ""
        }; schema ${result.fromVersion ?? "empty"} → ${result.toVersion ?? "empty"}`,
      );
      if (names.length > 0) {
        ctx.log(
          "traffic rollback does not undo migrations: they must stay compatible with the previous version",
        );
      }
      return result;
    });
}

/**
 * One stage per service: deploy the idle slot, wait for the rollout, verify health. Each
 * first checks that the cluster still matches what `record:start` recorded.
 */
export function deployStages(c: DeployContext, start: Stage<RunRecord>): Stage<Deployed>[] {
  const rolling = c.env.deployment.strategy === "rolling";
  return c.services.map((service) =>
    stage(`deploy:${service}`).needs(start).uses("kubernetes")
      .timeout(c.env.deployment.rollout_deadline.ms + 5 * 60_000)
      .describe(rolling ? `rolling update of ${service}` : `deploy ${service} to its idle slot`)
      .run(async (ctx): Promise<Deployed> => {
        // This version's images by the build's digests, when it gave them (images.ts).
        const k = pinningImages(kube(ctx), c.build, c.taggedImages);
        const target = c.target;
        const live = await liveSlot(k, { target, service });
        const slot: Slot = rolling ? live ?? "blue" : live === "blue" ? "green" : "blue";
        const recorded = ctx.output(start).services[service];
        if (
          recorded && (recorded.next.slot !== slot || (recorded.previous?.slot ?? null) !== live)
        ) {
          throw new Error(
            `${service}: the Service selects ${live ?? "nothing"} now, but record:start recorded ${
              recorded.previous?.slot ?? "nothing"
            }: the cluster changed during the run`,
          );
        }
        if (ctx.dryRun) {
          ctx.notice(`would deploy ${c.images[service]} to ${service}-${slot}`);
          return { service, slot, previousSlot: live, version: c.version.version };
        }
        // Rolling: the Deployment's own strategy (maxSurge/maxUnavailable 25%) on the live slot.
        const deploy = { target, service, version: c.version.version, pollMs: 500 };
        const deployed: Deployed = rolling
          ? await rollingUpdate(k, deploy)
          : await deployIdleSlot(k, deploy);
        ctx.notice(`${c.images[service]} rolled out to ${service}-${deployed.slot}`);
        // Pods are asked through the API server's proxy: no network grant, the same
        // path in the sandbox and in a real cluster.
        const health = await verifySlotHealth(k, {
          target,
          service,
          slot: deployed.slot,
          version: c.version.version,
          signal: ctx.signal,
          addressOf: (pod) => `${pod.metadata.name}:${SERVICE_PORT}`,
          fetch: podProxyFetch(k, c.namespace),
          ...(c.sandbox ? { intervalMs: 500 } : {}),
        });
        ctx.log(health.message);
        if (!health.healthy) throw new Error(health.message);
        return {
          service: deployed.service,
          slot: deployed.slot,
          previousSlot: deployed.previousSlot,
          version: deployed.version,
          ...(deployed.previousVersion ? { previousVersion: deployed.previousVersion } : {}),
        };
      })
  );
}

/**
 * What a traffic stage's gates measure: per service, the new slot (`canary`) paired with
 * the live one (`baseline`, for baseline gates; the other gates measure the canary). A
 * first deploy has no live slot: `baseline: null` says so, and baseline gates then record
 * the service as not compared instead of failing.
 */
function targets(c: DeployContext, deployed: readonly Deployed[]) {
  return {
    analysisTargets: deployed.map((d) => ({
      canary: { namespace: c.namespace, service: d.service, slot: d.slot },
      baseline: d.previousSlot && d.previousSlot !== d.slot
        ? { namespace: c.namespace, service: d.service, slot: d.previousSlot }
        : null,
    })),
  };
}

/**
 * The runbook's test suites for this run, as Jobs labelled `type=test`, `suite` and `version`:
 * `smoke` everywhere, `integration` outside production. They run the first service's image
 * at the version being deployed, pointed at the new slot.
 *
 * @param c The deploy's context.
 * @param runId The run (the Job names end with a part of it, so every run has its own).
 * @param slot The new slot the tests are pointed at.
 * @returns One Job per suite.
 *
 * @example
 * ```ts ignore
 * testSuites(c, ctx.runId, "green").map((s) => s.suite); // ["smoke", "integration"] in staging
 * ```
 */
export function testSuites(c: DeployContext, runId: string, slot: Slot): TestJobSpec[] {
  const suffix = `${c.version.version.replace(/[^a-z0-9]/gi, "-")}-${
    runId.toLowerCase().replace(/[^a-z0-9]/g, "").slice(-6)
  }`.toLowerCase();
  const image = c.images[c.services[0]!]!;
  const env = {
    ENVIRONMENT: c.env.name,
    NAMESPACE: c.namespace,
    SERVICE_VERSION: c.version.version,
    TARGET_SLOT: slot,
  };
  const labels = { app: c.target.app, version: c.version.version, environment: c.env.name };
  const suites: TestJobSpec[] = [{
    name: `smoke-tests-${suffix}`,
    suite: "smoke",
    image,
    command: ["./scripts/smoke-tests.sh", c.env.name],
    env,
    labels,
  }];
  if (c.env.name !== "production") {
    suites.push({
      name: `integration-tests-${suffix}`,
      suite: "integration",
      image,
      command: ["uv", "run", "pytest", "tests/integration/", "--junit-xml=/tmp/results.xml"],
      env,
      labels,
    });
  }
  return suites;
}

/**
 * Runs the test suites (one after the other: integration only after smoke passed) and throws
 * when one failed, naming it; the stage's report has each Job's evidence.
 */
async function runTestSuites(
  ctx: StageContext,
  c: DeployContext,
  deployed: readonly Deployed[],
): Promise<void> {
  const slot = deployed[0]?.slot ?? "blue";
  for (const suite of testSuites(c, ctx.runId, slot)) {
    if (ctx.dryRun) {
      ctx.notice(`would run the ${suite.suite} tests as Job ${suite.name}`);
      continue;
    }
    const outcome = await ctx.check(
      testJobPassed(c.namespace, suite, { pollMs: c.sandbox ? 1_000 : 5_000 }),
    );
    ctx.notice(outcome.message);
    if (!outcome.ok) {
      throw new Error(`${outcome.message}; no traffic was moved to the new slot`);
    }
  }
}

/**
 * The test suites as a stage of their own, before the canary's first step.
 *
 * @example
 * ```ts ignore
 * const tests = testsStage(c, deploys); // canary-5 then needs it
 * ```
 */
export function testsStage(c: DeployContext, deploys: readonly Stage<Deployed>[]) {
  return stage("tests").needs(...deploys).uses("kubernetes").timeout("40m")
    .describe(
      `run the test Jobs (type=test: ${
        testSuites(c, "run", "blue").map((s) => s.suite).join(", ")
      }) against the new slot before any traffic moves`,
    )
    .run((ctx) => runTestSuites(ctx, c, deploys.map((d) => ctx.output(d))));
}

/** Blue-green: the test Jobs, then switch every Service's selector to the new slot at once. */
export function switchStage(c: DeployContext, deploys: readonly Stage<Deployed>[]) {
  return stage("switch").needs(...deploys).uses("kubernetes", "notifications")
    .describe("run the test Jobs against the new slot, then switch each Service's selector to it")
    .run(async (ctx) => {
      const k = kube(ctx);
      const deployed = deploys.map((d) => ctx.output(d));
      // Rolling updates have no idle slot: their tests run on what is now live.
      await runTestSuites(ctx, c, deployed);
      await assertStillThisRun(ctx, c);
      for (const d of deployed) {
        if (ctx.dryRun) {
          ctx.notice(`would switch ${d.service} to ${d.slot}`);
          continue;
        }
        const sw = await switchService(k, { target: c.target, service: d.service, slot: d.slot });
        if (
          await k.get(
            { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" },
            c.namespace,
            d.service,
          )
        ) {
          await setWeights(k, {
            target: c.target,
            service: d.service,
            weights: weightsFor(d.slot, 100),
          });
        }
        ctx.notice(
          `${d.service}: traffic ${sw.previousSlot ?? "none"} → ${d.slot} (${sw.activePods} pods)`,
        );
        if (sw.activePods === 0) {
          throw new Error(`${d.service}: no running pods behind the new selector`);
        }
      }
      await announce(
        ctx,
        c,
        "promoted",
        `${c.version.tag} promoted in ${c.env.name}: traffic switched to the new slot`,
      );
      return targets(c, deployed);
    });
}

/**
 * Canary: the steps of the runbook, each gated, then full traffic (and the Service
 * selectors) on the new slot with the strictest thresholds.
 */
export function canaryStages(
  c: DeployContext,
  deploys: readonly Stage<Deployed>[],
  gates: GateKind = "sequential",
): Stage<unknown>[] {
  const shift = (percent: number, phase: string) => async (ctx: StageContext) => {
    const k = kube(ctx);
    const deployed = deploys.map((d) => ctx.output(d));
    await assertStillThisRun(ctx, c);
    for (const d of deployed) {
      if (ctx.dryRun) {
        ctx.notice(`would send ${percent}% of ${d.service} to ${d.slot}`);
        continue;
      }
      if (d.previousSlot === null || percent === 100) {
        // A first deploy has nothing to compare with: all traffic, and the selector, move.
        await switchService(k, { target: c.target, service: d.service, slot: d.slot });
      }
      const w = await setWeights(k, {
        target: c.target,
        service: d.service,
        weights: weightsFor(d.slot, d.previousSlot === null ? 100 : percent),
      });
      ctx.notice(`${d.service}: blue ${w.blue}% / green ${w.green}%`);
    }
    await announce(
      ctx,
      c,
      phase,
      percent === 100
        ? `${c.version.tag} promoted in ${c.env.name}: 100% of traffic on the new slot`
        : deployed.every((d) => d.previousSlot === null)
        ? `${c.version.tag} ${phase} in ${c.env.name}: a first deploy, all traffic on it already`
        : `${c.version.tag} ${phase} in ${c.env.name}: ${percent}% of traffic on the new slot`,
    );
    return targets(c, deployed);
  };
  const tests: Stage<unknown> = testsStage(c, deploys);
  let previous: Stage<unknown> = tests;
  const stages: Stage<unknown>[] = [tests];
  for (const step of CANARY_STEPS) {
    const base = stage(step.id).needs(...deploys, previous)
      .uses("kubernetes", "notifications")
      .describe(`${step.percent}% of traffic on the new slot for ${step.duration}`)
      .run(shift(step.percent, step.id));
    // The same thresholds either way: tested sequentially at 99% every 10 s, or compared
    // per minute over 5-minute windows after 2 minutes, as the runbook does. Sequentially,
    // the p95 is also compared with the live slot's (Mann–Whitney U): +1 s on a 450 ms p95
    // stays under both thresholds, but not under the baseline. Its false alarms: each
    // comparison spends α = 1 − 0.9999 over its looks (Bonferroni), so a healthy version
    // (the same distribution on both slots) fails one of the 8 comparisons of a deploy
    // (4 services × 2 steps) with probability ≤ 8 × 0.0001 = 0.08% (union bound); at
    // Kayenta's 0.98 it would be up to 16%. There is no baseline at 100% (full-rollout).
    const s = (gates === "sequential"
      ? base.gate(`error_rate < ${step.errorRate}`, { decide: "sequential", confidence: 0.99 })
        .gate(`p95_latency < ${step.p95}`, { decide: "sequential", confidence: 0.99 })
        .gate(`p95_latency < ${step.p95}`, { decide: "baseline", confidence: BASELINE_CONFIDENCE })
        .for(step.duration).every("1m")
      : base.gate(`error_rate < ${step.errorRate}`).gate(`p95_latency < ${step.p95}`)
        .for(step.duration).every("1m").window("5m").initialDelay("2m"))
      .onBreach(c.onBreach);
    stages.push(s);
    previous = s;
  }
  const full = stage("full-rollout").needs(...deploys, previous)
    .uses("kubernetes", "notifications")
    .describe("100% of traffic and the Service selectors on the new slot")
    .run(shift(100, "promoted"));
  stages.push(
    (gates === "sequential"
      // 20 minutes, not 10: at the thinnest service's traffic (file-watcher, 100 req/s) a
      // healthy version (0.05%) is shown under 0.1% at 99% within 10 minutes in only ~86% of
      // runs (the rest fail closed, undecided), within 15 in ~99%, within 20 in all of 300
      // simulated steps (and still ~92% if its true rate were 0.06%).
      ? full.gate("error_rate < 0.1%", { decide: "sequential", confidence: 0.99 })
        .gate("p95_latency < 1000ms", { decide: "sequential", confidence: 0.99 })
        .for("20m").every("1m")
      : full.gate("error_rate < 0.1%").gate("p95_latency < 1000ms")
        .for("10m").every("1m").window("5m").initialDelay("2m"))
      .onBreach(c.onBreach),
  );
  return stages;
}
