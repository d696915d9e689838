// explain on the runs no sandbox scenario produces, each a real run folder written by the
// engine (the fixture pipeline): a run that succeeded, one whose notification did not arrive,
// a failed migration (its error from the migration engine itself, over an embedded PGlite), a
// lost lock, a run interrupted by a signal, and a runner that died (its journal cut where the
// kill left it, no report). Each: what it says first, what the runner did, the next commands,
// on one screen; and explaining a run writes nothing.
import assert from "node:assert/strict";
import { LeaseLostError } from "../../lib/kubernetes/heartbeat.ts";
import { loadMigrations, migrateUp, openDatabase } from "../../lib/migrate/mod.ts";
import {
  explain,
  explainJson,
  explainText,
  fixtureRun,
  nextCommands,
  snapshot,
} from "./_explain.ts";

/** The text with its wrapped lines joined (a long message goes on over indented lines). */
function flat(text: string): string {
  return text.replace(/\n {4,}/g, " ");
}

async function withRuns(fn: (runsDir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "explain-test-" });
  try {
    await Deno.mkdir(`${root}/runs`);
    await fn(`${root}/runs`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("explain: a run that succeeded says so in a few lines, with no cause and nothing to do", async () => {
  await withRuns(async (runs) => {
    const run = await fixtureRun(runs);
    assert.equal(run.report.status, "succeeded");
    const before = await snapshot(`${runs}/${run.runId}`);
    const text = await explainText(run.runId, "--runs-dir", runs);
    const lines = text.trimEnd().split("\n");
    assert.ok(lines.length <= 10, text);
    assert.match(lines[0]!, new RegExp(`^${run.runId}: deploy → development @ v2.0.0: SUCCEEDED$`));
    assert.match(lines[1]!, /^ {2}succeeded in \S+$/);
    assert.doesNotMatch(text, /First cause|What the runner did|Next/);
    assert.deepEqual(nextCommands(text), []);
    const e = await explainJson(run.runId, "--runs-dir", runs);
    assert.equal(e.cause, undefined);
    assert.equal(e.run.status, "succeeded");
    assert.deepEqual(e.next, []);
    assert.deepEqual(e.undelivered, []);
    assert.deepEqual(e.notified, ["pagerduty"]);
    // Read, not touched: the folder is byte for byte what the run left.
    assert.deepEqual(await snapshot(`${runs}/${run.runId}`), before);
  });
});

Deno.test("explain: a notification that did not arrive is named, with its channel, attempts and error", async () => {
  await withRuns(async (runs) => {
    const run = await fixtureRun(runs, { options: { undelivered: "yes" } });
    assert.equal(run.report.status, "succeeded");
    const text = await explainText(run.runId, "--runs-dir", runs);
    assert.match(
      text,
      /✗ UNDELIVERED slack: notification: succeeded \(stage notify, 3 attempt\(s\)\)\n {6}HTTP 503 Service Unavailable: tell them by hand/,
    );
    assert.match(
      text,
      /✓ notify: succeeded: notified pagerduty\n {6}WARN: slack not notified after 3 attempt\(s\)/,
    );
    const e = await explainJson(run.runId, "--runs-dir", runs);
    assert.deepEqual(e.undelivered, [{
      stage: "notify",
      channel: "slack",
      what: "notification: succeeded",
      attempts: 3,
      error: "HTTP 503 Service Unavailable",
    }]);
  });
});

Deno.test("explain: a failed migration names the migration, its file and line, SQLSTATE, what the database was left with, and the migrate command", async () => {
  // The migration engine's own error: a second migration that uses a column no one made.
  const dir = await Deno.makeTempDir({ prefix: "explain-migrations-" });
  let message = "";
  try {
    await Deno.writeTextFile(`${dir}/0001_create_shops.up.sql`, "CREATE TABLE shops (id int);\n");
    await Deno.writeTextFile(`${dir}/0001_create_shops.down.sql`, "DROP TABLE shops;\n");
    await Deno.writeTextFile(
      `${dir}/0002_index_owner.up.sql`,
      "ALTER TABLE shops ADD COLUMN name text;\nCREATE INDEX shops_owner ON shops (owner_id);\n",
    );
    await Deno.writeTextFile(`${dir}/0002_index_owner.down.sql`, "DROP INDEX shops_owner;\n");
    const db = await openDatabase({ pglite: "memory://" });
    try {
      await assert.rejects(
        () =>
          migrateUp(db, [], { lint: "warn" }).then(async () =>
            migrateUp(db, await loadMigrations(dir), { lint: "warn" })
          ),
        (e: Error) => (message = e.message, e.name === "MigrationFailedError"),
      );
    } finally {
      await db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await withRuns(async (runs) => {
    const run = await fixtureRun(runs, { options: { "migration-error": message } });
    assert.equal(run.report.status, "failed");
    const e = await explainJson(run.runId, "--runs-dir", runs);
    assert.equal(e.cause?.kind, "migration");
    assert.deepEqual(
      e.cause && e.cause.kind === "migration"
        ? [e.cause.migration, e.cause.file?.replace(/^.*\//, ""), e.cause.sqlState, e.cause.outcome]
        : [],
      ["0002_index_owner", "0002_index_owner.up.sql:2", "42703", "rolled back, nothing recorded"],
    );
    const text = await explainText(run.runId, "--runs-dir", runs);
    assert.match(
      text,
      /FAILED\n {2}failed: migrate: migration 0002_index_owner failed; nothing was rolled back/,
    );
    assert.match(
      text,
      /migrate: migration 0002_index_owner failed \(SQLSTATE 42703\)\n {4}at \S+\/0002_index_owner\.up\.sql:2\n {4}column "owner_id" does not exist\n/,
    );
    assert.match(text, /the database: rolled back, nothing recorded/);
    // The rollback watched `deploy`, which never ran: it was rightly not needed.
    assert.match(text, /- rollback: skipped/);
    assert.deepEqual(nextCommands(text), [
      `deno task migrate development status --sandbox --sandbox-dir ${runs}/../sandbox`,
      `deno task report render ${run.runId} --html --runs-dir ${runs}`,
    ]);
  });
});

Deno.test("explain: a lost lock says the run stopped changing things, which stage it stopped, the Lease, and how to see who holds it", async () => {
  await withRuns(async (runs) => {
    const failure = new AbortController();
    const lost = new LeaseLostError(
      "this run lost its deploy lock: another holder took the lock shop/deploy-lock (held by ci/other-run)",
    );
    const run = await fixtureRun(runs, {
      options: { slow: "yes" },
      failure: failure.signal,
      onChange: (r, running) => {
        if (r.id === "deploy" && running) failure.abort(lost);
      },
    });
    assert.equal(run.report.status, "rolled_back");
    const e = await explainJson(run.runId, "--runs-dir", runs);
    assert.equal(e.cause?.kind, "lock");
    if (e.cause?.kind !== "lock") return;
    assert.deepEqual(e.cause.stopped, ["deploy"]);
    assert.deepEqual(e.cause.lease, {
      namespace: "shop",
      name: "deploy-lock",
      holder: `ci/${run.runId}`,
    });
    assert.equal(e.rollback.succeeded, true);
    const text = await explainText(run.runId, "--runs-dir", runs);
    assert.match(text, /rolled back: the run lost its lock \(stopped: deploy\); rolled back/);
    assert.match(
      flat(text),
      /another holder took the lock shop\/deploy-lock \(held by ci\/other-run\)/,
    );
    assert.match(text, /lock: Lease shop\/deploy-lock/);
    // What the rollback said, folded: the same line for web and api once.
    assert.match(
      text,
      /✓ rollback: succeeded\n {6}rolled back: back on the version live before\n {6}traffic back on blue \[web, api\]/,
    );
    assert.deepEqual(nextCommands(text), [
      `kubectl --kubeconfig ${runs}/../sandbox/kubeconfig get lease deploy-lock -n shop -o yaml`,
      `deno task report render ${run.runId} --html --runs-dir ${runs}`,
    ]);
  });
});

Deno.test("explain: a run interrupted by a signal says where, that the failure path ran, and how to deploy again", async () => {
  await withRuns(async (runs) => {
    const stop = new AbortController();
    const run = await fixtureRun(runs, {
      options: { slow: "yes" },
      signal: stop.signal,
      onChange: (r, running) => {
        if (r.id === "deploy" && running) stop.abort();
      },
    });
    assert.equal(run.report.status, "interrupted");
    const e = await explainJson(run.runId, "--runs-dir", runs);
    assert.equal(e.cause?.kind, "interrupted");
    if (e.cause?.kind !== "interrupted") return;
    assert.equal(e.cause.died, false);
    assert.deepEqual(e.cause.running, ["deploy"]);
    const text = await explainText(run.runId, "--runs-dir", runs);
    assert.match(text, /: INTERRUPTED\n {2}interrupted: interrupted during deploy; rolled back\n/);
    assert.match(
      flat(text),
      /the run was interrupted \(a signal: Ctrl-C or SIGTERM\) while deploy ran; its failure path ran/,
    );
    assert.match(text, /deploy \| WARN attempt 1 failed: stage "deploy" was interrupted/);
    assert.match(text, /✓ rollback: succeeded/);
    assert.deepEqual(nextCommands(text), [
      `deno task deploy development v2.0.0 --sandbox --sandbox-dir ${runs}/../sandbox --runs-dir ${runs}`,
      `deno task report render ${run.runId} --html --runs-dir ${runs}`,
    ]);
  });
});

Deno.test("explain: a runner that died (no report, the journal cut by the kill) is read from its journal: resume it, or roll it back", async () => {
  await withRuns(async (runs) => {
    const run = await fixtureRun(runs, {});
    const dir = `${runs}/${run.runId}`;
    // What a kill -9 while `deploy` ran leaves: the journal up to its start (and a line cut
    // short), its log's first line, no report.
    const lines = (await Deno.readTextFile(`${dir}/events.jsonl`)).split("\n");
    const at = lines.findIndex((l) => /"type":"stage.started","stage":"deploy"/.test(l));
    assert.ok(at > 0);
    await Deno.writeTextFile(
      `${dir}/events.jsonl`,
      lines.slice(0, at + 1).join("\n") + '\n{"seq":99,"ts":"20',
    );
    await Deno.remove(`${dir}/report.json`);
    const log = (await Deno.readTextFile(`${dir}/logs/deploy.log`)).split("\n")[0]!;
    await Deno.writeTextFile(`${dir}/logs/deploy.log`, `${log}\n`);
    const before = await snapshot(dir);
    const e = await explainJson(dir);
    assert.equal(e.source, "journal");
    assert.equal(e.run.died, true);
    assert.equal(e.cause?.kind, "interrupted");
    if (e.cause?.kind !== "interrupted") return;
    assert.equal(e.cause.died, true);
    assert.deepEqual(e.cause.running, ["deploy"]);
    assert.equal(e.cause.lastEvent?.seq, at + 1);
    assert.equal(e.cause.lastEvent?.type, "stage.started");
    const text = await explainText(dir);
    assert.match(
      text,
      /: deploy → development @ v2\.0\.0: UNFINISHED \(the runner died\)\n {2}unfinished: the runner died during deploy\n/,
    );
    assert.match(
      flat(text),
      new RegExp(`its journal stops at line ${at + 1} at \\S+, with no run\\.finished`),
    );
    assert.match(text, /deploy \| NOTICE rolling out web-green/);
    assert.deepEqual(nextCommands(text), [
      `deno task resume ${run.runId} --runs-dir ${runs}`,
      `deno task rollback development --run ${run.runId} --sandbox --sandbox-dir ${runs}/../sandbox --runs-dir ${runs}`,
    ]);
    // No report was written (`report verify` rebuilds one; explain only reads).
    assert.deepEqual(await snapshot(dir), before);
  });
});

Deno.test("explain: a dry run says it changed nothing, and gives the real deploy to run", async () => {
  await withRuns(async (runs) => {
    const run = await fixtureRun(runs, { dryRun: true });
    assert.equal(run.report.dryRun, true);
    const text = await explainText(run.runId, "--runs-dir", runs);
    assert.match(
      text,
      /: SUCCEEDED \(dry run\)\n {2}succeeded in \S+ \(a dry run: nothing was changed\)\n/,
    );
    assert.deepEqual(nextCommands(text), [
      `deno task deploy development v2.0.0 --sandbox --sandbox-dir ${runs}/../sandbox --runs-dir ${runs}`,
    ]);
  });
});

Deno.test("deno task explain: exit 0 for a run that failed (explaining a failure is not a failure), 2 for none", async () => {
  await withRuns(async (runs) => {
    const run = await fixtureRun(runs, {
      options: { "migration-error": "Migration 0001_x failed" },
    });
    assert.equal(run.report.status, "failed");
    const task = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "explain", ...args],
        cwd: new URL("../../", import.meta.url).pathname,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await task(run.runId, "--runs-dir", runs);
    const d = new TextDecoder();
    assert.equal(ok.code, 0, d.decode(ok.stderr));
    assert.match(
      d.decode(ok.stdout),
      new RegExp(`^${run.runId}: deploy → development @ v2\\.0\\.0: FAILED\\n`),
    );
    const none = await task("no-such-run", "--runs-dir", runs);
    assert.equal(none.code, 2);
    assert.match(d.decode(none.stderr), /error: No run "no-such-run"/);
    assert.equal(d.decode(none.stdout), "");
  });
});

Deno.test("explain: bad input exits 2 with what to do, and explains nothing", async () => {
  await withRuns(async (runs) => {
    let out = await explain();
    assert.equal(out.code, 2);
    assert.match(out.stderr, /explain needs a run id\nusage: deno task explain/);
    out = await explain("a", "b", "--runs-dir", runs);
    assert.match(out.stderr, /explain takes one run/);
    assert.equal(out.code, 2);
    out = await explain("a", "--frobnicate");
    assert.equal(out.code, 2);
    assert.match(out.stderr, /Unknown option '--frobnicate'/);
    out = await explain("a", "--width", "12");
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--width takes a whole number from 40 to 400, got "12"/);
    // An unknown run: where it looked, the latest runs there, what to give instead.
    out = await explain("20990101T000000Z-abcdef", "--runs-dir", runs);
    assert.equal(out.code, 2);
    assert.match(
      out.stderr,
      new RegExp(
        `No run "20990101T000000Z-abcdef": no report.json or events.jsonl in ${runs}/20990101T000000Z-abcdef\\. ${runs} holds no runs`,
      ),
    );
    const run = await fixtureRun(runs);
    out = await explain("20990101T000000Z-abcdef", "--runs-dir", runs);
    assert.match(out.stderr, new RegExp(`The latest runs in ${runs}: ${run.runId}; give a run id`));
    assert.equal(out.stdout, "");
    // A report that is not JSON, and no journal to read instead: nothing to explain.
    const dir = `${runs}/${run.runId}`;
    await Deno.writeTextFile(`${dir}/report.json`, "{ not json");
    out = await explain(run.runId, "--runs-dir", runs);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /Cannot read \S+report\.json: .*deno task report verify checks it/);
    out = await explain("--help");
    assert.equal(out.code, 0);
    assert.match(out.stdout, /^usage: deno task explain <run-id\|run-dir>/);
  });
});
