// Rollback from a half-shifted canary (95% old / 5% new), by every path: the deploy's own
// rollback on a breach, a runner killed with -9 then `rollback` on demand, SIGINT/SIGTERM,
// and the refusals. The cluster is read with kubectl or from the sandbox's saved state;
// every wait is on an observed state (journal, cluster), never a fixed sleep.
//
// The sandboxes here run on scaled real clocks: a signal, or a kill, must land inside the
// canary's 5% step, which lasts only as long as real time gives it; and a runner killed with
// -9 leaves on disk what its sandbox saved, which a real clock's sandbox does before it
// answers each write (a virtual clock's, built for speed, does not). After a kill, though,
// nothing waits: the cluster is looked at from its saved state (Rehearsal.inspect) and the
// refused rollbacks start their own sandbox on the virtual clock, which does not move while
// they start, so the dead runner's lease is still held however busy the machine is. A
// deploy nobody interrupts (the last test) runs on the virtual clock too.
import assert from "node:assert/strict";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { Rehearsal, stage, VIRTUAL_LEASE } from "./_deploy.ts";
import { baseline } from "./_baseline.ts";
import {
  atFivePercent,
  CONFIRM,
  everywhere,
  halfShifted,
  liveView,
  NS,
  persistedView,
  runEntry,
  SERVICES,
  traffic,
} from "./_canary.ts";

const ON_BLUE = everywhere("blue=100,green=0 selector=blue");
const SPLIT = everywhere("blue=95,green=5 selector=blue");

async function sandboxAt(
  r: Rehearsal,
  o: { scenario?: string; timeScale?: number } = {},
): Promise<Sandbox> {
  return await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: r.sandboxDir,
    timeScale: 60,
    maxRealRate: 400,
    ...o,
  });
}

/** Every service on blue at 1.0.0, every pod behind the selectors at 1.0.0. */
async function assertBackOnOld(r: Rehearsal): Promise<void> {
  const v = await liveView(r);
  assert.deepEqual(traffic(v), ON_BLUE);
  for (const s of SERVICES) assert.equal(v.services[s]!.versions.blue, "1.0.0", s);
  const pods = await r.kubectl(
    "get",
    "pods",
    "-n",
    NS,
    "-l",
    "slot=blue",
    "-o",
    "jsonpath={.items[*].metadata.labels.version}",
  );
  assert.deepEqual([...new Set(pods.trim().split(/\s+/))], ["1.0.0"]);
}

function rolledBackOutput(report: { stages: { id: string; output?: unknown }[] }) {
  return report.stages.find((s) => s.id === "rollback")?.output as {
    runId: string;
    services: { service: string; returnedTo: { version: string }; left: { version: string } }[];
  };
}

Deno.test({
  name: "a canary that breaches at 5% is rolled back to the version live before the run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    // Slower time: the 5% step lasts long enough to be seen before the breach ends it.
    const sandbox = await sandboxAt(r, { scenario: "canary-errors", timeScale: 30 });
    try {
      const run = await halfShifted(r, "v1.1.0", { newSlot: "green", persisted: false });
      await run.done;
      assert.equal(run.status!.code, 1, run.out);
      const report = await run.report() as unknown as Parameters<typeof stage>[0]["report"];
      assert.equal(report.status, "rolled_back");
      assert.equal(report.rollback.succeeded, true);
      assert.equal(report.stages.find((s) => s.id === "canary-5")!.status, "failed");
      const out = rolledBackOutput(report as never);
      assert.equal(out.runId, run.runId);
      assert.deepEqual(
        out.services.map((s) => [s.service, s.returnedTo.version, s.left.version]),
        SERVICES.map((s) => [s, "1.0.0", "1.1.0"]),
      );
      assert.match(
        run.out,
        /rollback: analysis-service: traffic back on blue \(version 1\.0\.0\), leaving green \(version 1\.1\.0\)/,
      );
      await assertBackOnOld(r);
      assert.equal(runEntry(await liveView(r))?.state, "rolled-back");
    } finally {
      await sandbox.stop();
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "a runner killed with -9 mid-canary: `rollback` resumes the saved cluster and returns to the old version",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      // The runner starts its own sandbox: -9 kills both; the state survives on disk
      // (taking a live lock over is tested below).
      const run = await halfShifted(r, "v1.1.0", {
        newSlot: "green",
        persisted: true,
        extra: ["--time-scale", "30"],
      });
      run.child.kill("SIGKILL");
      await run.done;
      assert.equal(run.status!.signal, "SIGKILL");
      // The hold lapses as it would on a cluster whose clock went on while the runner was
      // dead (a stopped sandbox's clock does not): its lease's duration ends at once.
      const statePath = `${r.sandboxDir}/state.json`;
      const state = JSON.parse(await Deno.readTextFile(statePath));
      for (const o of state.store.objects) {
        if (o.object.kind === "Lease" && o.object.metadata.name === "tracktion-deploy") {
          o.object.spec.leaseDurationSeconds = 1;
        }
      }
      await Deno.writeTextFile(statePath, JSON.stringify(state));
      const events = await run.events(r);
      assert.ok(!events.some((e) => e.type === "stage.finished" && e.stage === "canary-5"));
      const saved = await persistedView(r);
      assert.ok(atFivePercent(saved, "green"), JSON.stringify(traffic(saved!)));
      assert.deepEqual(runEntry(saved!), {
        ...runEntry(saved!),
        runId: run.runId,
        state: "in-progress",
      });

      // Only a rollback may touch split traffic: a new deploy is refused before it changes anything.
      const next = await r.deploy("production", "v1.2.0", CONFIRM);
      assert.equal(next.code, 1, next.stdout);
      assert.match(
        stage(next, "preflight:record").reason!,
        new RegExp(`run ${run.runId} \\(version 1\\.1\\.0.*never finished`),
      );
      assert.equal(stage(next, "migrate").status, "skipped");
      assert.ok(atFivePercent(await persistedView(r), "green"));

      // A second invocation on the same state (it starts the sandbox again from it).
      const d = await r.rollback("production", CONFIRM);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(d.report.status, "succeeded");
      await r.inspect(async () => {
        await assertBackOnOld(r);
        const v = await liveView(r);
        assert.equal(runEntry(v)?.state, "rolled-back");
        assert.equal(v.record?.version, "1.0.0");
      });
      assert.match(d.stdout, /back on version 1\.0\.0, leaving 1\.1\.0/);
      assert.match(
        d.stdout,
        /analysis-service: traffic back on blue \(version 1\.0\.0\), leaving green \(version 1\.1\.0\)/,
      );
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name: "SIGINT and SIGTERM mid-canary: the failure path returns to the old version, exit 130",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    await baseline(r);
    const sandbox = await sandboxAt(r);
    try {
      for (
        const [signal, version, standby] of [
          ["SIGINT", "v1.1.0", undefined],
          ["SIGTERM", "v1.2.0", "1.1.0"],
        ] as const
      ) {
        await t.step(`${signal} during the 5% step`, async () => {
          // Production deploys only what staging runs: stage the version first (the
          // baseline staged v1.1.0), so the run goes straight to production's canary.
          if (version !== "v1.1.0") {
            const s = await r.deploy("staging", version);
            assert.equal(s.code, 0, s.stdout + s.stderr);
          }
          const run = await halfShifted(r, version, { newSlot: "green", persisted: false });
          run.child.kill(signal);
          await run.done;
          assert.equal(run.status!.code, 130, run.out);
          const report = await run.report() as unknown as Parameters<typeof stage>[0]["report"];
          assert.equal(report.status, "interrupted");
          assert.equal(report.rollback.succeeded, true);
          assert.equal(report.stages.find((s) => s.id === "canary-5")!.status, "interrupted");
          const out = rolledBackOutput(report as never);
          assert.deepEqual(
            out.services.map((s) => [s.returnedTo.version, s.left.version]),
            SERVICES.map(() => ["1.0.0", version.slice(1)]),
          );
          await assertBackOnOld(r);
          const v = await liveView(r);
          assert.equal(runEntry(v)?.state, "rolled-back");
          // The idle slot holds again what it held before the run (none before the first).
          for (const s of SERVICES) {
            assert.equal(v.services[s]!.versions.green, standby ?? version.slice(1), s);
            // ... and runs no pod: the slot traffic left is scaled to 0 after the rollback.
            assert.equal(v.services[s]!.replicas.green, 0, s);
          }
        });
      }
    } finally {
      await sandbox.stop();
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "rollback refuses, changing nothing, while the lock is held, when the record contradicts the cluster, or is missing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const run = await halfShifted(r, "v1.1.0", {
        newSlot: "green",
        persisted: true,
        extra: ["--time-scale", "30"],
      });
      run.child.kill("SIGKILL");
      await run.done;
      const before = await r.inspect(() => liveView(r));
      assert.deepEqual(traffic(before), SPLIT);
      const takeover = ["--option", `takeover=${run.runId}`];
      const refused = async (extra: string[], stageId: string, reason: RegExp) => {
        const d = await r.rollback("production", [...CONFIRM, ...extra]);
        assert.equal(d.code, 1, d.stdout + d.stderr);
        assert.equal(d.report.status, "failed");
        assert.match(stage(d, stageId).reason!, reason);
        assert.equal(stage(d, "rollback").status, "skipped");
        const now = await r.inspect(() => liveView(r));
        assert.deepEqual(traffic(now), SPLIT, "traffic changed");
        assert.deepEqual(now.services, before.services);
      };

      await t.step("the dead run's lock: refused, naming the option to take it over", async () => {
        await refused(
          [],
          "lock",
          new RegExp(`held by .* for run ${run.runId} since .*--option takeover=${run.runId}`),
        );
      });

      await t.step("the old slot scaled to 0: refused, naming the Deployment", async () => {
        await r.inspect(() =>
          r.kubectl("scale", "deployment/analysis-service-blue", "-n", NS, "--replicas=0")
        );
        before.services["analysis-service"]!.replicas.blue = 0;
        await refused(
          takeover,
          "plan",
          /Deployment tracktion-prod\/analysis-service-blue \(1\.0\.0, live before run \S+\) is scaled to 0.*Nothing changed/,
        );
        assert.equal(runEntry(await r.inspect(() => liveView(r)))?.state, "in-progress");
      });

      await t.step("no deployment record: refused, naming the ConfigMap", async () => {
        await r.inspect(() => r.kubectl("delete", "configmap", "deployment-info", "-n", NS));
        await refused(
          takeover,
          "plan",
          /no deployment record \(ConfigMap tracktion-prod\/deployment-info not found\)/,
        );
      });
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "after a finished deploy, rollback returns to the slot live before it; a second one refuses",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const d = await r.deploy("production", "v1.1.0", [...CONFIRM, ...VIRTUAL_LEASE]);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.deepEqual(
        traffic(await r.inspect(() => liveView(r))),
        everywhere("blue=0,green=100 selector=green"),
      );
      const back = await r.rollback("production", CONFIRM);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.match(back.stdout, /back on version 1\.0\.0, leaving 1\.1\.0/);
      await r.inspect(() => assertBackOnOld(r));
      const again = await r.rollback("production", CONFIRM);
      assert.equal(again.code, 1, again.stdout);
      assert.match(stage(again, "plan").reason!, /already rolled back.*Nothing changed/);
      await r.inspect(() => assertBackOnOld(r));
    } finally {
      await r.remove();
    }
  },
});
