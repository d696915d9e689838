/**
 * Tracktion's promotion, as code: the order a version goes through the environments
 * (`deno task promote <version>`: build → development → smoke tests → staging → integration
 * tests → production), and the pipeline that tests a leg once its deploy succeeded.
 *
 * The runbook's CI/CD pipeline (section 3) runs `smoke-tests.sh development` after the
 * development deploy and `integration-tests.sh staging` after the staging deploy. Here each
 * is a run of this file's pipeline on the environment just deployed: under the deploy lock,
 * it reads the environment's deployment record (the version must be its last successful
 * release, every service available on the slot the record names, its Service sending traffic
 * there), runs the suite as a Job labelled `type=test`, `suite`, `version` against what is now
 * live, then requires every test Job of this version in the namespace to have passed. Those
 * are the records production's gate reads of staging (`pipelines/stages/production_gate.ts`),
 * so a version whose staging tests failed is refused there too.
 *
 * `--option suite=smoke|integration` picks the suite; `suite=none` only reads the records
 * (the train's gate on a leg it did not run itself, `deno task promote ... --from staging`).
 * @module
 */
import { pipeline, stage } from "../mod.ts";
import type { PromotionDefinition } from "../lib/promote/mod.ts";
import type { KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { readRunRecord } from "../lib/kubernetes/strategies/mod.ts";
import { testJobPassed } from "../checks/test_jobs.ts";
import { deployContext } from "./stages/context.ts";
import { lockSeconds, lockStage, unlockStage } from "./stages/lock.ts";
import {
  sameVersionSucceeded,
  sourceHealthy,
  sourceTestsPassed,
} from "./stages/production_gate.ts";
import { testSuites } from "./stages/rollout.ts";

// The metrics the deploy's gates are typed against (its stage modules, imported here, use them).
export { metrics } from "./metrics.ts";

/**
 * The order of promotion: each leg deploys its environment with `pipelines/deploy.ts`, then
 * runs its suite with this file's pipeline. Production's own deploy gates it on staging
 * (`deployment.promote_from`) and runs its smoke tests before any traffic moves, as every
 * deploy does.
 */
export const promotion: PromotionDefinition = {
  // The runbook's build-and-push: build, SBOM, scan, sign every service's image (docs/build.md;
  // its options come from `--build-option`, e.g. signing-key=file:<key>).
  build: { pipeline: "pipelines/build.ts", environment: "development", record: "build:record" },
  deploy: "pipelines/deploy.ts",
  legs: [
    { environment: "development", tests: "smoke" },
    { environment: "staging", tests: "integration" },
    { environment: "production" },
  ],
};

const SUITES = ["smoke", "integration", "none"] as const;

export default pipeline("promotion-tests", ({ env, version, options }) => {
  const c = deployContext(env, version!, options);
  const suite = options.suite ?? "none";
  if (!(SUITES as readonly string[]).includes(suite)) {
    throw new RangeError(
      `Cannot use --option suite=${suite}: it takes ${
        SUITES.join(", ")
      } (none reads the records only)`,
    );
  }
  const spec = (runId: string, slot: "blue" | "green") =>
    testSuites(c, runId, slot).find((s) => s.suite === suite);
  if (suite !== "none" && spec("run", "blue") === undefined) {
    throw new RangeError(
      `Cannot run the ${suite} tests in ${env.name}: its deploy runs no ${suite} suite there`,
    );
  }
  const self = { environment: env.name, namespace: c.namespace };
  const lock = lockStage(c, lockSeconds(options), options["lock-seconds"] !== undefined);
  const released = stage("released").needs(lock).uses("kubernetes")
    .describe(
      `${env.name}'s deployment record: ${c.version.tag} is its last successful release, and it serves it`,
    )
    .check(sameVersionSucceeded(c, self), sourceHealthy(c, self));
  const tests = suite === "none" ? [] : [
    stage(`tests:${suite}`).needs(released).uses("kubernetes").timeout("40m")
      .describe(`run the ${suite} tests as a Job (type=test) against what ${env.name} now serves`)
      .run(async (ctx) => {
        const k = ctx.use<KubernetesCapability>("kubernetes");
        const record = await readRunRecord(k, { target: c.target });
        const live = Object.values(record.release?.services ?? {})[0]?.next.slot ?? "blue";
        const job = spec(ctx.runId, live)!;
        if (ctx.dryRun) {
          ctx.notice(`would run the ${suite} tests as Job ${job.name}`);
          return { job: job.name, slot: live };
        }
        const outcome = await ctx.check(
          testJobPassed(c.namespace, job, { pollMs: c.sandbox ? 1_000 : 5_000 }),
        );
        ctx.notice(outcome.message);
        if (!outcome.ok) throw new Error(outcome.message);
        return { job: job.name, slot: live };
      }),
  ];
  const recorded = stage("tests-recorded").needs(...tests, released).uses("kubernetes")
    .describe(`every test Job (type=test) of ${c.version.tag} in ${c.namespace} passed`)
    .check(sourceTestsPassed(c, self));
  const unlock = unlockStage(lock, [recorded]);
  return [lock, released, ...tests, recorded, unlock];
});
