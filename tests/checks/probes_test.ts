import assert from "node:assert/strict";
import { probeHttp } from "../../lib/probes/http.ts";
import { describeError } from "../../lib/probes/timeout.ts";
import { parseInfo } from "../../lib/redis/resp.ts";
import { freePort, serve } from "./_support.ts";

Deno.test("describeError() turns common failures into short phrases", () => {
  assert.equal(describeError(new DOMException("x", "TimeoutError"), 250), "timed out after 250 ms");
  assert.equal(describeError(new DOMException("x", "AbortError")), "aborted");
  assert.equal(describeError(new Deno.errors.ConnectionRefused("x")), "connection refused");
  assert.equal(
    describeError(new TypeError("fetch failed", { cause: new Error("dns error: no such host") })),
    "DNS lookup failed",
  );
  assert.equal(
    describeError(
      new Deno.errors.NotCapable(
        'Requires net access to "db:5432", run again with the --allow-net flag',
      ),
    ),
    'no net permission for "db:5432" (the stage did not declare it)',
  );
  assert.equal(describeError(new Error("first line\nsecond line")), "first line");
  assert.equal(describeError("plain"), "plain");
});

Deno.test("probeHttp() reads at most maxBodyBytes and never throws", async () => {
  const big = serve(() => new Response("x".repeat(100_000)));
  try {
    const r = await probeHttp(big.url, { maxBodyBytes: 1_000 });
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.body.length, 1_000);
    const bad = await probeHttp(`http://127.0.0.1:${freePort()}/`);
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error, "connection refused");
  } finally {
    await big.stop();
  }
});

Deno.test("parseInfo() skips section headers and keeps values with colons", () => {
  const info = parseInfo(
    "# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\n" +
      "config_file:C:\\redis.conf\r\n\r\n# Memory\r\nused_memory:1024\r\n",
  );
  assert.deepEqual(info, {
    redis_version: "7.0.15",
    executable: "/usr/bin/redis-server",
    config_file: "C:\\redis.conf",
    used_memory: "1024",
  });
});
