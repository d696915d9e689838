// `deno task status` and the deploy lock: a Lease held by another run (holder, run, since,
// expiry shown, and a deploy then is refused by the same holder), one whose runner stopped
// renewing it (free: the next deploy takes it over), one released; a run without a report is
// `running` while it holds the lock and `unfinished` once it does not.
import assert from "node:assert/strict";
import { Rehearsal, stage, VIRTUAL_LEASE } from "../deploy/_deploy.ts";
import { baseline } from "../deploy/_baseline.ts";
import { CONFIRM, NS } from "../deploy/_canary.ts";
import { assertSameFacts, statusOf } from "./_status.ts";

const OTHER = "alice@example.com/20261202T000000Z-feed01";

/** Puts the deploy lock's Lease in the given state, stamped in the cluster's time. */
async function setLease(
  r: Rehearsal,
  o: { holder: string; renewedAgoMs: number; durationSeconds: number },
): Promise<{ renewTime: string; acquireTime: string }> {
  return await r.inspect(async (sandbox) => {
    // Kubernetes' MicroTime form; the cluster's clock, not the wall (a virtual run ran ahead).
    const micro = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z");
    const now = sandbox.clock.now();
    const times = {
      renewTime: micro(now - o.renewedAgoMs),
      acquireTime: micro(now - o.renewedAgoMs - 5_000),
    };
    const lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "tracktion-deploy", namespace: NS },
      spec: { holderIdentity: o.holder, leaseDurationSeconds: o.durationSeconds, ...times },
    };
    const file = `${r.dir}/lease.json`;
    await Deno.writeTextFile(file, JSON.stringify(lease));
    await r.kubectl("apply", "-f", file);
    return times;
  });
}

Deno.test({
  name:
    "status shows the deploy lock: held by another run (a deploy is then refused), expired, released",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      await baseline(r);
      const free = await statusOf(r, "production");
      assert.equal(free.doc.lock.state, "free");
      assert.match(free.text, /^lock {6}free$/m);

      const times = await setLease(r, { holder: OTHER, renewedAgoMs: 0, durationSeconds: 3600 });
      const held = await statusOf(r, "production");
      const lock = held.doc.lock;
      assert.equal(lock.state, "held");
      assert.equal(lock.holder, OTHER);
      assert.equal(lock.user, "alice@example.com");
      assert.equal(lock.runId, "20261202T000000Z-feed01");
      assert.equal(lock.since, new Date(times.acquireTime).toISOString());
      assert.equal(lock.renewedAt, new Date(times.renewTime).toISOString());
      assert.equal(lock.expiresAt, new Date(Date.parse(times.renewTime) + 3_600_000).toISOString());
      assert.equal(lock.durationSeconds, 3600);
      assert.match(
        held.text,
        /^lock {6}held by alice@example\.com for run 20261202T000000Z-feed01 since 20\d\d-\S+Z \(\d+s ago\), expires 20\d\d-\S+Z \(in (59m \d+s|1h 0m)\) unless renewed$/m,
      );
      assertSameFacts(held.text, held.doc);
      // What status calls held is what a deploy finds: it is refused, naming the same holder.
      const refused = await r.deploy("production", "v1.1.0", [...CONFIRM, ...VIRTUAL_LEASE]);
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(
        stage(refused, "lock").reason!,
        /held by alice@example\.com for run 20261202T000000Z-feed01/,
      );

      // A runner that stopped renewing: its hold ran out, the next deploy takes the lock.
      await setLease(r, { holder: OTHER, renewedAgoMs: 2 * 3_600_000, durationSeconds: 30 });
      const expired = await statusOf(r, "production");
      assert.equal(expired.doc.lock.state, "expired");
      assert.equal(expired.doc.lock.runId, "20261202T000000Z-feed01");
      assert.match(
        expired.text,
        /^lock {6}free: the hold of alice@example\.com for run 20261202T000000Z-feed01 expired 20\d\d-\S+Z \((1h 59m|2h 0m) ago\): its runner stopped renewing it/m,
      );
      assertSameFacts(expired.text, expired.doc);

      // Released as client-go does: no holder, 1 s.
      await setLease(r, { holder: "", renewedAgoMs: 0, durationSeconds: 1 });
      const released = await statusOf(r, "production");
      assert.equal(released.doc.lock.state, "free");
      assert.equal(released.doc.lock.holder, null);
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name: "status: a last run without a report is running while it holds the lock, unfinished after",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      await baseline(r);
      const before = await statusOf(r, "production");
      const last = before.doc.lastRun!;
      assert.equal(last.status, "succeeded");
      // As a runner that is still going (or was killed) leaves it: a journal, no report yet.
      await Deno.remove(last.reportPath!);
      await setLease(r, {
        holder: `${before.doc.record.run!.by}/${last.runId}`,
        renewedAgoMs: 0,
        durationSeconds: 600,
      });
      const running = await statusOf(r, "production");
      assert.equal(running.doc.lastRun?.status, "running");
      assert.equal(running.doc.lastRun?.reportPath, null);
      assert.match(
        running.text,
        new RegExp(
          `^last run  ${last.runId} deploy v1\\.0\\.0: running since .* \\(it holds the lock\\)$`,
          "m",
        ),
      );
      assertSameFacts(running.text, running.doc);

      await setLease(r, { holder: "", renewedAgoMs: 0, durationSeconds: 1 });
      const dead = await statusOf(r, "production");
      assert.equal(dead.doc.lastRun?.status, "unfinished");
      assert.match(dead.text, new RegExp(`no report in .*: deno task resume ${last.runId}$`, "m"));
    } finally {
      await r.remove();
    }
  },
});
