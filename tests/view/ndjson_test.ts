import assert from "node:assert/strict";
import { Rehearsal, VIRTUAL_LEASE } from "../deploy/_deploy.ts";

// `deploy --json`: standard output is the run's journal as NDJSON and nothing else — here a
// production deploy in a sandbox of the test's own, which first rehearses staging in the
// same sandbox: two runs, each from its run.started to its run.finished, each line the very
// line of its events.jsonl (so `deno task report verify`'s chain holds for it), and not one
// of the sandbox's secret values (database and Redis passwords, API keys, the TLS key)
// anywhere in it. What people read (the report's path) goes to standard error.

interface StoredObject {
  type: string;
  object: { metadata: { name: string }; data?: Record<string, string> };
}

async function secretValues(sandboxDir: string): Promise<string[]> {
  const state = JSON.parse(await Deno.readTextFile(`${sandboxDir}/state.json`));
  const values: string[] = [];
  for (const o of state.store.objects as StoredObject[]) {
    if (!o.type.endsWith("/secrets")) continue;
    for (const [key, b64] of Object.entries(o.object.data ?? {})) {
      if (!/password|api-key|token|tls\.key/.test(key)) continue;
      values.push(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    }
  }
  return values;
}

Deno.test("deploy --json streams every run's journal as NDJSON on stdout, without a secret", async () => {
  const r = await Rehearsal.create();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: r.args("deploy", "production", "v1.2.4", [
        "--confirm",
        "DEPLOY TO PRODUCTION",
        ...VIRTUAL_LEASE,
        "--json",
      ]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.ok(stdout.endsWith("\n"));
    const lines = stdout.slice(0, -1).split("\n");
    // Every line is one JSON object.
    const events = lines.map((l, i) => {
      const e = JSON.parse(l);
      assert.equal(typeof e, "object", `line ${i + 1}`);
      assert.equal(typeof e.type, "string", `line ${i + 1}`);
      return e as { type: string; seq: number; runId?: string; environment?: string };
    });
    // Two runs, one after the other: staging's, then production's.
    const starts = events.flatMap((e, i) => (e.type === "run.started" ? [i] : []));
    assert.equal(starts.length, 2);
    assert.equal(starts[0], 0);
    assert.deepEqual(starts.map((i) => events[i]!.environment), ["staging", "production"]);
    const runs = [lines.slice(0, starts[1]), lines.slice(starts[1])];
    for (const [n, run] of runs.entries()) {
      const first = JSON.parse(run[0]!);
      assert.equal(JSON.parse(run.at(-1)!).type, "run.finished");
      assert.deepEqual(run.map((l) => JSON.parse(l).seq), run.map((_, i) => i + 1), `run ${n}`);
      // Each is its journal, line for line.
      const journal = await Deno.readTextFile(`${r.dir}/runs/${first.runId}/events.jsonl`);
      assert.equal(run.join("\n") + "\n", journal);
    }
    assert.ok(runs[1]!.some((l) => JSON.parse(l).type === "gate.sample"));
    // No secret: not in the events, not in what people read.
    const secrets = await secretValues(r.sandboxDir);
    assert.ok(secrets.length >= 6, `only ${secrets.length} secret values found`);
    for (const s of secrets) {
      assert.ok(!stdout.includes(s), "a secret value is in the NDJSON");
      assert.ok(!stderr.includes(s), "a secret value is on standard error");
    }
    // The report's path is said, on standard error.
    const second = JSON.parse(runs[1]![0]!);
    assert.match(stderr, new RegExp(`^report: .*/${second.runId}/report\\.json$`, "m"));
  } finally {
    await r.remove();
  }
});
