// The run's journal: each line chained to the SHA-256 of the one before, so any flipped
// byte of a run's events.jsonl fails verification.
import assert from "node:assert/strict";
import { GENESIS, Journal, verifyJournal } from "../../lib/journal/journal.ts";
import { runFixture } from "./_run.ts";
import { createHash } from "node:crypto";

Deno.test("Journal chains each line to the SHA-256 of the line before", async () => {
  const path = await Deno.makeTempFile();
  try {
    const j = await Journal.open(path);
    await j.append({ type: "a" });
    await j.append({ type: "b", n: 2 });
    await j.close();
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    assert.equal(JSON.parse(lines[0]!).prev, GENESIS);
    assert.equal(
      JSON.parse(lines[1]!).prev,
      createHash("sha256").update(lines[0]!).digest("hex"),
    );
    const v = await verifyJournal(path);
    assert.equal(v.ok, true);
    assert.equal(v.digest, j.digest);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("verifyJournal() fails when any single byte of a run's events.jsonl is flipped", async () => {
  const run = await runFixture("basic.ts");
  try {
    const path = `${run.runDir}/events.jsonl`;
    const original = await Deno.readFile(path);
    assert.equal((await verifyJournal(path, { digest: run.report.events.digest })).ok, true);
    // Flip one byte in the first line, in a middle line and in the last line.
    const newlines = [...original.keys()].filter((i) => original[i] === 10);
    const positions = [5, newlines[Math.floor(newlines.length / 2)]! + 8, original.length - 4];
    for (const pos of positions) {
      const tampered = original.slice();
      tampered[pos] = tampered[pos]! ^ 0x01;
      await Deno.writeFile(path, tampered);
      const v = await verifyJournal(path, { digest: run.report.events.digest });
      assert.equal(v.ok, false, `flipping byte ${pos} went unnoticed`);
    }
  } finally {
    await run.cleanup();
  }
});
