// What a stage prints is redacted a line at a time: a secret written in pieces is still
// caught, and a line too long to wait for is cut, but never through a secret.
import assert from "node:assert/strict";
import { HELD_BACK, MAX_PENDING_LINE, PrintBuffer } from "../../lib/runner/print_buffer.ts";
import { Redactor } from "../../lib/journal/redact.ts";

function buffer(secret: string) {
  const r = new Redactor();
  r.add(secret);
  const shown: string[] = [];
  return { b: new PrintBuffer(r, (_s, t) => shown.push(t)), shown };
}

Deno.test("PrintBuffer redacts a secret written in pieces, and waits for the line's end", () => {
  const { b, shown } = buffer("hunter2-secret");
  b.write("stderr", "pw=hun");
  assert.deepEqual(shown, []);
  b.write("stderr", "ter2-sec");
  b.write("stderr", "ret and more\nnext");
  assert.deepEqual(shown, ["pw=[redacted] and more\n"]);
  b.flush();
  assert.deepEqual(shown, ["pw=[redacted] and more\n", "next\n"]);
});

Deno.test("PrintBuffer cuts a line too long to wait for, but not through a secret at the cut", () => {
  const secret = "S3cret-straddling-the-cut";
  const { b, shown } = buffer(secret);
  const filler = "x".repeat(MAX_PENDING_LINE - 10);
  b.write("stdout", filler);
  b.write("stdout", secret); // crosses MAX_PENDING_LINE with no line end
  b.write("stdout", " end\n");
  const all = shown.join("");
  assert.ok(!all.includes(secret), "the secret was shown");
  assert.ok(all.includes("[redacted] end\n"));
  assert.ok(shown.length >= 2, "the long line was cut");
  assert.ok(shown[0]!.length <= MAX_PENDING_LINE + secret.length - HELD_BACK + 1);
});
