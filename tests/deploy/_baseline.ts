/**
 * The rollback tests' common start, made once per test file and copied: v1.0.0 live on blue in
 * production, v1.1.0 succeeded in staging (production's gate needs it), the sandbox stopped with
 * its state saved. Each test gets its own copy of the saved sandbox and runs folders, so it
 * starts from the same cluster without deploying it again. Both runs start their own sandbox on
 * the virtual clock (none runs meanwhile), with the lease of VIRTUAL_LEASE: the canary's hour
 * of analysis takes no wall time.
 *
 * Under `deno task test` (scripts/test.sh sets TRACKTION_TEST_SHARED to a folder it removes at
 * the end) the files running in parallel share one baseline: the first to need it builds it,
 * the others wait for it (a file `done` or `failed` in its folder ends the wait). Elsewhere
 * (a single file run by hand) each file builds its own.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { Rehearsal, VIRTUAL_LEASE } from "./_deploy.ts";
import { CONFIRM } from "./_canary.ts";

let template: Promise<string> | undefined;

/**
 * The baseline shared by the suite's files, in TRACKTION_TEST_SHARED (undefined without it):
 * built by whichever file makes its folder first (`mkdir` is atomic), awaited by the others
 * until its `done` marker (or `failed`, with the builder's error) appears. No time bound of
 * its own: the builder's two runs end one way or the other, and the markers say which.
 */
function shared(): Promise<string> | undefined {
  const root = Deno.env.get("TRACKTION_TEST_SHARED");
  if (!root) return undefined;
  const dir = `${root}/baseline`;
  return (async () => {
    let mine = false;
    try {
      await Deno.mkdir(dir);
      mine = true;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    if (mine) {
      try {
        await build(`${dir}/rehearsal`);
        await Deno.writeTextFile(`${dir}/done`, "");
      } catch (error) {
        await Deno.writeTextFile(`${dir}/failed`, String((error as Error).stack ?? error));
        throw error;
      }
    }
    while (true) {
      if (existsSync(`${dir}/done`)) return `${dir}/rehearsal`;
      if (existsSync(`${dir}/failed`)) {
        throw new Error(`the shared baseline failed: ${await Deno.readTextFile(`${dir}/failed`)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
}

/**
 * Builds the saved baseline (two runs of the CLI, each on a sandbox of its own): in `at`, or in
 * a new temporary folder removed when the file's tests end.
 */
async function build(at?: string): Promise<Rehearsal> {
  let r: Rehearsal;
  if (at) {
    await Deno.mkdir(at);
    r = new Rehearsal(at);
  } else {
    r = await Rehearsal.create();
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(r.dir, { recursive: true });
      } catch {
        // already gone
      }
    });
  }
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
  template ??= shared() ?? build().then((t) => t.dir);
  const from = await template;
  const out = await new Deno.Command("cp", {
    args: ["-a", `${from}/.`, r.dir],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}
