import assert from "node:assert/strict";
import { backupVerified, recentBackup } from "../../checks/backup.ts";
import { configurationValid } from "../../checks/configuration.ts";
import { diskUsage, storageCapacity } from "../../checks/storage.ts";
import { loadEnvironment } from "../../lib/config/load_environment.ts";
import { fakeContext } from "./_support.ts";

Deno.test("storageCapacity() passes under the limit and fails over it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checks_storage_" });
  try {
    const usage = await diskUsage(dir);
    assert.ok(usage.totalBytes > 0);
    const ok = await storageCapacity(dir, { maxUsedPercent: 100.1 }).run(fakeContext());
    assert.equal(ok.ok, true, ok.message);
    assert.equal(typeof ok.evidence?.usedPercent, "number");
    const full = await storageCapacity(dir, { maxUsedPercent: 0 }).run(fakeContext());
    assert.equal(full.ok, false);
    assert.match(full.message, /% full \(limit below 0%\)/);
    const tight = await storageCapacity(dir, {
      maxUsedPercent: 100.1,
      minFreeBytes: Number.MAX_SAFE_INTEGER,
    }).run(fakeContext());
    assert.equal(tight.ok, false);
    assert.match(tight.message, /bytes free/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("storageCapacity() fails on a path that does not exist", async () => {
  const outcome = await storageCapacity("/no/such/path/anywhere").run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /Cannot measure storage at \/no\/such\/path\/anywhere/);
});

Deno.test("recentBackup() finds a fresh non-empty dump and rejects stale or empty ones", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "checks_backup_" });
  const now = Date.now();
  const hoursAgo = (h: number) => new Date(now - h * 3.6e6);
  try {
    await t.step("no folder", async () => {
      const outcome = await recentBackup(`${dir}/missing`).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /the folder does not exist/);
    });
    await t.step("only a stale dump", async () => {
      await Deno.mkdir(`${dir}/2026`, { recursive: true });
      await Deno.writeTextFile(`${dir}/2026/tracktion_old.sql.gz`, "dump");
      await Deno.utime(`${dir}/2026/tracktion_old.sql.gz`, hoursAgo(30), hoursAgo(30));
      const outcome = await recentBackup(dir, { pattern: /\.sql\.gz$/ }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /is 30 h old \(limit 24 h\)/);
    });
    await t.step("a fresh but empty dump does not count", async () => {
      await Deno.writeTextFile(`${dir}/tracktion_empty.sql.gz`, "");
      const outcome = await recentBackup(dir, { pattern: /\.sql\.gz$/ }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.equal(outcome.evidence?.matches, 2);
      assert.equal(outcome.evidence?.nonEmpty, 1);
    });
    await t.step("a fresh dump passes; other names are ignored", async () => {
      await Deno.writeTextFile(`${dir}/notes.txt`, "not a dump");
      await Deno.writeTextFile(`${dir}/2026/tracktion_new.sql.gz`, "dump");
      await Deno.utime(`${dir}/2026/tracktion_new.sql.gz`, hoursAgo(2), hoursAgo(2));
      const outcome = await recentBackup(dir, { pattern: /\.sql\.gz$/ }).run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(
        (outcome.evidence?.newest as { path: string }).path,
        `${dir}/2026/tracktion_new.sql.gz`,
      );
      const strict = await recentBackup(dir, { pattern: /\.sql\.gz$/, maxAge: "1h" })
        .run(fakeContext());
      assert.equal(strict.ok, false);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recentBackup() rejects a malformed maxAge when built", () => {
  assert.throws(() => recentBackup("/backups", { maxAge: "a day" }), /Cannot parse maxAge/);
});

Deno.test("backupVerified() wants a recent log that says PASSED", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checks_verify_" });
  const file = `${dir}/backup_verification.log`;
  try {
    assert.equal((await backupVerified(file).run(fakeContext())).ok, false);
    await Deno.writeTextFile(file, "restore test: FAILED\n");
    const failed = await backupVerified(file).run(fakeContext());
    assert.equal(failed.ok, false);
    assert.match(failed.message, /does not say PASSED/);
    await Deno.writeTextFile(file, "restore test: PASSED\n");
    assert.equal((await backupVerified(file).run(fakeContext())).ok, true);
    const old = Date.now() + 48 * 3.6e6;
    const stale = await backupVerified(file, { now: () => old }).run(fakeContext());
    assert.equal(stale.ok, false);
    assert.match(stale.message, /older than 24 h/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configurationValid() passes on the real development environment", async () => {
  const env = await loadEnvironment("development");
  const outcome = await configurationValid(env, {
    expectedServices: Object.keys(env.infrastructure.replicas),
  }).run(fakeContext());
  assert.equal(outcome.ok, true, outcome.message);
  assert.deepEqual(outcome.evidence?.problems, []);
});

Deno.test("configurationValid() lists every problem by path, never a secret value", async () => {
  const env = structuredClone(await loadEnvironment("development")) as unknown as Record<
    string,
    Record<string, unknown>
  >;
  env.database!.host = "";
  env.database!.password = "plain-text-pw-123";
  env.database!.connection_pool = { min_size: 9, max_size: 3 };
  (env.monitoring as Record<string, unknown>).grafana_url = "not a url";
  const outcome = await configurationValid(env, { expectedServices: ["ghost-service"] })
    .run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.deepEqual(outcome.evidence?.problems, [
    "database.host: missing",
    "database.connection_pool: min_size must be <= max_size and max_size >= 1",
    "infrastructure.replicas.ghost-service: must be at least 1",
    "monitoring.grafana_url: not a URL",
    "database.password: holds a value; it must be a secret reference",
  ]);
  assert.ok(!JSON.stringify(outcome).includes("plain-text-pw-123"));
});

Deno.test("configurationValid() fails when the loaded environment is not the run's", async () => {
  const env = await loadEnvironment("staging");
  const outcome = await configurationValid(env).run(fakeContext()); // context: development
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /name: is staging, but the run deploys to development/);
});
