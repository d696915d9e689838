// After the deploy's own rollback, what runs in the slot traffic left — end to end through
// the real CLI, read with the real kubectl. Production (rollback_on_failure: true): a
// breaching canary, or a crash-looping version, is rolled back, then the green slot is
// scaled to 0 (no pod left), recorded in the rollback's output with the replicas it had; the
// next deploy of the slot scales it up again. Staging (rollback_on_failure: false): traffic
// goes back all the same, but the failed slot keeps running for debugging, and says so, until
// its rollback window has passed (then deno task cleanup scales it down). Each run starts
// its own sandbox on the virtual clock over the state the one before saved (with the lease
// of VIRTUAL_LEASE); the cluster is read between runs from that state (Rehearsal.inspect).
import assert from "node:assert/strict";
import { type Deployment, Rehearsal, stage, VIRTUAL_LEASE } from "./_deploy.ts";
import { baseline } from "./_baseline.ts";
import { CONFIRM, everywhere, liveView, SERVICES, traffic } from "./_canary.ts";
import type { LeftSlot } from "../../pipelines/stages/scale_down.ts";

const DELETE_AFTER = "deploy.tracktion.dev/delete-after";

/** A production run on the virtual clock. */
const VIRTUAL = [...CONFIRM, ...VIRTUAL_LEASE];

/** Runs another command of the CLI (e.g. `cleanup`) on the rehearsal's state. */
async function cli(r: Rehearsal, command: string, env: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: r.args(command, env, undefined),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout) + d.decode(out.stderr) };
}

/** Moves the saved sandbox's clock on, as if it had been stopped for `ms`. */
async function laterBy(r: Rehearsal, ms: number): Promise<void> {
  const path = `${r.sandboxDir}/state.json`;
  const state = JSON.parse(await Deno.readTextFile(path));
  state.clockAt += ms;
  await Deno.writeTextFile(path, JSON.stringify(state));
}

function rollbackOutput(d: Deployment) {
  return stage(d, "rollback") as unknown as {
    status: string;
    output: { slots: LeftSlot[]; kept?: string; services: unknown[] };
  };
}

/** Labels `version` of the pods of `slot` in `ns` (empty: none). */
async function podVersions(r: Rehearsal, ns: string, slot: string): Promise<string[]> {
  const out = await r.kubectl(
    "get",
    "pods",
    "-n",
    ns,
    "-l",
    `slot=${slot}`,
    "-o",
    "jsonpath={.items[*].metadata.labels.version}",
  );
  return out.trim() ? out.trim().split(/\s+/) : [];
}

async function deployments(r: Rehearsal, ns: string) {
  const list = JSON.parse(await r.kubectl("get", "deployments", "-n", ns, "-o", "json")) as {
    items: {
      metadata: {
        name: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      };
      spec: { replicas: number };
    }[];
  };
  return Object.fromEntries(list.items.map((d) => [d.metadata.name, d]));
}

/** The failed run: rolled back, traffic on blue 1.0.0, green at 0 replicas with no pod. */
async function assertScaledDown(r: Rehearsal, d: Deployment, failedStage: RegExp) {
  assert.equal(d.code, 1, d.stdout + d.stderr);
  assert.equal(d.report.status, "rolled_back", d.stdout);
  assert.ok(d.report.stages.some((s) => s.status === "failed" && failedStage.test(s.id)));
  assert.equal(d.report.rollback.succeeded, true);
  const rb = rollbackOutput(d);
  assert.equal(rb.status, "succeeded");
  assert.equal(rb.output.kept, undefined);
  const ns = "tracktion-prod";
  await r.inspect(async () => {
    const before = await deployments(r, ns);
    assert.deepEqual(
      rb.output.slots.map((s) => [s.deployment, s.outcome, s.version, s.replicas, s.stillRunning]),
      SERVICES.map((s) => [`${s}-green`, "scaled-down", "1.1.0", 0, false]),
    );
    for (const s of rb.output.slots) {
      // the replicas it had: what the environment gives the service (its blue slot runs as many)
      assert.equal(s.replicasBefore, before[`${s.service}-blue`]!.spec.replicas, s.service);
      assert.ok(s.replicasBefore! > 0);
      assert.match(
        d.stdout,
        new RegExp(`rollback: ${s.service}-green \\(version 1\\.1\\.0\\) scaled from \\d+ to 0`),
      );
    }
    // Traffic moved back before the slot was scaled down (the order of the stage's lines).
    assert.ok(
      d.stdout.indexOf("traffic back on blue") < d.stdout.indexOf("to 0 replicas"),
      d.stdout,
    );
    assert.deepEqual(traffic(await liveView(r)), everywhere("blue=100,green=0 selector=blue"));
    for (const s of SERVICES) {
      assert.equal(before[`${s}-green`]!.spec.replicas, 0, `${s}-green scaled to 0`);
      assert.equal(before[`${s}-green`]!.metadata.labels?.version, "1.1.0", "kept for reuse");
    }
    assert.deepEqual(await podVersions(r, ns, "green"), [], "no pod of the failed slot runs");
    assert.deepEqual([...new Set(await podVersions(r, ns, "blue"))], ["1.0.0"], "blue serves");
  });
}

Deno.test({
  name: "production: a canary with 3% errors is rolled back at 5%, then green is scaled to 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const d = await r.deploy("production", "v1.1.0", [...VIRTUAL, "--scenario", "canary-errors"]);
      await assertScaledDown(r, d, /^canary-5$/);
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "production: a crash-looping version is rolled back and green scaled to 0; the next deploy scales it up again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    await baseline(r);
    try {
      const d = await r.deploy("production", "v1.1.0", [...VIRTUAL, "--scenario", "crashloop"]);
      await assertScaledDown(r, d, /^deploy:/);
      assert.match(d.stdout, /CrashLoopBackOff/);

      // Healthy now: the same version goes to the scaled-down slot, at its replicas again.
      const again = await r.deploy("production", "v1.1.0", VIRTUAL);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      await r.inspect(async () => {
        const now = await deployments(r, "tracktion-prod");
        for (const s of SERVICES) {
          const green = now[`${s}-green`]!;
          assert.equal(
            green.spec.replicas,
            now[`${s}-blue`]!.spec.replicas,
            `${s}-green scaled up`,
          );
          assert.ok(green.spec.replicas > 0);
        }
        assert.deepEqual(
          traffic(await liveView(r)),
          everywhere("blue=0,green=100 selector=green"),
        );
        assert.deepEqual([...new Set(await podVersions(r, "tracktion-prod", "green"))], ["1.1.0"]);
      });
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "staging (rollback_on_failure: false): traffic goes back, the failed slot keeps running for debugging, and says so",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const ns = "tracktion-staging";
    try {
      const first = await r.deploy("staging", "v1.0.0", [...VIRTUAL_LEASE]);
      assert.equal(first.code, 0, first.stdout + first.stderr);

      const d = await r.deploy("staging", "v1.1.0", [...VIRTUAL_LEASE, "--scenario", "crashloop"]);
      assert.equal(d.code, 1, d.stdout + d.stderr);
      assert.equal(d.report.rollback.succeeded, true);
      const rb = rollbackOutput(d);
      assert.equal(rb.output.kept, "kept for debugging: rollback_on_failure is false");
      assert.deepEqual(
        rb.output.slots.map((s) => [s.deployment, s.outcome, s.version, s.stillRunning]),
        SERVICES.map((s) => [`${s}-green`, "kept", "1.1.0", true]),
      );
      for (const s of SERVICES) {
        assert.match(
          d.stdout,
          new RegExp(
            `rollback: ${s}-green \\(version 1\\.1\\.0, \\d+ replica\\(s\\)\\) kept for debugging: rollback_on_failure is false`,
          ),
        );
      }
      assert.doesNotMatch(d.stdout, /to 0 replicas/);
      await r.inspect(async () => {
        const now = await deployments(r, ns);
        for (const s of rb.output.slots) {
          const green = now[s.deployment]!;
          assert.ok(green.spec.replicas > 0, `${s.deployment} still runs`);
          assert.equal(green.spec.replicas, s.replicas);
          assert.equal(
            green.metadata.labels?.version,
            "1.1.0",
            "the failed version, not a standby",
          );
          assert.equal(
            green.metadata.annotations?.[DELETE_AFTER],
            s.keptUntil,
            "clean-up scheduled",
          );
          const selector = await r.kubectl(
            "get",
            "service",
            s.service,
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.selector.slot}",
          );
          assert.equal(selector, "blue", `${s.service}: traffic on blue`);
        }
        const green = await podVersions(r, ns, "green");
        assert.ok(
          green.length > 0 && green.every((v) => v === "1.1.0"),
          "its pods can be inspected",
        );
      });

      // Past the rollback window (the saved clock moved on), deno task cleanup scales it down.
      await laterBy(r, 25 * 3_600_000);
      const cleanup = await cli(r, "cleanup", "staging");
      assert.equal(cleanup.code, 0, cleanup.stdout);
      for (const s of SERVICES) {
        assert.match(cleanup.stdout, new RegExp(`${s}-green: rollback window over, scaled to 0`));
      }
      await r.inspect(async () => {
        const swept = await deployments(r, ns);
        for (const s of SERVICES) {
          assert.equal(swept[`${s}-green`]!.spec.replicas, 0, `${s}-green scaled down`);
          assert.ok(swept[`${s}-blue`]!.spec.replicas > 0, `${s}-blue still serves`);
        }
      });

      // The next deploy reuses the slot: scaled up to its replicas again, no clean-up mark.
      const next = await r.deploy("staging", "v1.2.0", [...VIRTUAL_LEASE]);
      assert.equal(next.code, 0, next.stdout + next.stderr);
      await r.inspect(async () => {
        const after = await deployments(r, ns);
        for (const s of SERVICES) {
          const g = after[`${s}-green`]!;
          assert.equal(g.metadata.labels?.version, "1.2.0", s);
          assert.ok(g.spec.replicas > 0, s);
          assert.equal(g.metadata.annotations?.[DELETE_AFTER], undefined, `${s}: live, not marked`);
        }
      });
    } finally {
      await r.remove();
    }
  },
});
