/**
 * The rehearsal's fixed costs (issue 11): the pipeline's type check, cold (a fresh clone:
 * Deno's own check cache keys on paths, so it compiles) against a remembered pass, and the
 * embedded database's first open: `initdb` (what every new sandbox did) against the
 * pre-initialised template, and a shared PGlite reset for the next run (`simulate`).
 * Command: `deno bench -A bench/fixed_costs_bench.ts`. Setup (the clone, the folders) is
 * outside the timings; every iteration uses a folder of its own.
 * @module
 */
import { join } from "node:path";
import { typeCheck } from "../lib/runner/typecheck.ts";
import { openDatabase, shareEmbeddedDatabases } from "../lib/migrate/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "fixed-costs-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
let n = 0;
const fresh = () => join(work, `db-${n++}`);

/** A fresh clone of the project (the working tree's files as committed). */
async function clone(): Promise<string> {
  const dir = join(work, `clone-${n++}`);
  const out = await new Deno.Command("git", { args: ["clone", "-q", ROOT, dir] }).output();
  if (!out.success) throw new Error(`git clone failed: ${new TextDecoder().decode(out.stderr)}`);
  return dir;
}

const typecheckCache = join(work, "typecheck");
const pipeline = "pipelines/deploy.ts";
// Remember one pass, so that each clone below finds it.
await typeCheck(pipeline, { cwd: await clone(), cacheDir: typecheckCache });

Deno.bench({
  name: "type check pipelines/deploy.ts in a fresh clone: deno check (cold)",
  group: "typecheck",
  n: 4,
  warmup: 0,
  async fn(b) {
    const dir = await clone();
    b.start();
    const problems = await typeCheck(pipeline, { cwd: dir, cacheDir: false });
    b.end();
    if (problems.length > 0) throw new Error(`${pipeline} does not type-check`);
  },
});

Deno.bench({
  name: "type check pipelines/deploy.ts in a fresh clone: remembered pass",
  group: "typecheck",
  baseline: true,
  n: 4,
  warmup: 0,
  async fn(b) {
    const dir = await clone();
    b.start();
    const problems = await typeCheck(pipeline, { cwd: dir, cacheDir: typecheckCache });
    b.end();
    if (problems.length > 0) throw new Error(`${pipeline} does not type-check`);
  },
});

const templates = join(work, "templates");
await (await openDatabase({ pglite: fresh() }, { templateCache: templates })).close();

Deno.bench({
  name: "embedded database, first open of a new folder: initdb (before)",
  group: "open",
  n: 4,
  warmup: 0,
  async fn() {
    const db = await openDatabase({ pglite: fresh() }, { templateCache: false });
    await db.query("SELECT 1");
    await db.close();
  },
});

Deno.bench({
  name: "embedded database, first open of a new folder: from the template",
  group: "open",
  baseline: true,
  n: 8,
  warmup: 1,
  async fn() {
    const db = await openDatabase({ pglite: fresh() }, { templateCache: templates });
    await db.query("SELECT 1");
    await db.close();
  },
});

Deno.bench({
  name: "embedded database, next run's database: shared PGlite, reset to empty",
  group: "open",
  n: 8,
  warmup: 1,
  async fn(b) {
    const sharing = await shareEmbeddedDatabases({ templateCache: templates });
    await (await openDatabase({ pglite: fresh() })).close(); // started once, outside
    b.start();
    const db = await openDatabase({ pglite: fresh() });
    await db.query("SELECT 1");
    await db.close();
    b.end();
    await sharing.close();
  },
});
