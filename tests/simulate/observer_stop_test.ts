/**
 * The observer's `done()` ends its watches even when aborting their fetches does not end
 * the response bodies. Deno (2.9) holds a request's own signal weakly from the one given to
 * `fetch`: once the garbage collector has taken it (after a dozen runs in one process, when
 * the watch loop's code is optimised and no longer keeps the response alive), an abort no
 * longer reaches the body, and a simulation stopped for good in "inspector done" at about
 * its 15th run. Here `fetch` behaves as it does after that collection — the abort is passed
 * on until the response arrives, not after — over a real in-process sandbox.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { virtualClock } from "../../lib/clock/mod.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { bystanderFetch, observeSandbox } from "../../lib/simulate/mod.ts";

const NS = "observe-stop";
/** Stuck watches never end; ones that end do in milliseconds (the run's `inspectMs` ~5 ms). */
const LIMIT_MS = 10_000;

/** `fetch` whose signal aborts the request until its response arrives, and not the body. */
function fetchAsAfterCollection(real: typeof fetch): typeof fetch {
  return async (input, init) => {
    const given = init?.signal;
    if (!given) return await real(input, init);
    const own = new AbortController();
    const pass = () => own.abort(given.reason);
    given.addEventListener("abort", pass, { once: true });
    try {
      return await real(input, { ...init, signal: own.signal });
    } finally {
      given.removeEventListener("abort", pass);
    }
  };
}

Deno.test("done() ends the observer's watches when an abort no longer ends their bodies", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "simulate-observe-stop-" });
  const clock = virtualClock({ startMs: Date.UTC(2026, 0, 1) });
  const sandbox = await startSandbox({
    stateDir,
    clock,
    randomSeed: 1,
    seed: { namespaces: [{ name: NS }] },
  });
  const real = globalThis.fetch;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const token = (parse(await Deno.readTextFile(sandbox.kubeconfigPath)) as {
      users: { user: { token: string } }[];
    }).users[0]!.user.token;
    globalThis.fetch = fetchAsAfterCollection(real);
    const inspector = observeSandbox({
      url: sandbox.url,
      token,
      kubeconfigPath: sandbox.kubeconfigPath,
      namespace: NS,
      clock,
      fetch: bystanderFetch(sandbox.url, token), // over HTTP: the patched fetch
    });
    await inspector.ready;
    await new Promise((resolve) => setTimeout(resolve, 100)); // the watches are open
    assert.match(inspector.where?.() ?? "", /reading #1.*reading #1.*reading #1/);
    const stuck = new Promise<"stuck">((resolve) => {
      timer = setTimeout(() => resolve("stuck"), LIMIT_MS);
    });
    const ended = await Promise.race([inspector.done().then(() => "ended" as const), stuck]);
    assert.equal(ended, "ended", `done() did not end: ${inspector.where?.()}`);
    assert.match(inspector.where?.() ?? "", /stopped.*stopped.*stopped/);
  } finally {
    clearTimeout(timer);
    globalThis.fetch = real;
    await sandbox.stop();
    clock.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});
