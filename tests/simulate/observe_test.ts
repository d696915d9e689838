/**
 * The observer on a virtual clock: every change of traffic is stamped with the clock's time
 * when it was made — not when its watch event happened to arrive — also an hour into the
 * run (past the sandbox's 30-minute watch limit), and a write that does not hold the clock
 * is still seen (by the watch). A real in-process sandbox; writes over its HTTP API. The
 * observer reaches it through a proxy that delays watch streams (100 ms a chunk), as a busy
 * machine may: stamps taken when watch events arrive would then be minutes late.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { type Clock, virtualClock } from "../../lib/clock/mod.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { bystanderFetch, observeSandbox } from "../../lib/simulate/mod.ts";

const NS = "observe-test";
const START = Date.UTC(2026, 0, 1);
const ROUTES = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`;

/** A proxy to `target` that delays every chunk of a watch stream by `delayMs` (real time). */
function slowWatches(target: string, delayMs: number) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const res = await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
    });
    if (!url.searchParams.has("watch") || !res.body) return res;
    const delayed = res.body.pipeThrough(
      new TransformStream({
        transform: (chunk, out) =>
          new Promise((done) =>
            setTimeout(() => {
              // The client may have gone (the watch cancelled) while the chunk was held.
              try {
                out.enqueue(chunk);
              } catch {
                // nothing left to deliver to
              }
              done();
            }, delayMs)
          ),
      }),
    );
    return new Response(delayed, { status: res.status, headers: res.headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

function route(green: number) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "web", namespace: NS },
    spec: {
      parentRefs: [{ name: "gateway" }],
      rules: [{
        backendRefs: [
          { name: "web-blue", port: 80, weight: 100 - green },
          { name: "web-green", port: 80, weight: green },
        ],
      }],
    },
  };
}

Deno.test("the observer stamps each traffic change with the virtual time it was made", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "simulate-observe-" });
  const clock = virtualClock({ startMs: START });
  const closers: (() => Promise<void>)[] = [];
  const sandbox = await startSandbox({
    stateDir,
    clock,
    randomSeed: 1,
    seed: { namespaces: [{ name: NS }] },
  });
  try {
    const token = (parse(await Deno.readTextFile(sandbox.kubeconfigPath)) as {
      users: { user: { token: string } }[];
    }).users[0]!.user.token;
    const send = (method: string, path: string, body: unknown) =>
      fetch(`${sandbox.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (res) => {
        const text = await res.text();
        assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
      });
    const proxy = slowWatches(sandbox.url, 100);
    closers.push(proxy.close);
    const inspector = observeSandbox({
      url: proxy.url,
      token,
      kubeconfigPath: sandbox.kubeconfigPath,
      namespace: NS,
      clock,
      // Over HTTP, through the proxy that slows the watches.
      fetch: bystanderFetch(proxy.url, token),
    });
    await inspector.ready;
    const run: Clock = inspector.clock!;
    // As the Kubernetes client does: each request held while in flight, named by its verb.
    const write = (what: string, method: string, path: string, body: unknown) =>
      run.track(what, send(method, path, body));

    await write("create", "POST", ROUTES, route(0));
    await run.sleep(5 * 60_000);
    await write("apply", "PUT", `${ROUTES}/web`, route(5));
    // Time jumps at once after the write: a stamp taken when the watch event arrives
    // would read 15 or 60 minutes later.
    await run.sleep(15 * 60_000);
    await write("patch", "PUT", `${ROUTES}/web`, route(20));
    await run.sleep(45 * 60_000); // past the watch's 30-minute limit
    await write("apply", "PUT", `${ROUTES}/web`, route(100));
    // Writes that hold nothing (e.g. a subprocess's): each seen by the watch, stamped on
    // arrival (the clock has nothing to jump to here), not only the last by the final read.
    await send("PUT", `${ROUTES}/web`, route(50));
    await send("PUT", `${ROUTES}/web`, route(60));
    // No wait here: done() lets the watches deliver both before its final read.
    const observation = await inspector.done();

    const greens = observation.history.map((s) => [
      (s.atMs - START) / 60_000,
      s.services.web?.weights?.green ?? null,
    ]);
    assert.deepEqual(greens, [[0, null], [0, 0], [5, 5], [20, 20], [65, 100], [65, 50], [65, 60]]);
    assert.equal(observation.endMs, START + 65 * 60_000);
  } finally {
    for (const close of closers) await close().catch(() => {});
    await sandbox.stop();
    clock.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});
