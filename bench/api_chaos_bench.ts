// The production rehearsal (deno task deploy production v1.2.4 --sandbox, its default
// virtual clock) on a clean API and under api-chaos at 5%, in one run: wall time (deno bench),
// and after the run the faults each chaos rehearsal met (the sandbox's api-chaos.json). Each
// iteration has its own seed (--seed bench-<n>: other traffic, other faults), the same seeds
// for both. Every rehearsal must succeed.
// `deno bench -A bench/api_chaos_bench.ts`; numbers in bench/README.md.

const root = await Deno.makeTempDir({ prefix: "tracktion-bench-api-chaos-" });
const met: { requests: number; faults: number }[] = [];
let n = 0;

async function rehearse(scenario: string | undefined): Promise<void> {
  const dir = `${root}/${n}`;
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
      `bench-${n % 6}`,
      ...(scenario ? ["--scenario", scenario] : []),
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
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
  n++;
}

for (const scenario of [undefined, "api-chaos"]) {
  Deno.bench({
    name: `production rehearsal, ${scenario ?? "clean API"}`,
    group: "api-chaos",
    baseline: scenario === undefined,
    n: 5,
    warmup: 1,
    async fn() {
      await rehearse(scenario);
    },
  });
}

globalThis.addEventListener("unload", () => {
  for (const m of met) {
    console.log(`api-chaos 5%: ${m.faults} faults in ${m.requests} API requests`);
  }
  Deno.removeSync(root, { recursive: true });
});
