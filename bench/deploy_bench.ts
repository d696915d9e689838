// The production rehearsal, measured: its wall time (deno bench), and — from the
// reports of the runs — how long from the first breaching sample to traffic restored
// on the old slot, and what running the pre-flight stages concurrently buys.
// `deno bench -A bench/deploy_bench.ts`; numbers in bench/README.md.
import { startSandbox } from "../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../lib/targets/sandbox_seed.ts";

const dir = await Deno.makeTempDir({ prefix: "tracktion-bench-deploy-" });
const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
let version = 0;

async function deploy(extra: string[] = []): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "deploy",
      "production",
      `v3.0.${version++}`,
      "--sandbox",
      "--sandbox-dir",
      `${dir}/sandbox`,
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
      ...CONFIRM,
      ...extra,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  const last = new TextDecoder().decode(out.stdout).trimEnd().split("\n").at(-1)!;
  return JSON.parse(await Deno.readTextFile(last.slice("report: ".length)));
}

type Stage = {
  id: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  checks: { durationMs: number }[];
  gates: { samples: { at: string; verdict: string }[] }[];
};

function preflightNumbers(report: Record<string, unknown>) {
  const stages = (report.stages as Stage[]).filter((s) => s.id.startsWith("preflight:"));
  const start = Math.min(...stages.map((s) => Date.parse(s.startedAt!)));
  const end = Math.max(...stages.map((s) => Date.parse(s.finishedAt!)));
  const sumStages = stages.reduce((a, s) => a + (s.durationMs ?? 0), 0);
  const sumChecks = stages.flatMap((s) => s.checks).reduce((a, c) => a + c.durationMs, 0);
  return { wall: end - start, sumStages, sumChecks };
}

function breachToRestored(report: Record<string, unknown>): number {
  const stages = report.stages as Stage[];
  const samples = stages.flatMap((s) => s.gates.flatMap((g) => g.samples));
  const breach = Math.min(
    ...samples.filter((x) => x.verdict === "failed").map((x) => Date.parse(x.at)),
  );
  const rollback = stages.find((s) => s.id === "rollback")!;
  return Date.parse(rollback.finishedAt!) - breach;
}

// A first deploy, so that every later one runs a real canary against a live slot.
{
  const s = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: `${dir}/sandbox`,
    timeScale: 600,
    maxRealRate: 400,
  });
  await deploy();
  await s.stop();
}

Deno.bench(
  "production rehearsal in the sandbox (canary 5% → 20% → 100%, ×60)",
  { n: 2, warmup: 0 },
  async () => {
    const report = await deploy();
    if (report.status !== "succeeded") throw new Error(String(report.error));
    const p = preflightNumbers(report);
    console.log(
      `pre-flight: wall ${p.wall} ms; stages' sum ${p.sumStages} ms; checks' sum ${p.sumChecks} ms`,
    );
  },
);

Deno.bench(
  "canary-errors: first breaching sample → traffic restored",
  { n: 3, warmup: 0 },
  async () => {
    const s = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: `${dir}/sandbox`,
      timeScale: 60,
      maxRealRate: 400,
      scenario: "canary-errors",
    });
    try {
      const report = await deploy();
      if (report.status !== "rolled_back") {
        throw new Error(
          `expected a rollback, got ${report.status}`,
        );
      }
      console.log(`breach → traffic restored: ${breachToRestored(report)} ms`);
    } finally {
      await s.stop();
    }
  },
);

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* best effort */ }
});
