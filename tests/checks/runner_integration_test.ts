// The checks inside the real runner: a stage Worker with only the permissions its
// resources grant, the database reached through a capability provided on the main thread.
import assert from "node:assert/strict";
import postgres from "postgres";
import type { DatabaseProbe } from "../../checks/database.ts";
import { SCHEMA_MIGRATIONS_DDL } from "../../lib/migrate/history.ts";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun } from "../../lib/runner/run.ts";
import { startPostgres } from "../_support/postgres.ts";
import { startRedis } from "./_support.ts";

const DEVELOPMENT = new URL("../../environments/development.yml", import.meta.url);

Deno.test("a preflight stage of checks/ runs in the runner: passes, then blocks the deploy on a failure", async () => {
  const redis = await startRedis();
  const pg = await startPostgres();
  const dbUrl = await pg.createDatabase("preflight");
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  await sql.unsafe(SCHEMA_MIGRATIONS_DDL);
  await sql`INSERT INTO schema_migrations (version, name, checksum, applied_by, duration_ms)
    VALUES (3, 'create_batch_jobs', ${"c".repeat(64)}, 'test', 1)`;
  const envDir = await Deno.makeTempDir({ prefix: "checks_envs_" });
  const runsDir = await Deno.makeTempDir({ prefix: "checks_runs_" });
  const yml = (await Deno.readTextFile(DEVELOPMENT))
    .replace(/(redis:\n {2}host: )"[^"]+"\n {2}port: \d+/, `$1"127.0.0.1"\n  port: ${redis.port}`)
    .replace(/(database:\n {2}host: )"[^"]+"\n {2}port: \d+/, `$1"127.0.0.1"\n  port: ${pg.port}`);
  assert.match(yml, new RegExp(`port: ${redis.port}`));
  await Deno.writeTextFile(`${envDir}/development.yml`, yml);
  Deno.env.set("TRACKTION_REDIS_PASSWORD", redis.password);
  const database: DatabaseProbe = {
    async ping() {
      const t0 = performance.now();
      const rows = await sql`SELECT current_setting('server_version') AS v`;
      return { latencyMs: performance.now() - t0, serverVersion: String(rows[0]?.v) };
    },
    async query(text: string) {
      return [...await sql.unsafe(text)] as Record<string, unknown>[];
    },
  };
  const run = async (options: Record<string, string>) => {
    const prepared = await prepareRun({
      pipelineFile: new URL("./fixtures/preflight_pipeline.ts", import.meta.url).pathname,
      environment: "development",
      environmentsDir: envDir,
      options,
      skipTypeCheck: true,
    });
    return await executeRun(prepared, {
      runsDir,
      concurrency: 2,
      dryRun: false,
      capabilities: { database: database as unknown as Record<string, () => unknown> },
      approve: () => Promise.reject(new Error("no approvals here")),
    });
  };
  try {
    const good = await run({ schema: "3" });
    const stage = good.report.stages.find((s) => s.id === "preflight")!;
    assert.equal(good.report.status, "succeeded", JSON.stringify(stage, null, 1));
    const byName = new Map(stage.checks.map((c) => [c.name, c]));
    assert.equal(byName.get("Redis connectivity")?.status, "passed");
    assert.equal(byName.get("Database connectivity")?.status, "passed");
    assert.equal(byName.get("Database schema version")?.evidence.version, "3");
    assert.equal(byName.get("Environment configuration valid")?.status, "passed");
    const cosign = [...byName.values()].find((c) => c.name.startsWith("Image signature"))!;
    assert.equal(cosign.required, false);
    assert.equal(cosign.status, "warned");
    assert.match(cosign.message, /cosign is not installed/);
    assert.ok(!JSON.stringify(good.report).includes(redis.password));

    const bad = await run({ schema: "4" });
    assert.equal(bad.report.status, "failed");
    const failed = bad.report.stages.find((s) => s.id === "preflight")!;
    const schema = failed.checks.find((c) => c.name === "Database schema version")!;
    assert.equal(schema.status, "failed");
    assert.match(schema.message, /Schema version is 3, expected 4/);
    assert.notEqual(bad.report.stages.find((s) => s.id === "deploy")?.status, "succeeded");
  } finally {
    Deno.env.delete("TRACKTION_REDIS_PASSWORD");
    await sql.end();
    await pg.stop();
    await redis.stop();
    await Deno.remove(envDir, { recursive: true });
    await Deno.remove(runsDir, { recursive: true });
  }
});
