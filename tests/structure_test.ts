/**
 * The shape of `lib/`, checked by reading its files (the rules of issue 10):
 *
 * 1. Every folder directly under `lib/` has a `mod.ts` whose opening JSDoc comment
 *    carries `@module`.
 * 2. Every `.ts` file under `lib/` (at any depth) opens with a JSDoc comment: its first
 *    non-blank text is `/**`, and that first comment contains `@module`. A leading `//`
 *    comment does not count.
 * 3. No project name in `lib/`: no line matches
 *    `analysis-service|file-watcher|tracklist-service|notification-service|tracktion`
 *    (case-sensitive, as `grep -rnE` would), except in `lib/product/` (the tool's own
 *    name, written once) and on comment lines (the trimmed line starts with `//`, `*` or
 *    `/*`) that say `for example` or `e.g.`.
 * 4. One CLI: no `main.ts` under `lib/` outside `lib/cli/` (so none in `lib/migrate`,
 *    `lib/release`, `lib/sandbox`), and no `config_command.ts` anywhere in `lib/`.
 *
 * Each test lists every offender, so one run says everything left to fix.
 * @module
 */
import assert from "node:assert/strict";

const LIB = new URL("../lib/", import.meta.url);
const NAMES = /analysis-service|file-watcher|tracklist-service|notification-service|tracktion/;
const EXAMPLE = /for example|e\.g\./i;

/** Every file under `lib/`, as paths relative to the repository (`lib/x/y.ts`). */
async function files(dir: URL = LIB, prefix = "lib/"): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) out.push(...await files(new URL(`${entry.name}/`, dir), `${path}/`));
    else if (entry.isFile) out.push(path);
  }
  return out.sort();
}

/** The folders directly under `lib/`. */
async function packages(): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(LIB)) if (entry.isDirectory) out.push(entry.name);
  return out.sort();
}

function read(path: string): Promise<string> {
  return Deno.readTextFile(new URL(`../${path}`, import.meta.url));
}

/** The file's opening JSDoc comment, or why it has none. */
function openingDoc(text: string): { doc: string } | { problem: string } {
  const body = text.replace(/^\uFEFF/, "").trimStart();
  if (!body.startsWith("/**")) {
    return {
      problem: body.startsWith("//") ? "opens with a // comment" : "opens with no comment",
    };
  }
  const end = body.indexOf("*/");
  if (end < 0) return { problem: "its opening comment is not closed" };
  return { doc: body.slice(0, end + 2) };
}

/** Whether a line names the project against rule 3 (a for-example comment may). */
function namesProject(line: string): boolean {
  if (!NAMES.test(line)) return false;
  const trimmed = line.trim();
  const comment = trimmed.startsWith("//") || trimmed.startsWith("*") || trimmed.startsWith("/*");
  return !(comment && EXAMPLE.test(line));
}

function report(what: string, offenders: readonly string[]): string {
  return `${offenders.length} ${what}:\n  ${offenders.join("\n  ")}`;
}

Deno.test("every folder under lib/ has a mod.ts with a @module comment", async () => {
  const offenders: string[] = [];
  for (const name of await packages()) {
    let text: string;
    try {
      text = await read(`lib/${name}/mod.ts`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      offenders.push(`lib/${name}/: no mod.ts`);
      continue;
    }
    const opening = openingDoc(text);
    if ("problem" in opening) offenders.push(`lib/${name}/mod.ts: ${opening.problem}`);
    else if (!opening.doc.includes("@module")) {
      offenders.push(`lib/${name}/mod.ts: its opening comment has no @module`);
    }
  }
  assert.deepEqual(offenders, [], report("folders without a documented mod.ts", offenders));
});

Deno.test("every .ts file under lib/ opens with a JSDoc comment carrying @module", async () => {
  const offenders: string[] = [];
  for (const path of (await files()).filter((p) => p.endsWith(".ts"))) {
    const opening = openingDoc(await read(path));
    if ("problem" in opening) offenders.push(`${path}: ${opening.problem}`);
    else if (!opening.doc.includes("@module")) {
      offenders.push(`${path}: its opening comment has no @module`);
    }
  }
  assert.deepEqual(offenders, [], report("files without an opening @module comment", offenders));
});

Deno.test("lib/ names no project outside lib/product/, but in for-example comments", async () => {
  const offenders: string[] = [];
  for (const path of await files()) {
    if (path.startsWith("lib/product/")) continue;
    if (!/\.(ts|js|json|ya?ml|md|txt|sql)$/.test(path)) continue;
    for (const [i, line] of (await read(path)).split("\n").entries()) {
      if (namesProject(line)) offenders.push(`${path}:${i + 1}: ${line.trim().slice(0, 120)}`);
    }
  }
  assert.deepEqual(offenders, [], report("lines naming the project", offenders));
});

Deno.test("one CLI: no main.ts under lib/ outside lib/cli/, no config_command.ts", async () => {
  const all = await files();
  const offenders = all.filter((p) =>
    (p.endsWith("/main.ts") && !p.startsWith("lib/cli/")) || p.endsWith("/config_command.ts")
  );
  assert.deepEqual(offenders, [], report("entry points outside lib/cli/", offenders));
});

Deno.test("the structure rules bite: what they accept and what they refuse", () => {
  assert.deepEqual(openingDoc("/**\n * Does x.\n * @module\n */\nexport {};"), {
    doc: "/**\n * Does x.\n * @module\n */",
  });
  assert.deepEqual(openingDoc("// Does x.\nexport {};"), { problem: "opens with a // comment" });
  assert.deepEqual(openingDoc("import x from './x.ts';"), { problem: "opens with no comment" });
  assert.equal(namesProject(' * e.g. `{ service: "tracklist-service" }`'), false);
  assert.equal(namesProject("// for example the tracktion namespace"), false);
  assert.equal(namesProject('const ns = "tracktion-prod"; // e.g.'), true, "code, not a comment");
  assert.equal(namesProject(" * the tracktion namespace"), true, "a comment without an example");
  assert.equal(namesProject(" * Tracktion's pipelines"), false, "case-sensitive, as grep -E");
});

Deno.test("a test file that changes the process's environment or working directory runs alone (test.sh's SERIAL)", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const script = await Deno.readTextFile(`${root}scripts/test.sh`);
  const serial = new Set(/SERIAL=\(\n([\s\S]*?)\n\s*\)/.exec(script)![1]!.trim().split(/\s+/));
  // Helpers that do it on their callers' behalf.
  const helpers: string[] = [];
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${root}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "fixtures") await walk(path);
      else if (e.isFile && e.name.endsWith(".ts")) files.push(path);
    }
  };
  await walk("tests");
  const mutates = /Deno\.env\.(set|delete)\(|Deno\.chdir\(|process\.chdir\(/;
  const texts = new Map(
    await Promise.all(files.map(async (f) => [f, await Deno.readTextFile(`${root}${f}`)] as const)),
  );
  for (const [f, text] of texts) {
    if (!f.endsWith("_test.ts") && mutates.test(text)) helpers.push(f);
  }
  // What a file imports, as repository paths.
  const imports = (f: string, text: string) =>
    [...text.matchAll(/from "(\.{1,2}\/[^"]+)"/g)].map((m) =>
      new URL(m[1]!, `file:///${f}`).pathname.slice(1)
    );
  const missing = [...texts].filter(([f, text]) =>
    f.endsWith("_test.ts") && f !== "tests/structure_test.ts" &&
    (mutates.test(text) || imports(f, text).some((i) => helpers.includes(i))) && !serial.has(f)
  ).map(([f]) => f);
  assert.deepEqual(missing, [], "add them to SERIAL in scripts/test.sh");
  for (const f of serial) assert.ok(texts.has(f), `SERIAL names ${f}, which does not exist`);
});
