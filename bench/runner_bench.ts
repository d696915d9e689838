// Runner overhead: a no-op stage in its permissioned Worker, planning and running a
// 1,000-stage synthetic graph. Numbers and targets: bench/README.md.
import { prepareRun } from "../lib/runner/prepare.ts";
import { executeRun } from "../lib/runner/run.ts";
import { WorkerPool } from "../lib/runner/worker_pool.ts";
import { formatPlanText, planOf } from "../lib/cli/plan.ts";

const SYNTHETIC = new URL("./fixtures/synthetic.ts", import.meta.url).pathname;
const runsDir = await Deno.makeTempDir({ prefix: "tracktion-bench-" });
const approve = () => Promise.reject(new Error("no approvals"));

const one = await prepareRun({
  pipelineFile: SYNTHETIC,
  environment: "development",
  options: { count: "1", width: "1" },
  skipTypeCheck: true,
});
const grant = one.grants.get("s0")!;
const request = {
  type: "run" as const,
  stageId: "s0",
  pipeline: "synthetic",
  runId: "bench",
  user: "bench",
  environmentName: "development",
  env: one.env,
  version: undefined,
  options: { count: "1", width: "1" },
  dryRun: false,
  attempt: 1,
  outputs: {},
  failures: [],
};
const hooks = { log() {}, check() {}, call: () => Promise.resolve(undefined) };

const fresh = new WorkerPool(one.pipelineUrl, { reuse: false });
Deno.bench("no-op stage in a fresh permissioned Worker", {
  group: "stage overhead",
  baseline: true,
}, async () => {
  await fresh.run(grant, request, hooks);
});

const pooled = new WorkerPool(one.pipelineUrl);
await pooled.run(grant, request, hooks);
Deno.bench("no-op stage in a reused Worker (same grant)", { group: "stage overhead" }, async () => {
  await pooled.run(grant, request, hooks);
});

Deno.bench(
  "plan a 1,000-stage graph (build, validate, grants, format)",
  { n: 10, warmup: 2 },
  async () => {
    const run = await prepareRun({
      pipelineFile: SYNTHETIC,
      environment: "development",
      options: { count: "1000", width: "50" },
      skipTypeCheck: true,
    });
    formatPlanText(planOf(run));
  },
);

const big = await prepareRun({
  pipelineFile: SYNTHETIC,
  environment: "development",
  options: { count: "1000", width: "50" },
  skipTypeCheck: true,
});
Deno.bench("run 1,000 no-op stages (concurrency 4)", { n: 3, warmup: 1 }, async () => {
  const out = await executeRun(big, { runsDir, concurrency: 4, approve });
  if (out.report.status !== "succeeded") throw new Error(out.report.error);
});

globalThis.addEventListener("unload", () => {
  fresh.close();
  pooled.close();
  Deno.removeSync(runsDir, { recursive: true });
});
