// Secrets never leak: a value a stage prints, returns or throws is redacted in every run
// artefact (report, journal, logs).
import assert from "node:assert/strict";
import { runFixture, stageOf } from "./_run.ts";

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(path);
    else yield path;
  }
}

Deno.test("a secret value never appears in any run artefact, even when a stage leaks it", async () => {
  const secret = "s3cr3t-Pa55/word+x";
  Deno.env.set("TRACKTION_DB_PASSWORD", secret);
  const run = await runFixture("secrets.ts", { env: { TRACKTION_DB_PASSWORD: secret } });
  try {
    assert.equal(stageOf(run, "leak").status, "succeeded");
    assert.equal(stageOf(run, "fail").status, "failed");
    let files = 0;
    for await (const path of walk(run.runDir)) {
      files++;
      const text = await Deno.readTextFile(path);
      for (const form of [secret, encodeURIComponent(secret), btoa(secret)]) {
        assert.ok(!text.includes(form), `${path} contains the secret (${form})`);
      }
    }
    assert.ok(files >= 4, `expected report, journal and logs; found ${files} files`);
    const log = await Deno.readTextFile(`${run.runDir}/${stageOf(run, "leak").log}`);
    assert.match(log, /postgres:\/\/tracktion:\[redacted\]@db/);
    assert.match(stageOf(run, "fail").reason!, /auth failed for password \[redacted\]/);
    assert.equal(stageOf(run, "leak").checks[0]!.evidence.password, "[redacted]");
  } finally {
    Deno.env.delete("TRACKTION_DB_PASSWORD");
    await run.cleanup();
  }
});
