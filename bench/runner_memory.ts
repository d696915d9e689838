// Peak resident memory of the runner process while it runs 1,000 no-op stages.
// `deno run -A bench/runner_memory.ts` (not a `deno bench` file: it measures once).
import { prepareRun } from "../lib/runner/prepare.ts";
import { executeRun } from "../lib/runner/run.ts";

const runsDir = await Deno.makeTempDir({ prefix: "tracktion-bench-" });
const before = Deno.memoryUsage().rss;
let peak = before;
const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
const t0 = performance.now();
const run = await prepareRun({
  pipelineFile: new URL("./fixtures/synthetic.ts", import.meta.url).pathname,
  environment: "development",
  options: { count: "1000", width: "50" },
  skipTypeCheck: true,
});
const out = await executeRun(run, {
  runsDir,
  concurrency: 4,
  approve: () => Promise.reject(new Error("no approvals")),
});
clearInterval(timer);
const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
console.log(
  `1,000 no-op stages: ${out.report.status} in ${(performance.now() - t0).toFixed(0)} ms; ` +
    `rss before ${mib(before)} MiB, peak ${mib(peak)} MiB`,
);
await Deno.remove(runsDir, { recursive: true });
