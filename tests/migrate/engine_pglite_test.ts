import { openDatabase } from "../../lib/migrate/mod.ts";
import { ENGINE_CASES } from "./_engine_cases.ts";

Deno.test("migration engine core cases against the embedded PGlite", async (t) => {
  const db = await openDatabase({ pglite: "memory://" });
  try {
    for (const c of ENGINE_CASES) {
      await db.execute("DROP SCHEMA public CASCADE");
      await db.execute("CREATE SCHEMA public");
      await t.step(c.name, () => c.fn(db));
    }
  } finally {
    await db.close();
  }
});
