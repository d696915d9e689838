/**
 * Kill -9 and resume, for the production rehearsal. CI runs a sample of the matrix's points
 * (`SAMPLED` in `_kill_resume.ts`); the whole matrix is one command:
 *
 *     KILL_POINTS=all deno test -A tests/deploy/kill_resume_test.ts
 *
 * For every point: the runner died (SIGKILL) before the run finished; `deno task report`
 * rebuilt its report from the journal (`interrupted`, the chain intact); `deno task resume`
 * went on and ended consistent: traffic 100% on exactly one version whose every pod is
 * Ready (the new one, v1.1.0, or, for a breaching version, v1.0.0: it never reached 100%), the
 * lock released, the report valid and verified.
 */
import assert from "node:assert/strict";
import { reportSchema } from "../../lib/report/schema.ts";
import { endState, killAndResume, pointsToRun, Rehearsal } from "./_kill_resume.ts";
import { baseline } from "./_baseline.ts";

for (const point of pointsToRun()) {
  Deno.test({
    name: `kill -9 ${point.name}, then resume: one version, all Ready, lock free, report verified`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const r = await Rehearsal.create();
      await baseline(r);
      try {
        const k = await killAndResume(r, point);
        const what = `${point.name}: ${k.resume.stdout.slice(-3000)}\n${
          k.resume.stderr.slice(-2000)
        }`;

        // The runner died before its run finished: no report of its own.
        assert.equal(k.signal, "SIGKILL", "killed, not finished");
        assert.ok(!k.journalBefore.some((e) => e.type === "run.finished"));

        // `report` rebuilt one from the journal.
        assert.equal(k.rebuilt.code, 0, k.rebuilt.stderr);
        assert.match(k.rebuilt.stderr, /rebuilt from the journal/);
        assert.match(k.rebuilt.stderr, /chain verified/);
        assert.equal(k.rebuilt.report.status, "interrupted");
        assert.equal(k.rebuilt.report.rebuilt, true);
        reportSchema.parse(k.rebuilt.report);

        // `resume` went on, and finished the job.
        const expected = point.breach ? "rolled_back" : "succeeded";
        assert.equal(k.report.status, expected, what);
        assert.equal(k.resume.code, point.breach ? 1 : 0, what);
        reportSchema.parse(k.report);
        assert.equal(k.report.runId, k.runId);
        assert.equal(k.report.resumes?.length, 1);
        assert.equal(k.verify.code, 0, k.verify.stdout);
        assert.match(k.verify.stdout, /chain verified/);
        assert.equal(k.journalAfter.filter((e) => e.type === "run.started").length, 1);
        assert.equal(k.journalAfter.filter((e) => e.type === "run.resumed").length, 1);

        // The cluster: one version everywhere, every pod of it Ready, the lock free.
        const end = await endState(r);
        const versions = new Set<string | undefined>();
        for (const [service, s] of Object.entries(end.services)) {
          assert.equal(s.live.length, 1, `${service}: traffic on one slot: ${JSON.stringify(s)}`);
          const live = s.live[0]!;
          assert.equal(s.weights[live.slot], 100, `${service}: 100%: ${JSON.stringify(s)}`);
          assert.equal(s.selector, live.slot, `${service}: the Service selects the live slot`);
          assert.ok(
            live.replicas > 0 && live.ready === live.replicas,
            `${service}: all Ready: ${JSON.stringify(live)}`,
          );
          versions.add(live.version);
        }
        assert.equal(versions.size, 1, `one version: ${[...versions]}`);
        const version = [...versions][0] ?? "";
        if (point.breach) {
          assert.match(version, /^v?1\.0\.0$/, `the version before is live again: ${what}`);
          assert.ok(
            !k.journalAfter.some((e) => e.type === "stage.started" && e.stage === "full-rollout"),
            "the breaching version never went to 100%",
          );
        } else {
          assert.match(version, /^v?1\.1\.0$/, `the new version is live: ${what}`);
        }
        assert.ok(!end.lockHolder, `the lock is released (holder: ${end.lockHolder})`);
      } finally {
        await r.remove();
      }
    },
  });
}
