// One promotion, measured: `deno task promote v1.2.4 --sandbox` through the real CLI, each
// iteration on a fresh sandbox folder — development → smoke tests → staging → integration
// tests → production (the rehearsal approvers sign production's two-person approval), and the
// same with the build first (buildah builds, scans and signs the fixture service's four
// images). Each step's own time is read from the train's summary (--out), and printed.
// `deno bench -A bench/promote_bench.ts`; numbers in the report of issue 16.
const dir = await Deno.makeTempDir({ prefix: "tracktion-bench-promote-" });
let n = 0;

const key = await new Deno.Command("openssl", {
  args: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${dir}/k`],
  stderr: "null",
}).output();
if (key.code !== 0) throw new Error("openssl could not make the image signing key");

async function promote(extra: string[]): Promise<void> {
  const at = `${dir}/${n++}`;
  await Deno.mkdir(at);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "promote",
      "v1.2.4",
      "--sandbox",
      "--sandbox-dir",
      `${at}/sb`,
      "--runs-dir",
      `${at}/runs`,
      "--confirm",
      "DEPLOY TO PRODUCTION",
      "--out",
      `${at}/summary.json`,
      ...extra,
    ],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr).slice(-2000));
  const summary = JSON.parse(await Deno.readTextFile(`${at}/summary.json`)) as {
    startedAt: string;
    finishedAt: string;
    steps: { id: string; durationMs: number }[];
  };
  const steps = summary.steps.map((s) => `${s.id} ${(s.durationMs / 1000).toFixed(1)} s`);
  const total = Date.parse(summary.finishedAt) - Date.parse(summary.startedAt);
  console.log(`steps: ${(total / 1000).toFixed(1)} s (${steps.join(", ")})`);
}

Deno.bench(
  "promote development → staging → production in the sandbox (5 steps)",
  { n: 3, warmup: 0 },
  async () => await promote(["--from", "development"]),
);

Deno.bench(
  "promote with the build first (buildah, 4 images) in the sandbox (6 steps)",
  { n: 2, warmup: 0 },
  async () =>
    await promote([
      "--build-option",
      `signing-key=file:${dir}/k`,
      "--build-option",
      "context=fixtures/service",
      "--build-option",
      `work-dir=${dir}/build`,
    ]),
);

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* best effort */ }
});
