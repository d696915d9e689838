/**
 * One real production rehearsal whose report the render tests and bench read: the deploy
 * tests' baseline (v1.0.0 live on blue, v1.1.0 passed in staging), then `deploy production
 * v1.1.0` through the real CLI against its own virtual-clock sandbox whose new version answers 3% errors
 * (`canary-errors`): the 5% step's error-rate gate breaches and the run rolls back. Made
 * once per process and shared.
 * @module
 */
import assert from "node:assert/strict";
import { baseline } from "../deploy/_baseline.ts";
import { CONFIRM } from "../deploy/_canary.ts";
import { type Deployment, Rehearsal, VIRTUAL_LEASE } from "../deploy/_deploy.ts";

/** The rehearsal's folder, its rolled-back deploy, and that run's folder. */
export interface ProductionRun {
  readonly rehearsal: Rehearsal;
  readonly deployment: Deployment;
  readonly runDir: string;
  readonly runId: string;
}

let made: Promise<ProductionRun> | undefined;

async function make(): Promise<ProductionRun> {
  const r = await Rehearsal.create();
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(r.dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  await baseline(r);
  // The CLI's own sandbox on the virtual clock: the canary's analysis takes no wall time.
  const d = await r.deploy("production", "v1.1.0", [
    ...CONFIRM,
    "--scenario",
    "canary-errors",
    ...VIRTUAL_LEASE,
  ]);
  assert.equal(d.code, 1, d.stdout + d.stderr);
  assert.equal(d.report.status, "rolled_back", d.stdout);
  const runDir = d.reportPath.replace(/\/report\.json$/, "");
  return { rehearsal: r, deployment: d, runDir, runId: String(d.report.runId) };
}

/** The production run, made on first use (its folder is removed when the process ends). */
export function productionRun(): Promise<ProductionRun> {
  made ??= make();
  return made;
}
