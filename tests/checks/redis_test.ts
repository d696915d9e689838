import assert from "node:assert/strict";
import { redisConnectivity, redisMemory, redisPerformance } from "../../checks/redis.ts";
import { parseInfo, RedisClient, RedisReplyError } from "../../lib/redis/resp.ts";
import { fakeContext, freePort, startRedis } from "./_support.ts";

Deno.test("RedisClient speaks RESP2 to a real redis-server", async (t) => {
  const redis = await startRedis();
  try {
    await t.step("AUTH with a wrong password is refused without echoing it", async () => {
      await assert.rejects(
        RedisClient.connect({ hostname: "127.0.0.1", port: redis.port, password: "wrong-pw-42" }),
        (err: Error) => err instanceof RedisReplyError && !err.message.includes("wrong-pw-42"),
      );
    });
    await t.step("commands return typed replies", async () => {
      const client = await RedisClient.connect({
        hostname: "127.0.0.1",
        port: redis.port,
        password: redis.password,
        database: 3,
      });
      try {
        assert.equal(await client.command("PING"), "PONG");
        assert.equal(await client.command("SET", "k", "välue"), "OK");
        assert.equal(await client.command("GET", "k"), "välue");
        assert.equal(await client.command("GET", "missing"), null);
        assert.equal(await client.command("DEL", "k"), 1);
        assert.deepEqual(await client.command("ECHO", ""), "");
        await assert.rejects(client.command("NOPE"), RedisReplyError);
        const info = parseInfo(String(await client.command("INFO", "keyspace")));
        assert.equal(typeof info, "object");
        const [a, b] = await Promise.all([client.command("PING"), client.command("ECHO", "x")]);
        assert.deepEqual([a, b], ["PONG", "x"]);
      } finally {
        client.close();
      }
    });
  } finally {
    await redis.stop();
  }
});

Deno.test("RedisClient.connect() times out on a server that never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    await assert.rejects(
      RedisClient.connect({ hostname: "127.0.0.1", port, password: "x", timeoutMs: 300 }),
      (err: Error) => err instanceof Deno.errors.TimedOut && /AUTH timed out/.test(err.message),
    );
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("redisConnectivity() passes against a real Redis and fails with evidence", async (t) => {
  const redis = await startRedis();
  const ctx = fakeContext();
  try {
    await t.step("passes with the password from an environment variable", async () => {
      Deno.env.set("CHECKS_TEST_REDIS_PW", redis.password);
      try {
        const check = redisConnectivity({
          host: "127.0.0.1",
          port: redis.port,
          database: 2,
          password: { from_env: "CHECKS_TEST_REDIS_PW" },
        }, { maxLatencyMs: 5_000 });
        assert.equal(check.required, true);
        const outcome = await check.run(ctx);
        assert.equal(outcome.ok, true, outcome.message);
        assert.equal(typeof outcome.evidence?.latencyMs, "number");
        assert.equal(outcome.evidence?.reply, "PONG");
        assert.ok(!JSON.stringify(outcome).includes(redis.password));
      } finally {
        Deno.env.delete("CHECKS_TEST_REDIS_PW");
      }
    });
    await t.step("fails on a wrong password, without printing it", async () => {
      const outcome = await redisConnectivity({
        host: "127.0.0.1",
        port: redis.port,
        password: "not-the-password",
      }).run(ctx);
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /WRONGPASS|invalid/i);
      assert.ok(!JSON.stringify(outcome).includes("not-the-password"));
    });
    await t.step("fails when the password variable is not set", async () => {
      const outcome = await redisConnectivity({
        host: "127.0.0.1",
        port: redis.port,
        password: { from_env: "CHECKS_TEST_UNSET_VARIABLE" },
      }).run(ctx);
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /CHECKS_TEST_UNSET_VARIABLE is not set/);
    });
    await t.step("SET/GET round trip passes", async () => {
      const outcome = await redisPerformance(
        { host: "127.0.0.1", port: redis.port, password: redis.password },
        { maxLatencyMs: 5_000 },
      ).run(ctx);
      assert.equal(outcome.ok, true, outcome.message);
    });
  } finally {
    await redis.stop();
  }
});

Deno.test("redisConnectivity() fails on a refused connection", async () => {
  const port = freePort();
  const outcome = await redisConnectivity({ host: "127.0.0.1", port }).run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /connection refused/);
  assert.equal(outcome.evidence?.port, port);
});

Deno.test("redisMemory() compares used_memory with maxmemory", async (t) => {
  const redis = await startRedis({ maxmemory: "100mb" });
  const target = { host: "127.0.0.1", port: redis.port, password: redis.password };
  const ctx = fakeContext();
  try {
    await t.step("passes well under the threshold", async () => {
      const outcome = await redisMemory(target, { maxUsedPercent: 80 }).run(ctx);
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(outcome.evidence?.maxMemory, 100 * 1024 * 1024);
      assert.ok((outcome.evidence?.usedPercent as number) < 80);
    });
    await t.step("fails over the threshold, with the numbers", async () => {
      const outcome = await redisMemory(target, { maxUsedPercent: 0.01 }).run(ctx);
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /Redis memory at .*% of 104857600 bytes \(limit 0.01%\)/);
      assert.equal(typeof outcome.evidence?.usedMemory, "number");
    });
  } finally {
    await redis.stop();
  }
});

Deno.test("redisMemory() without maxmemory uses maxBytes, or passes saying there is no limit", async () => {
  const redis = await startRedis();
  const target = { host: "127.0.0.1", port: redis.port, password: redis.password };
  try {
    const none = await redisMemory(target).run(fakeContext());
    assert.equal(none.ok, true);
    assert.match(none.message, /no memory limit set/);
    const tiny = await redisMemory(target, { maxBytes: 1024 }).run(fakeContext());
    assert.equal(tiny.ok, false);
    assert.equal(tiny.evidence?.limitBytes, 1024);
  } finally {
    await redis.stop();
  }
});

Deno.test("redisConnectivity() fails when PING is slower than the bound", async () => {
  // A stand-in that answers PING after 300 ms: a slow Redis.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(1024);
      while ((await conn.read(buf).catch(() => null)) !== null) {
        await new Promise((r) => setTimeout(r, 300));
        await conn.write(new TextEncoder().encode("+PONG\r\n")).catch(() => {});
      }
      conn.close();
    }
  })();
  try {
    const outcome = await redisConnectivity({ host: "127.0.0.1", port }, { maxLatencyMs: 100 })
      .run(fakeContext());
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /Redis PING took .* ms \(limit 100 ms\)/);
    assert.ok((outcome.evidence?.latencyMs as number) >= 100);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("redisConnectivity() reads a secret_key_ref password through the kubernetes capability", async () => {
  const redis = await startRedis();
  const target = {
    host: "127.0.0.1",
    port: redis.port,
    password: { secret_key_ref: { name: "redis-credentials", key: "password" } },
  };
  const asked: string[] = [];
  const kubernetes = {
    readSecret: (namespace: string, name: string, key: string) => {
      asked.push(`${namespace}/${name}/${key}`);
      return Promise.resolve(name === "redis-credentials" ? redis.password : null);
    },
  };
  try {
    const ok = await redisConnectivity(target, {
      secretNamespace: "tracktion-staging",
      maxLatencyMs: 5_000,
    }).run(fakeContext({ kubernetes }));
    assert.equal(ok.ok, true, ok.message);
    assert.deepEqual(asked, ["tracktion-staging/redis-credentials/password"]);
    assert.ok(!JSON.stringify(ok).includes(redis.password));

    const noNamespace = await redisConnectivity(target).run(fakeContext({ kubernetes }));
    assert.equal(noNamespace.ok, false);
    assert.match(noNamespace.message, /give the check secretNamespace/);

    const undeclared = await redisConnectivity(target, { secretNamespace: "tracktion-staging" })
      .run(fakeContext({}));
    assert.equal(undeclared.ok, false);
    assert.match(undeclared.message, /cannot read secret tracktion-staging\/redis-credentials/);

    const missing = await redisConnectivity(
      { ...target, password: { secret_key_ref: { name: "other", key: "password" } } },
      { secretNamespace: "tracktion-staging" },
    ).run(fakeContext({ kubernetes }));
    assert.equal(missing.ok, false);
    assert.match(missing.message, /secret tracktion-staging\/other has no key password/);
  } finally {
    await redis.stop();
  }
});

Deno.test("redisConnectivity() over TLS trusts the given CA; without it, or over plain TCP, it fails", async () => {
  const { startRedisCompanion } = await import("../../lib/companions/redis.ts");
  const dir = await Deno.makeTempDir({ prefix: "checks_redis_tls_" });
  const redis = await startRedisCompanion({ dir, password: "tls-pw-7", tls: true });
  assert.ok(!("missing" in redis));
  const target = { host: redis.host, port: redis.port, password: "tls-pw-7" };
  try {
    const ok = await redisConnectivity({ ...target, ssl: true, ca: redis.ca }, {
      maxLatencyMs: 5_000,
    }).run(fakeContext());
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.evidence?.tls, true);
    assert.equal(ok.evidence?.auth, true);
    const untrusted = await redisConnectivity({ ...target, ssl: true }, { timeoutMs: 3_000 })
      .run(fakeContext());
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.message, /certificate|UnknownIssuer|invalid peer/i);
    const plain = await redisConnectivity(target, { timeoutMs: 1_000 }).run(fakeContext());
    assert.equal(plain.ok, false, "a TLS-only port does not answer plain RESP");
    const noPassword = await redisConnectivity({
      host: redis.host,
      port: redis.port,
      ssl: true,
      ca: redis.ca,
    })
      .run(fakeContext());
    assert.equal(noPassword.ok, false);
    assert.match(noPassword.message, /NOAUTH.*requires a password and none was given/);
    const wrong = await redisConnectivity({
      ...target,
      password: "nope-123",
      ssl: true,
      ca: redis.ca,
    })
      .run(fakeContext());
    assert.match(wrong.message, /WRONGPASS.*not the one Redis requires/);
    assert.ok(!JSON.stringify(wrong).includes("nope-123"));
  } finally {
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
