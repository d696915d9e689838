import assert from "node:assert/strict";
import { escapeHtml, escapeMarkdown, fenced, scriptJson } from "../../lib/render/mod.ts";

Deno.test("escapeHtml() leaves no character that starts markup or ends an attribute", () => {
  const text = `</script><img src=x onerror="alert('1')"> & co`;
  const out = escapeHtml(text);
  assert.doesNotMatch(out, /[<>"']/);
  assert.equal(
    out,
    "&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; co",
  );
  assert.equal(escapeHtml(""), "");
});

Deno.test("scriptJson() cannot close its script element and parses back to the value", () => {
  const value = {
    name: "</script><script>alert(1)</script>",
    comment: "<!-- <script>",
    amp: "a & b",
    separators: "\u2028\u2029",
    nested: [{ x: "</SCRIPT>" }],
  };
  const json = scriptJson(value);
  assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(json), value);
  assert.equal(scriptJson(undefined), "null");
});

Deno.test("escapeMarkdown() renders as the text itself: no HTML, emphasis, table cells or mentions", () => {
  assert.equal(
    escapeMarkdown("</script><script>|*a*_b_ `c` [l](u) @org/team #1\nnext"),
    "&lt;/script&gt;&lt;script&gt;\\|\\*a\\*\\_b\\_ \\`c\\` \\[l\\]\\(u\\) &#64;org/team \\#1 next",
  );
  assert.equal(escapeMarkdown("a\\b"), "a\\\\b", "a backslash escapes nothing after it");
  assert.doesNotMatch(escapeMarkdown("x\r\ny\rz"), /[\r\n]/);
});

Deno.test("fenced() uses a fence longer than any backtick run in its content", () => {
  assert.equal(fenced("plain", "json"), "```json\nplain\n```\n");
  assert.equal(fenced("a ```` b\n"), "`````\na ```` b\n`````\n");
  const block = fenced("```\n</details>\n```");
  const fence = block.split("\n")[0]!;
  assert.equal(fence, "````");
  assert.ok(block.trimEnd().endsWith(fence));
});
