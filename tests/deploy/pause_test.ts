import assert from "node:assert/strict";
import { Rehearsal, VIRTUAL_LEASE } from "./_deploy.ts";

// A canary that pauses on a breach instead of rolling back: another shell decides with
// `deno task decide <run-id> promote|abort`, and the report says who and when. Each run starts
// its own sandbox on the virtual clock (with the lease of VIRTUAL_LEASE): a paused stage holds
// that clock while it waits, as a person decides in wall time, so the decision still comes in
// the middle of the 5% step.

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION", ...VIRTUAL_LEASE];

async function pausedRun(r: Rehearsal, version: string, action: "promote" | "abort") {
  const child = new Deno.Command(Deno.execPath(), {
    args: r.args("deploy", "production", version, [
      ...CONFIRM,
      "--scenario",
      "canary-errors",
      "--option",
      "on-breach=pause",
    ]),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let exited = false;
  const reading = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      out += value;
    }
  })();
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  // Wait until the runner says it paused (in its journal), then decide from "another shell".
  // No time bound of its own: a run that ends without pausing ends the wait (and fails below).
  let decided = "";
  try {
    while (!decided && !exited) {
      await new Promise((res) => setTimeout(res, 200));
      const runId = /^run (\S+)$/m.exec(out)?.[1];
      if (!runId) continue;
      const events = await Deno.readTextFile(`${r.dir}/runs/${runId}/events.jsonl`)
        .catch(() => "");
      if (!events.includes('"stage.paused"')) continue;
      const decide = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "lib/cli/main.ts",
          "decide",
          runId,
          action,
          "--runs-dir",
          `${r.dir}/runs`,
        ],
        env: { NO_COLOR: "1", DEPLOY_ACTOR: "release-manager" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      decided = new TextDecoder().decode(decide.stdout) + new TextDecoder().decode(decide.stderr);
      assert.equal(decide.code, 0, decided);
    }
  } catch (err) {
    // Not decided: stop the run (its failure path runs) rather than leave it waiting for its
    // decision timeout.
    if (!exited) child.kill("SIGINT");
    await reading;
    throw err;
  }
  await reading;
  const code = (await status).code;
  assert.ok(decided, `the run ended (exit ${code}) without pausing:\n${out}`);
  const report = JSON.parse(await Deno.readTextFile(out.trimEnd().split("\n").at(-1)!.slice(8)));
  return { code, out, decided, report };
}

Deno.test({
  name: "a paused canary waits for `deno task decide`: abort rolls back, the decision is recorded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const first = await r.deploy("production", "v5.0.0", CONFIRM);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      // Production deploys what succeeded in staging: v5.1.0 passes there first, healthy (the
      // paused run then finds it there instead of deploying it to staging under the fault).
      assert.equal((await r.deploy("staging", "v5.1.0", [...VIRTUAL_LEASE])).code, 0);
      const aborted = await pausedRun(r, "v5.1.0", "abort");
      assert.match(aborted.decided, /abort recorded for stage "canary-5"/);
      assert.equal(aborted.code, 1, aborted.out);
      assert.equal(aborted.report.status, "rolled_back");
      const canary = aborted.report.stages.find((s: { id: string }) => s.id === "canary-5");
      assert.equal(canary.status, "failed");
      assert.equal(canary.decision.action, "abort");
      assert.equal(canary.decision.by, "release-manager");
      assert.equal(canary.decision.method, "command");
    } finally {
      await r.remove();
    }
  },
});
