/**
 * One clock (issue 11): nothing in the runner, the sandbox, the Kubernetes layer, the gate
 * analysis or the journal reads wall time or sets a timer directly — they take a `Clock`
 * (`lib/clock/`), so a virtual clock can run them. A code line (comments and strings of
 * doc examples aside) may not call `setTimeout(`, `setInterval(`, `Date.now(`,
 * `performance.now(`, `AbortSignal.timeout(`, or `new Date()` with no argument.
 *
 * Each offender is listed (file:line and the line), so one run says everything left.
 * @module
 */
import assert from "node:assert/strict";

/** The folders that must run on a clock. */
export const CLOCKED = ["runner", "sandbox", "kubernetes", "analysis", "journal"];
const FORBIDDEN =
  /\b(setTimeout|setInterval)\s*\(|\bDate\.now\s*\(|\bperformance\.now\s*\(|\bAbortSignal\.timeout\s*\(|\bnew Date\(\s*\)/;

async function tsFiles(dir: URL, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) out.push(...await tsFiles(new URL(`${entry.name}/`, dir), `${path}/`));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/**
 * The offending lines of a file's text: code lines only (a line inside a block comment, or
 * whose trimmed text starts with `//` or `*`, is documentation).
 */
export function offenders(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let inComment = false;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (inComment) {
      if (line.includes("*/")) inComment = false;
      return;
    }
    if (line.startsWith("/*")) {
      if (!line.includes("*/")) inComment = true;
      return;
    }
    if (line.startsWith("//") || line.startsWith("*")) return;
    const code = line.replace(/\/\/.*$/, "");
    if (FORBIDDEN.test(code)) out.push({ line: i + 1, text: line });
  });
  return out;
}

Deno.test("the rule catches each forbidden call and spares comments and clock calls", () => {
  const bad = [
    "setTimeout(f, 10);",
    "const t = setInterval(tick, 40);",
    "const now = Date.now();",
    "const t0 = performance.now();",
    "fetch(u, { signal: AbortSignal.timeout(5_000) });",
    "const at = new Date().toISOString();",
  ];
  for (const line of bad) assert.equal(offenders(line).length, 1, line);
  const good = [
    "// setTimeout(f, 10) is not used here",
    " * await Date.now()",
    "/** new Date() */",
    "const at = new Date(clock.now()).toISOString();",
    "await clock.sleep(10);",
    "const signal = clock.timeout(5_000);",
  ];
  for (const line of good) assert.deepEqual(offenders(line), [], line);
  assert.deepEqual(offenders("/*\n setTimeout(f)\n*/\nok();"), []);
});

Deno.test("nothing in the clocked folders reads wall time or sets a timer directly", async () => {
  const found: string[] = [];
  for (const folder of CLOCKED) {
    const dir = new URL(`../lib/${folder}/`, import.meta.url);
    for (const path of await tsFiles(dir, `lib/${folder}/`)) {
      const text = await Deno.readTextFile(new URL(`../${path}`, import.meta.url));
      for (const o of offenders(text)) found.push(`${path}:${o.line}: ${o.text}`);
    }
  }
  assert.deepEqual(found, [], `use the Clock (lib/clock) instead:\n${found.join("\n")}`);
});
