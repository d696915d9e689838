// A run asked to stop stops: after SIGTERM the failure path runs, the report says
// `interrupted`, and the process exits 130 — even when a client of the in-process sandbox
// is stuck in the middle of a request (which kept the sandbox's graceful shutdown, and so
// the CLI, waiting for ever).
import assert from "node:assert/strict";
import { inTempDir, sandboxRunArgs, stuckRequest, until } from "./_isolated.ts";

/** The `stage.started` event of `stage` in the run folder under `runsDir`, once written. */
async function stageStarted(runsDir: string, stage: string): Promise<true | undefined> {
  try {
    for await (const run of Deno.readDir(runsDir)) {
      const text = await Deno.readTextFile(`${runsDir}/${run.name}/events.jsonl`);
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const e = JSON.parse(line);
        if (e.type === "stage.started" && e.stage === stage) return true;
      }
    }
  } catch {
    // not written yet
  }
  return undefined;
}

Deno.test("SIGTERM during a sandbox run: report interrupted, exit 130 within a bound, though a client is stuck mid-request", async () => {
  await inTempDir(async (dir) => {
    const runsDir = `${dir}/runs`;
    const started = Date.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: sandboxRunArgs({ sandboxDir: `${dir}/sandbox`, runsDir: runsDir }, [
        "--option",
        "mode=interrupt",
      ]),
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    const stderr = new Response(child.stderr).text();
    let conn: Deno.TcpConn | undefined;
    try {
      // Observed running: the sandbox's kubeconfig is written and the long stage started.
      await until("the long stage to start", () => stageStarted(runsDir, "long"), 120_000);
      // This machine's pace: how long starting Deno, the sandbox and a stage took.
      const startupMs = Date.now() - started;
      const kubeconfig = await Deno.readTextFile(`${dir}/sandbox/kubeconfig`);
      const url = kubeconfig.match(/server: (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
      assert.ok(url, kubeconfig);
      conn = await stuckRequest(url);

      const bound = 5_000 + 2 * startupMs;
      const signalled = Date.now();
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), bound + 1_000);
      const status = await child.status;
      clearTimeout(timer);
      const took = Date.now() - signalled;
      const out = await stdout;
      const what = `${out}${await stderr}`;
      assert.equal(status.code, 130, `exit code (after ${took} ms): ${what}`);
      assert.ok(took <= bound, `exited ${took} ms after SIGTERM, bound ${bound} ms: ${what}`);
      assert.match(out, /✓ rollback/);
      assert.match(out, /\ninterrupted\n/);
      const last = out.trimEnd().split("\n").at(-1) ?? "";
      assert.match(last, /^report: /);
      const report = JSON.parse(await Deno.readTextFile(last.slice("report: ".length)));
      assert.equal(report.status, "interrupted");
      assert.equal(
        await Deno.stat(`${dir}/sandbox/kubeconfig`).then(() => true, () => false),
        false,
        "the in-process sandbox stopped (its kubeconfig removed)",
      );
    } finally {
      conn?.close();
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await stdout.catch(() => "");
      await stderr.catch(() => "");
    }
  });
});
