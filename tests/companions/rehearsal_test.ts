/**
 * Companions beside a sandbox started by `--sandbox` (lib/targets/sandbox.ts): the companion
 * faults make the real checks fail, and two sandboxes keep to their own scopes. (The
 * production rehearsal with its companions: runbook_parity_test.ts.)
 */
import assert from "node:assert/strict";
import { sandboxTarget } from "../../lib/targets/sandbox.ts";
import { companionAddress, REGISTRY_PORT } from "../../lib/companions/mod.ts";
import { verifyImageSignature } from "../../lib/companions/cosign.ts";
import { redisConnectivity } from "../../checks/redis.ts";
import { imageExists } from "../../checks/images.ts";
import { fakeContext } from "../checks/_support.ts";

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "companion faults: Redis with another password than its Secret fails AUTH (no password shown); an unsigned image does not verify",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "companions_faults_" });
    const target = await sandboxTarget({
      stateDir,
      // Its own addresses: a rehearsal elsewhere on the machine keeps the unscoped ones.
      companionScope: stateDir,
      namespace: "tracktion-prod",
      version: "v1.2.4",
      scenario: "unsigned-image/analysis-service,redis-wrong-password",
    });
    const pids: number[] = [];
    try {
      assert.equal(target.scenario, "unsigned-image/analysis-service,redis-wrong-password");
      const published = target.companions?.get("tracktion-prod");
      assert.ok(published?.redis && "port" in published.redis, JSON.stringify(published));
      const redisEntry = published.redis as { host: string; port: number; ca: string };
      for (const dir of ["redis-tracktion-prod", "registry-tracktion-prod"]) {
        pids.push(Number(await Deno.readTextFile(`${stateDir}/companions/${dir}/pid`)));
      }
      // The check reads the password from the Secret, as production does.
      const res = await fetch(
        `${target.url}/api/v1/namespaces/tracktion-prod/secrets/redis-credentials`,
        { headers: { authorization: `Bearer ${target.token}` } },
      );
      const secret = atob(((await res.json()) as { data: { password: string } }).data.password);
      const outcome = await redisConnectivity({
        host: redisEntry.host,
        port: redisEntry.port,
        password: secret,
        ssl: true,
        ca: redisEntry.ca,
      }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /WRONGPASS.*not the one Redis requires/);
      assert.ok(!JSON.stringify(outcome).includes(secret));

      const registry = published.registry as { host: string; publicKey: string };
      assert.equal(
        registry.host,
        `${companionAddress("tracktion-prod", "registry", stateDir)}:${REGISTRY_PORT}`,
      );
      const exists = await imageExists("ghcr.io/tracktion/analysis-service:1.2.4", {
        mirror: registry.host,
      }).run(fakeContext());
      assert.equal(exists.ok, true, exists.message);
      const unsigned = await verifyImageSignature(
        { host: registry.host },
        "tracktion/analysis-service",
        "1.2.4",
        registry.publicKey,
      );
      assert.equal(unsigned.ok, false);
      assert.match(unsigned.message, /is not signed/);
      const signed = await verifyImageSignature(
        { host: registry.host },
        "tracktion/file-watcher",
        "1.2.4",
        registry.publicKey,
      );
      assert.equal(signed.ok, true, signed.message);
    } finally {
      await target.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(alive(pid), false, `companion ${pid} stopped`);
  },
});

Deno.test({
  name:
    "two sandboxes rehearsing one namespace: the same scope makes the second skip (saying why), another scope runs both",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dirs = await Promise.all(
      [0, 1, 2].map(() => Deno.makeTempDir({ prefix: "companions_scope_" })),
    );
    const common = { namespace: "tracktion-staging", version: "v1.2.4" };
    const first = await sandboxTarget({ ...common, stateDir: dirs[0]!, companionScope: "same" });
    try {
      const second = await sandboxTarget({ ...common, stateDir: dirs[1]!, companionScope: "same" });
      try {
        const redis = second.companions?.get("tracktion-staging")?.redis as { skipped?: string };
        assert.match(redis.skipped ?? "", /could not listen: .* is in use/);
        const mine = first.companions?.get("tracktion-staging")?.redis as { port?: number };
        assert.equal(typeof mine.port, "number", "the first one's Redis still runs");
      } finally {
        await second.close();
      }
      const third = await sandboxTarget({
        ...common,
        stateDir: dirs[2]!,
        companionScope: dirs[2]!,
      });
      try {
        const redis = third.companions?.get("tracktion-staging")?.redis as { host?: string };
        assert.equal(redis.host, companionAddress("tracktion-staging", "redis", dirs[2]!));
        assert.notEqual(redis.host, companionAddress("tracktion-staging", "redis", "same"));
      } finally {
        await third.close();
      }
    } finally {
      await first.close();
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  },
});
