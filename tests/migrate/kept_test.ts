/**
 * `keepEmbeddedDatabasesOpen` (lib/migrate/kept.ts): while on, every open of a PGlite folder
 * is a session of one database started once — what a session wrote stays, what it left in
 * its session (a transaction, an advisory lock) does not, overlapping opens take turns — and
 * `close()` closes it, so the folder opens again as usual. Real PGlite throughout.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { keepEmbeddedDatabasesOpen, openDatabase } from "../../lib/migrate/mod.ts";

Deno.test("kept open: one PGlite per folder, its sessions each start clean, close() closes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kept-test-" });
  const folder = join(dir, "pglite");
  const templateCache = join(dir, "templates");
  const keeping = keepEmbeddedDatabasesOpen();
  try {
    assert.throws(() => keepEmbeddedDatabasesOpen(), /kept open already/);
    const t0 = performance.now();
    const a = await openDatabase({ pglite: folder }, { templateCache });
    const firstOpenMs = performance.now() - t0;
    await a.execute("CREATE TABLE t (id int)");
    await a.execute("INSERT INTO t VALUES (1)");
    assert.equal(await a.tryAdvisoryLock(42n), true);
    await a.execute("BEGIN");
    await a.execute("INSERT INTO t VALUES (2)"); // never committed
    // A second open while the first session is out waits for it.
    let second = false;
    const opening = openDatabase({ pglite: folder }, { templateCache }).then((db) => {
      second = true;
      return db;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(second, false, "a session is handed out only once the previous one is closed");
    await a.close();
    const b = await opening;
    assert.deepEqual(keeping.folders, [folder]);
    // What was committed is there; the open transaction was rolled back, the lock released.
    assert.deepEqual(await b.query("SELECT id FROM t ORDER BY id"), [{ id: 1 }]);
    assert.equal(await b.tryAdvisoryLock(42n), true, "the advisory lock went with its session");
    await b.close();
    // The same database: a third open takes no start (a start from the template is ~0.1 s+;
    // a session only waits for the previous close).
    const t1 = performance.now();
    const c = await openDatabase({ pglite: folder }, { templateCache });
    const againMs = performance.now() - t1;
    assert.ok(againMs < firstOpenMs, `reopen ${againMs} ms, first open ${firstOpenMs} ms`);
    await c.close();
  } finally {
    await keeping.close();
  }
  // Closed for real: the folder (its lock released) opens in this process again, data kept.
  const d = await openDatabase({ pglite: folder }, { templateCache, lockTimeoutMs: 1_000 });
  try {
    assert.deepEqual(await d.query("SELECT id FROM t"), [{ id: 1 }]);
  } finally {
    await d.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  // And another keeper can start.
  await keepEmbeddedDatabasesOpen().close();
});
