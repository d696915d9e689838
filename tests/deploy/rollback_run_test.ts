/**
 * `deno task rollback <env> --run <run-id>` after a runner was killed mid-canary: another run
 * id is refused with nothing changed; the killed run's id puts traffic 100% back on the
 * version live before it (taking the dead runner's lock over). A `resume` of that run
 * afterwards must not move traffic back onto its version: the cluster's record says it was
 * rolled back, so its traffic stage refuses and the run ends on its failure path.
 */
import assert from "node:assert/strict";
import { cli, CONFIRM, endState, KILL_POINTS, killAt, Rehearsal } from "./_kill_resume.ts";
import { baseline } from "./_baseline.ts";

Deno.test({
  name:
    "rollback --run <id> after a kill: another id refused, this one returns to v1.0.0; resume then refuses to move traffic",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const point = KILL_POINTS.find((p) => p.name === "in the middle of canary 20%")!;
      const { runId } = await killAt(r, point);
      const split = await endState(r);
      const splitWeights = Object.values(split.services).map((s) => s.weights);
      assert.ok(splitWeights.every((w) => Object.values(w).includes(20)), JSON.stringify(split));

      const rollback = (run: string) => {
        const args = r.args("rollback", "production", undefined, [
          ...CONFIRM,
          "--run",
          run,
          "--option",
          `takeover=${runId}`,
        ]);
        // cli() runs lib/cli/main.ts itself: the command's words after it
        return cli(r, args.slice(args.indexOf("lib/cli/main.ts") + 1));
      };

      const other = await rollback("20260101T000000Z-000000");
      assert.equal(other.code, 1, other.stdout);
      assert.match(
        other.stdout,
        new RegExp(`Cannot roll back run 20260101T000000Z-000000 .*last run is ${runId}`),
      );
      const unchanged = await endState(r);
      assert.deepEqual(
        Object.values(unchanged.services).map((s) => s.weights),
        splitWeights,
        "nothing changed",
      );

      const back = await rollback(runId);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      const end = await endState(r);
      for (const [service, s] of Object.entries(end.services)) {
        assert.equal(s.live.length, 1, `${service}: ${JSON.stringify(s)}`);
        assert.equal(s.weights[s.live[0]!.slot], 100);
        assert.match(s.live[0]!.version ?? "", /^v?1\.0\.0$/, service);
        assert.equal(s.live[0]!.ready, s.live[0]!.replicas);
      }
      assert.ok(!end.lockHolder, `lock released: ${end.lockHolder}`);

      // The run rolled back: resuming it must not put its version back.
      const resumed = await cli(r, ["resume", runId, "--runs-dir", `${r.dir}/runs`]);
      assert.equal(resumed.code, 1, resumed.stdout + resumed.stderr);
      assert.match(resumed.stdout, /Cannot move traffic for run .* is rolled-back/);
      const after = await endState(r);
      for (const s of Object.values(after.services)) {
        assert.match(s.live[0]!.version ?? "", /^v?1\.0\.0$/);
        assert.equal(s.weights[s.live[0]!.slot], 100);
      }
      assert.ok(!after.lockHolder, `lock released: ${after.lockHolder}`);
    } finally {
      await r.remove();
    }
  },
});
