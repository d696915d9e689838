// The production rehearsal (deno task deploy production v1.2.4 --sandbox, its default
// virtual clock) on a clean API and under api-chaos at 5%, in one run, alternating (clean,
// chaos, clean, ...: a machine whose load drifts slows both alike): wall time (deno bench's
// table, pair by pair; each rehearsal's time and the medians printed at the end), and the
// faults each chaos rehearsal met (the sandbox's api-chaos.json). Pair i runs with --seed
// bench-<i> (its own traffic and faults), the same for both. Every rehearsal must succeed.
// `deno bench -A bench/api_chaos_bench.ts`; numbers in bench/README.md.

const root = await Deno.makeTempDir({ prefix: "tracktion-bench-api-chaos-" });
const PAIRS = 5;
const met: { requests: number; faults: number }[] = [];
const walls: Record<string, number[]> = { clean: [], chaos: [] };

async function rehearse(scenario: string | undefined, pair: number): Promise<void> {
  const dir = `${root}/${scenario ?? "clean"}-${pair}`;
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "deploy",
      "production",
      "v1.2.4",
      "--sandbox",
      "--sandbox-dir",
      `${dir}/sandbox`,
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
      "--confirm",
      "DEPLOY TO PRODUCTION",
      "--seed",
      `bench-${pair}`,
      ...(scenario ? ["--scenario", scenario] : []),
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  walls[scenario ? "chaos" : "clean"]!.push(performance.now() - t0);
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`${scenario ?? "clean"}: exit ${out.code}\n${text.slice(-2000)}`);
  }
  if (scenario) {
    const stats = JSON.parse(await Deno.readTextFile(`${dir}/sandbox/api-chaos.json`)) as {
      requests: number;
      faults: Record<string, number>;
    };
    met.push({
      requests: stats.requests,
      faults: Object.values(stats.faults).reduce((a, b) => a + b, 0),
    });
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

for (let pair = 0; pair < PAIRS; pair++) {
  for (const scenario of [undefined, "api-chaos"]) {
    Deno.bench({
      name: `production rehearsal, ${scenario ?? "clean API"}, seed bench-${pair}`,
      group: `pair ${pair}`,
      baseline: scenario === undefined,
      n: 1,
      warmup: 0,
      async fn() {
        await rehearse(scenario, pair);
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  for (const [kind, xs] of Object.entries(walls)) {
    const each = xs.map((x) => (x / 1000).toFixed(1)).join(", ");
    console.log(`${kind}: median ${(median(xs) / 1000).toFixed(1)} s (${each} s)`);
  }
  for (const m of met) {
    console.log(`api-chaos 5%: ${m.faults} faults in ${m.requests} API requests`);
  }
  Deno.removeSync(root, { recursive: true });
});
