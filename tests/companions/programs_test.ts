import assert from "node:assert/strict";
import { startRedisCompanion } from "../../lib/companions/redis.ts";
import { startRegistryCompanion } from "../../lib/companions/registry.ts";
import {
  generateSigningKey,
  signImage,
  verifyImageSignature,
} from "../../lib/companions/cosign.ts";
import { findProgram, stopLeftover } from "../../lib/companions/process.ts";
import { RedisClient, RedisReplyError } from "../../lib/redis/resp.ts";

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("a companion redis-server requires its password and speaks TLS only, trusted through its CA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "companion_redis_" });
  const redis = await startRedisCompanion({ dir, password: "s3cret-pw", tls: true });
  assert.ok(!("missing" in redis));
  try {
    assert.equal(redis.tls, true);
    assert.match(redis.ca ?? "", /BEGIN CERTIFICATE/);
    const client = await RedisClient.connect({
      hostname: redis.host,
      port: redis.port,
      password: "s3cret-pw",
      tls: true,
      caCerts: [redis.ca!],
    });
    assert.equal(await client.command("PING"), "PONG");
    client.close();
    // Without TLS the port does not answer RESP; with a wrong password AUTH is refused.
    await assert.rejects(
      RedisClient.connect({
        hostname: redis.host,
        port: redis.port,
        password: "s3cret-pw",
        timeoutMs: 1_000,
      }),
    );
    await assert.rejects(
      RedisClient.connect({
        hostname: redis.host,
        port: redis.port,
        password: "wrong",
        tls: true,
        caCerts: [redis.ca!],
      }),
      (err: Error) => err instanceof RedisReplyError && /WRONGPASS/.test(err.message),
    );
    // Not trusted without the CA.
    await assert.rejects(
      RedisClient.connect({
        hostname: redis.host,
        port: redis.port,
        password: "s3cret-pw",
        tls: true,
        timeoutMs: 2_000,
      }),
    );
    // The password is in the config file only (mode 0600), not on the command line.
    const cmdline = await Deno.readTextFile(`/proc/${redis.process.pid}/cmdline`);
    assert.ok(!cmdline.includes("s3cret-pw"));
    assert.equal((await Deno.stat(`${dir}/redis.conf`)).mode! & 0o077, 0);
  } finally {
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(alive(redis.process.pid), false);
});

Deno.test("a leftover companion (its pid file) is stopped by PID before a new one starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "companion_leftover_" });
  const first = await startRedisCompanion({ dir, password: undefined, tls: false });
  assert.ok(!("missing" in first));
  // A process that died without stopping it: its pid file remains.
  const second = await startRedisCompanion({ dir, password: "pw2", tls: false });
  assert.ok(!("missing" in second));
  try {
    assert.equal(alive(first.process.pid), false, "the leftover was stopped");
    assert.notEqual(second.process.pid, first.process.pid);
    assert.equal((await Deno.readTextFile(`${dir}/pid`)).trim(), String(second.process.pid));
  } finally {
    await second.stop();
    await first.stop();
  }
  assert.equal(await stopLeftover(dir), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing program names the Debian package to install", async () => {
  const missing = await findProgram("redis-server-not-here", "redis-server");
  assert.equal(missing?.debianPackage, "redis-server");
  assert.match(
    missing!.message,
    /redis-server-not-here is not installed: install Debian's package redis-server/,
  );
});

Deno.test("the companion registry holds signed images; the signatures verify in TypeScript and tampering fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "companion_registry_" });
  const registry = await startRegistryCompanion({
    dir,
    images: [
      { repository: "team/app", tag: "1.2.4", identity: "ghcr.io/team/app" },
      { repository: "team/worker", tag: "1.2.4", identity: "ghcr.io/team/worker", unsigned: true },
    ],
  });
  assert.ok(!("missing" in registry));
  const access = { host: registry.host };
  try {
    assert.deepEqual(registry.images.map((i) => [i.repository, i.signed]), [["team/app", true], [
      "team/worker",
      false,
    ]]);
    const ok = await verifyImageSignature(access, "team/app", "1.2.4", registry.publicKey);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.identity, "ghcr.io/team/app");
    assert.equal(ok.digest, registry.images[0]!.digest);

    const unsigned = await verifyImageSignature(access, "team/worker", "1.2.4", registry.publicKey);
    assert.equal(unsigned.ok, false);
    assert.match(unsigned.message, /is not signed: no sha256-[0-9a-f]{64}\.sig/);

    const missing = await verifyImageSignature(access, "team/app", "9.9.9", registry.publicKey);
    assert.equal(missing.ok, false);
    assert.match(missing.message, /not in the registry/);

    const other = await generateSigningKey();
    const wrongKey = await verifyImageSignature(access, "team/app", "1.2.4", other.publicKeyPem);
    assert.equal(wrongKey.ok, false);
    assert.match(wrongKey.message, /does not verify with the key/);

    // A signature by another key over another image's digest, put under worker's .sig tag.
    await signImage(
      access,
      "team/worker",
      registry.images[0]!.digest,
      "ghcr.io/team/worker",
      other,
    );
    const stolen = await verifyImageSignature(access, "team/worker", "1.2.4", other.publicKeyPem);
    assert.equal(stolen.ok, false, "a signature of another digest does not sign this one");
    await signImage(
      access,
      "team/worker",
      registry.images[1]!.digest,
      "ghcr.io/team/worker",
      other,
    );
    const byOther = await verifyImageSignature(access, "team/worker", "1.2.4", registry.publicKey);
    assert.equal(byOther.ok, false, "signed, but not with the registry's key");
    const good = await verifyImageSignature(access, "team/worker", "1.2.4", other.publicKeyPem);
    assert.equal(good.ok, true, good.message);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the monitoring companions answer their health endpoints and stop by PID", async () => {
  const dir = await Deno.makeTempDir({ prefix: "companion_monitoring_" });
  const { startAlertmanagerCompanion, startPrometheusCompanion } = await import(
    "../../lib/companions/monitoring.ts"
  );
  const started = await Promise.all([
    startPrometheusCompanion({ dir: `${dir}/p`, address: "127.0.0.1:" + freePortHere() }),
    startAlertmanagerCompanion({ dir: `${dir}/a`, address: "127.0.0.1:" + freePortHere() }),
  ]);
  try {
    for (const s of started) {
      assert.ok(!("missing" in s), JSON.stringify(s));
      const res = await fetch(`${s.url}/-/healthy`);
      assert.equal(res.status, 200, await res.text());
    }
  } finally {
    for (const s of started) if (!("missing" in s)) await s.stop();
  }
  for (const s of started) if (!("missing" in s)) assert.equal(alive(s.process.pid), false);
  await Deno.remove(dir, { recursive: true });
});

function freePortHere(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
