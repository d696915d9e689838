// Stopping the sandbox always ends: a client stuck in the middle of a request (headers sent,
// the body never) no longer keeps the server's shutdown, and the process, waiting for ever.
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { readState } from "../../lib/sandbox/state.ts";
import { inTempDir, stuckRequest } from "../runner/_isolated.ts";
import { spawnSandboxCli } from "./_helpers.ts";

/** `deno task sandbox` is `deno run -A lib/cli/main.ts sandbox`. */

Deno.test("startSandbox().stop() ends though a client is stuck mid-request, and saves the state", async () => {
  await inTempDir(async (stateDir) => {
    // This machine's pace: a start and a stop with nothing in flight.
    let t0 = performance.now();
    const quiet = await startSandbox({ stateDir, trafficRate: 0, port: 0 });
    await quiet.stop();
    const baselineMs = performance.now() - t0;

    const sandbox = await startSandbox({ stateDir, trafficRate: 0, port: 0 });
    const conn = await stuckRequest(sandbox.url);
    try {
      t0 = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        sandbox.stop().then(() => "stopped"),
        new Promise((r) => timer = setTimeout(() => r("still stopping"), 60_000)),
      ]);
      clearTimeout(timer);
      const took = performance.now() - t0;
      assert.equal(outcome, "stopped");
      // The grace period for requests in flight (2 s), plus a few of this machine's stops.
      const bound = 2_000 + 5 * baselineMs + 1_000;
      assert.ok(took <= bound, `stop() took ${took} ms, bound ${bound} ms`);
      assert.ok(await readState(`${stateDir}/state.json`));
      assert.equal(await Deno.stat(`${stateDir}/kubeconfig`).then(() => true, () => false), false);
    } finally {
      conn.close();
    }
  });
});

Deno.test("deno task sandbox exits 0 on SIGTERM though a client is stuck mid-request", async () => {
  await inTempDir(async (stateDir) => {
    const { child, line, reader, startupMs } = await spawnSandboxCli(stateDir, [
      "--traffic-rate",
      "0",
    ]);
    const stderr = new Response(child.stderr).text();
    let conn: Deno.TcpConn | undefined;
    try {
      const url = line.match(/server=(\S+)/)?.[1];
      assert.ok(url, `ready line: ${line}`);
      conn = await stuckRequest(url);
      const t0 = performance.now();
      child.kill("SIGTERM");
      const bound = 2_000 + 3 * startupMs + 2_000;
      const timer = setTimeout(() => child.kill("SIGKILL"), bound + 1_000);
      const status = await child.status;
      clearTimeout(timer);
      const took = performance.now() - t0;
      assert.equal(status.code, 0, `after ${took} ms: ${await stderr}`);
      assert.ok(took <= bound, `exited ${took} ms after SIGTERM, bound ${bound} ms`);
      assert.ok(await readState(`${stateDir}/state.json`), "state saved");
    } finally {
      conn?.close();
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await reader.cancel().catch(() => {});
      await stderr.catch(() => "");
    }
  });
});
