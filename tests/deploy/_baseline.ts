/**
 * The rollback tests' common start, made once per test file and copied: v1.0.0 live on blue in
 * production, v1.1.0 succeeded in staging (production's gate needs it), the sandbox stopped with
 * its state saved. Each test gets its own copy of the saved sandbox and runs folders, so it
 * starts from the same cluster without deploying it again. Both runs start their own sandbox on
 * the virtual clock (none runs meanwhile), with the lease of VIRTUAL_LEASE: the canary's hour
 * of analysis takes no wall time.
 * @module
 */
import assert from "node:assert/strict";
import { Rehearsal, VIRTUAL_LEASE } from "./_deploy.ts";
import { CONFIRM } from "./_canary.ts";

let template: Promise<Rehearsal> | undefined;

/** Builds the saved baseline (two runs of the CLI, each on a sandbox of its own). */
async function build(): Promise<Rehearsal> {
  const r = await Rehearsal.create();
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(r.dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  const d = await r.deploy("production", "v1.0.0", [...CONFIRM, ...VIRTUAL_LEASE]);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  // Production deploys what succeeded in staging: the runs' v1.1.0 passes there first,
  // healthy (their rehearsal then finds it there instead of deploying it under the fault).
  const s = await r.deploy("staging", "v1.1.0", [...VIRTUAL_LEASE]);
  assert.equal(s.code, 0, s.stdout + s.stderr);
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
