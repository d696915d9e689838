// Runner overhead: a no-op stage in its permissioned Worker, planning and running a
// 1,000-stage synthetic graph and running a 200-stage one. Numbers and targets: bench/README.md.
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

// Every stage gets a Worker of its own (issue 9: no reuse across stages). Three ways
// to compare in one run: a Worker started when the stage starts (cold), one started
// ahead while earlier stages ran (what the engine does), and — the old behaviour,
// unsafe — a stage run in a Worker that already served another stage.
const pool = new WorkerPool(one.pipelineUrl, { redactor: one.redactor });
Deno.bench("no-op stage in a Worker started for it (cold)", {
  group: "stage overhead",
  baseline: true,
}, async () => {
  await pool.run(grant, request, hooks);
});

Deno.bench(
  "no-op stage in a Worker started ahead (the engine's pre-start)",
  { group: "stage overhead" },
  async (b) => {
    await pool.prepare("s0", grant);
    b.start();
    await pool.run(grant, request, hooks);
    b.end();
  },
);

const reused = new Worker(
  `data:application/javascript;base64,${
    btoa(
      `import { serveStages } from ${
        JSON.stringify(new URL("../lib/runner/worker_runtime.ts", import.meta.url).href)
      };\nserveStages(() => import(${JSON.stringify(one.pipelineUrl)}));\n`,
    )
  }`,
  { type: "module", deno: { permissions: "none" } },
);
const roundTrip = () =>
  new Promise<void>((resolve) => {
    reused.onmessage = (e) => {
      if (e.data.type === "done" || e.data.type === "error") resolve();
    };
    reused.postMessage(request);
  });
await roundTrip();
Deno.bench(
  "no-op stage in a reused Worker (before issue 9; unsafe)",
  { group: "stage overhead" },
  async () => {
    await roundTrip();
  },
);

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
  options: { count: "200", width: "50" },
  skipTypeCheck: true,
});
Deno.bench("run 200 no-op stages (concurrency 4)", { n: 3, warmup: 1 }, async () => {
  const out = await executeRun(big, { runsDir, concurrency: 4, approve });
  if (out.report.status !== "succeeded") throw new Error(out.report.error);
});

globalThis.addEventListener("unload", () => {
  pool.close();
  reused.terminate();
  Deno.removeSync(runsDir, { recursive: true });
});
