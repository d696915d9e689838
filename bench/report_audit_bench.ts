// `deno task report audit production` over 1,000 runs: a synthetic history (real journals of
// 65 lines each, hash-chained, written with Journal; each run linking to the one before,
// signed with a key the environment file trusts) audited through the CLI in-process: every
// journal read and its chain checked, every signature verified, the cluster's record (a
// saved ConfigMap with the last 100 checkpoints) compared, DORA's four keys computed.
//
//   deno bench -A bench/report_audit_bench.ts
import { main } from "../lib/cli/main.ts";
import {
  checkpointsOf,
  deploymentInfo,
  environmentsTrusting,
  newKey,
  type RunSpec,
  writeHistory,
} from "../tests/audit/_history.ts";

const RUNS = 1_000;
const START = Date.parse("2026-01-01T00:00:00Z");
const STEP = 2 * 3_600_000; // a deploy every two hours

const key = await newKey();
const environments = await environmentsTrusting(key);
const runsDir = await Deno.makeTempDir({ prefix: "audit-bench-" });
const specs: RunSpec[] = Array.from({ length: RUNS }, (_, i) => ({
  runId: `run-${String(i).padStart(4, "0")}`,
  startedAt: new Date(START + i * STEP).toISOString(),
  finishedAt: new Date(START + i * STEP + 30 * 60_000).toISOString(),
  version: `v1.${i}.0`,
  status: i % 10 === 9 ? "rolled_back" : "succeeded",
  filler: 30,
}));
const written = await writeHistory(runsDir, specs, key);
const record = await Deno.makeTempFile({ suffix: ".json" });
await Deno.writeTextFile(
  record,
  JSON.stringify(deploymentInfo(checkpointsOf(written).slice(-100))),
);

const args = [
  "report",
  "audit",
  "production",
  "--runs-dir",
  runsDir,
  "--environments-dir",
  environments,
  "--record",
  record,
  "--since",
  "all",
  "--until",
  new Date(START + RUNS * STEP).toISOString(),
];
const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };

// Once before the bench: the history must audit whole, or the time means nothing.
const out: string[] = [];
const code = await main(args, { ...io, stdout: (t: string) => out.push(t) });
if (code !== 0) throw new Error(`the synthetic history does not audit whole:\n${out.join("")}`);

const times: number[] = [];
Deno.bench(`report audit over ${RUNS} runs (65-line journals, signed, 100 checkpoints)`, {
  n: 5,
  warmup: 1,
}, async () => {
  const t = performance.now();
  if (await main(args, io) !== 0) throw new Error("the audit failed");
  times.push(performance.now() - t);
});

globalThis.addEventListener("unload", () => {
  const sorted = times.sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2
    ? sorted[Math.floor(mid)]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  if (sorted.length > 0) {
    console.log(
      `report audit over ${RUNS} runs: median ${
        (median / 1000).toFixed(2)
      } s of ${sorted.length} ` +
        `(${sorted.map((t) => (t / 1000).toFixed(2)).join(", ")} s)`,
    );
  }
  Deno.removeSync(runsDir, { recursive: true });
  Deno.removeSync(record);
  Deno.removeSync(environments, { recursive: true });
});
