import assert from "node:assert/strict";
import type { CheckOutcome } from "../../lib/dsl/types.ts";
import { freePort, serve, startRedis } from "./_support.ts";

Deno.test("checks run in a Worker that has only net to its hosts and env for its password", async () => {
  const redis = await startRedis();
  const svc = serve(() => Response.json({ status: "healthy" }));
  const deniedPort = freePort();
  Deno.env.set("WORKER_TEST_REDIS_PW", redis.password);
  const worker = new Worker(new URL("./fixtures/worker_checks.ts", import.meta.url), {
    type: "module",
    deno: {
      permissions: {
        net: [`127.0.0.1:${redis.port}`, new URL(svc.url).host],
        env: ["WORKER_TEST_REDIS_PW"],
        read: false,
        write: false,
        run: false,
        ffi: false,
        sys: false,
        import: true,
      },
    },
  });
  try {
    const outcomes = await new Promise<CheckOutcome[]>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage({
        redisPort: redis.port,
        httpUrl: svc.url,
        deniedUrl: `http://127.0.0.1:${deniedPort}`,
      });
    });
    const [connectivity, memory, health, denied] = outcomes;
    assert.equal(connectivity?.ok, true, connectivity?.message ?? "");
    assert.equal(memory?.ok, true, memory?.message ?? "");
    assert.equal(health?.ok, true, health?.message ?? "");
    // A host the stage did not declare: a failed check naming the missing permission.
    assert.equal(denied?.ok, false);
    assert.match(
      denied?.message ?? "",
      /no net permission for "127.0.0.1:\d+" \(the stage did not declare it\)/,
    );
  } finally {
    worker.terminate();
    Deno.env.delete("WORKER_TEST_REDIS_PW");
    await svc.stop();
    await redis.stop();
  }
});
