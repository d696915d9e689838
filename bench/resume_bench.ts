// Surviving the runner's death: how long a killed runner's deploy lock blocks the next
// deploy (from its last renewal to another holder taking it, default 30 s lease on a real
// clock, against a sandbox), and how long `deno task resume` takes from a kill in the
// middle of canary 20% to a consistent cluster (the production rehearsal, ×240).
//
//     deno bench -A bench/resume_bench.ts
//
// One sample each (`n: 1`): the first is bounded below by the lease (30 s), the second is
// a whole rehearsal; compare them with the clean rehearsal of `deploy_bench.ts`.
import { startSandbox } from "../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../lib/targets/sandbox_seed.ts";
import { createKubernetesCapability } from "../lib/kubernetes/provider.ts";
import { LOCK_SECONDS } from "../pipelines/stages/lock.ts";
import { KILL_POINTS, killAndResume, Rehearsal } from "../tests/deploy/_kill_resume.ts";
import { baseline } from "../tests/deploy/_baseline.ts";

const NS = "tracktion-staging";

Deno.bench({
  name: `runner death → deploy lock free (${LOCK_SECONDS} s lease, real clock)`,
  n: 1,
  warmup: 0,
  async fn(b) {
    const stateDir = await Deno.makeTempDir({ prefix: "resume-bench-" });
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir,
      port: 0,
      reset: true,
      timeScale: 1,
      trafficRate: 0,
    });
    try {
      const stop = new AbortController();
      const runner = createKubernetesCapability({
        kubeconfigPath: sandbox.kubeconfigPath,
        heartbeat: { stopped: stop.signal },
      });
      const other = createKubernetesCapability({ kubeconfigPath: sandbox.kubeconfigPath });
      await runner.acquireLease(NS, "tracktion-deploy", {
        holder: "ann/run-1",
        durationSeconds: LOCK_SECONDS,
      });
      await new Promise((r) => setTimeout(r, (LOCK_SECONDS * 1000) / 5 + 500)); // one renewal
      b.start();
      stop.abort(); // the runner dies: nothing renews its lock
      while (true) {
        const taken = await other.acquireLease(NS, "tracktion-deploy", {
          holder: "bob/run-2",
          durationSeconds: LOCK_SECONDS,
        }).then(() => true, () => false);
        if (taken) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      b.end();
    } finally {
      await sandbox.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.bench({
  name: "resume → consistent (killed in the middle of canary 20%, production rehearsal ×240)",
  n: 1,
  warmup: 0,
  async fn(b) {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const point = KILL_POINTS.find((p) => p.name === "in the middle of canary 20%")!;
      // Timed: the `deno task resume` command alone, from its start to its end.
      const k = await killAndResume(r, point, b);
      if (k.report.status !== "succeeded") throw new Error(`resume: ${k.report.status}`);
    } finally {
      await r.remove();
    }
  },
});
