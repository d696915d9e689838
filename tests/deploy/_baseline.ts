/**
 * The rollback tests' common start, made once per test file and copied: v1.0.0 live on blue in
 * production, v1.1.0 succeeded in staging (production's gate needs it), the sandbox stopped with
 * its state saved. Each test gets its own copy of the saved sandbox and runs folders, so it
 * starts from the same cluster without deploying it again.
 * @module
 */
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { Rehearsal } from "./_deploy.ts";
import { CONFIRM } from "./_canary.ts";

let template: Promise<Rehearsal> | undefined;

/** Builds the saved baseline (×240: a stage's 15-minute timeout is 3.75 s of real time). */
async function build(): Promise<Rehearsal> {
  const r = await Rehearsal.create();
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(r.dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: r.sandboxDir,
    timeScale: 240,
    maxRealRate: 400,
  });
  try {
    const d = await r.deploy("production", "v1.0.0", CONFIRM);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    // Production deploys what succeeded in staging: the runs' v1.1.0 passes there first,
    // healthy (their rehearsal then finds it there instead of deploying it under the fault).
    const s = await r.deploy("staging", "v1.1.0");
    assert.equal(s.code, 0, s.stdout + s.stderr);
  } finally {
    await sandbox.stop();
  }
  return r;
}

/**
 * Gives `r` the baseline: a copy of the saved sandbox state and runs folder.
 *
 * @param r The test's rehearsal (its folder empty).
 */
export async function baseline(r: Rehearsal): Promise<void> {
  template ??= build();
  const from = await template;
  const out = await new Deno.Command("cp", {
    args: ["-a", `${from.dir}/.`, r.dir],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}
