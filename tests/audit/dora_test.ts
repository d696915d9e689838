/**
 * DORA's four keys from a synthetic history (real journals, `_history.ts`) and a git
 * repository whose tagged commits are at chosen times, through `deno task report audit
 * --json`; every expected number is worked out by hand below, from the table of runs.
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../lib/cli/main.ts";
import { median } from "../../lib/audit/dora.ts";
import { environmentsTrusting, gitRepo, newKey, type RunSpec, writeHistory } from "./_history.ts";

/** Runs are signed with KEY, which the test's production environment file trusts. */
const KEY = await newKey();
const ENVIRONMENTS = await environmentsTrusting(KEY);
const H = 3_600_000;
const M = 60_000;

async function audit(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["report", "audit", ...args], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    tty: false,
    colour: false,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/**
 * The history (window 2026-03-01 → 2026-03-15, 14 days), production:
 *
 * | run | what                         | finished        | commit (git)                 |
 * |-----|------------------------------|-----------------|------------------------------|
 * | r00 | v0.9.0 succeeded (before)    | 02-20 10:30     | -                            |
 * | r01 | v1.0.0 succeeded             | 03-02 10:30     | tag v1.0.0 at 03-02 08:00    |
 * | r02 | v1.1.0 rolled back           | 03-04 09:40     | tag v1.1.0 (annotated) 03-03 |
 * | r03 | v1.1.1 succeeded             | 03-04 15:30     | tag v1.1.1 at 03-04 11:30    |
 * | r04 | v1.2.0 failed, rollback failed | 03-06 10:20   | tag v1.2.0 at 03-06 09:00    |
 * | r05 | v1.2.1 failed before changing anything | 03-06 11:20 | -                   |
 * | r06 | v1.2.2 succeeded             | 03-06 12:45     | tag v1.2.2 at 03-05 12:45    |
 * | r07 | v1.3.0 succeeded             | 03-09 10:30     | tag v1.3.0 at 03-09 09:30    |
 * | r08 | rollback of r07 (pipeline rollback) | 03-09 14:05 | -                       |
 * | r09 | v1.3.1 succeeded             | 03-10 10:30     | untagged: run's commit 03-10 08:30 |
 * | r10 | v1.4.0 dry run               | 03-11 10:10     | -                            |
 * | r11 | v1.4.0 rolled back           | 03-12 09:30     | tag v1.4.0 at 03-12 08:00    |
 * | s01 | staging v1.4.0 succeeded (another environment) | 03-11 | -                  |
 */
function specs(untagged: string): RunSpec[] {
  const run = (
    id: string,
    version: string | undefined,
    start: string,
    end: string,
    more: Partial<RunSpec> = {},
  ): RunSpec => ({
    runId: id,
    startedAt: `2026-${start}:00.000Z`,
    finishedAt: `2026-${end}:00.000Z`,
    ...(version ? { version } : {}),
    ...more,
  });
  return [
    run("r00", "v0.9.0", "02-20T10:00", "02-20T10:30"),
    run("r01", "v1.0.0", "03-02T10:00", "03-02T10:30"),
    run("r02", "v1.1.0", "03-04T09:00", "03-04T09:40", { status: "rolled_back" }),
    run("r03", "v1.1.1", "03-04T15:00", "03-04T15:30"),
    run("r04", "v1.2.0", "03-06T10:00", "03-06T10:20", {
      status: "failed",
      rollback: { performed: true, succeeded: false },
    }),
    run("r05", "v1.2.1", "03-06T11:00", "03-06T11:20", { status: "failed", checkpoint: false }),
    run("r06", "v1.2.2", "03-06T12:00", "03-06T12:45"),
    run("r07", "v1.3.0", "03-09T10:00", "03-09T10:30"),
    run("r08", undefined, "03-09T14:00", "03-09T14:05", {
      pipeline: "rollback",
      outputRunId: "r07",
    }),
    run("r09", "v1.3.1", "03-10T10:00", "03-10T10:30", { commit: untagged }),
    run("r10", "v1.4.0", "03-11T10:00", "03-11T10:10", { dryRun: true }),
    run("s01", "v1.4.0", "03-11T11:00", "03-11T11:30", { environment: "staging" }),
    run("r11", "v1.4.0", "03-12T09:00", "03-12T09:30", { status: "rolled_back" }),
  ];
}

async function repo() {
  return await gitRepo([
    { at: "2026-03-02T08:00:00Z", tag: "v1.0.0" },
    { at: "2026-03-03T12:00:00Z", tag: "v1.1.0", annotated: true },
    { at: "2026-03-04T11:30:00Z", tag: "v1.1.1" },
    { at: "2026-03-05T12:45:00Z", tag: "v1.2.2" },
    { at: "2026-03-06T09:00:00Z", tag: "v1.2.0" },
    { at: "2026-03-09T09:30:00Z", tag: "v1.3.0", annotated: true },
    { at: "2026-03-10T08:30:00Z" },
    { at: "2026-03-12T08:00:00Z", tag: "v1.4.0" },
  ]);
}

Deno.test("report audit --json: DORA's four keys of a synthetic history, each computed by hand", async () => {
  const git = await repo();
  const runsDir = await Deno.makeTempDir({ prefix: "audit-dora-" });
  await writeHistory(runsDir, specs(git.shas[6]!), KEY);
  const r = await audit([
    "production",
    "--runs-dir",
    runsDir,
    "--environments-dir",
    ENVIRONMENTS,
    "--repo",
    git.repo,
    "--since",
    "2026-03-01",
    "--until",
    "2026-03-15",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
  const { dora } = JSON.parse(r.stdout);

  // The deploys that changed production in the window: r01 r02 r03 r04 r06 r07 r09 r11 (8);
  // not r00 (before the window), r05 (failed before changing anything), r08 (a rollback,
  // not a deploy), r10 (dry run), s01 (staging).
  assert.deepEqual(dora.deploys.map((d: { runId: string }) => d.runId), [
    "r01",
    "r02",
    "r03",
    "r04",
    "r06",
    "r07",
    "r09",
    "r11",
  ]);
  assert.deepEqual(dora.notCounted, [{ runId: "r05", why: "failed before changing anything" }]);

  // Deployment frequency: 5 succeeded (r01 r03 r06 r07 r09) over 14 days: 5/14 a day, 2.5 a
  // week. Weeks from 03-01: days with deploys 3 (03-02, 03-04, 03-06) and 2 (03-09, 03-10);
  // the median 2.5 is under 3 days a week (not daily), and every week has one (weekly).
  assert.equal(dora.window.days, 14);
  assert.equal(dora.deploymentFrequency.successful, 5);
  assert.equal(dora.deploymentFrequency.perDay, 5 / 14);
  assert.equal(dora.deploymentFrequency.perWeek, 2.5);
  assert.equal(dora.deploymentFrequency.bucket, "weekly");

  // Lead time: r01 10:30-08:00 = 2h30m; r03 15:30-11:30 = 4h; r06 03-06 12:45 - 03-05 12:45
  // = 24h; r07 10:30-09:30 = 1h; r09 (untagged: the run's commit) 10:30-08:30 = 2h. Sorted
  // 1h, 2h, 2h30m, 4h, 24h: the median is 2h30m.
  const lead = Object.fromEntries(
    dora.leadTime.samples.map((s: { runId: string; ms: number }) => [s.runId, s.ms]),
  );
  assert.deepEqual(lead, { r01: 2.5 * H, r03: 4 * H, r06: 24 * H, r07: 1 * H, r09: 2 * H });
  assert.equal(dora.leadTime.medianMs, 2.5 * H);
  assert.equal(
    dora.leadTime.samples.find((s: { runId: string }) => s.runId === "r09").source,
    "run-commit",
  );
  assert.deepEqual(dora.leadTime.missing, []);

  // Change failure rate: r02 (rolled back), r04 (failed, its rollback failed), r07 (rolled
  // back later by r08), r11 (rolled back): 4 of 8.
  assert.deepEqual(dora.changeFailureRate, { failures: 4, deploys: 8, rate: 0.5 });
  const failures = Object.fromEntries(
    dora.deploys.filter((d: { failure?: string }) => d.failure).map((
      d: { runId: string; failure: string },
    ) => [d.runId, d.failure]),
  );
  assert.deepEqual(failures, {
    r02: "rolled back",
    r04: "failed, and its rollback failed",
    r07: "rolled back later by r08",
    r11: "rolled back",
  });

  // Time to restore: r02 (09:40) → r03 (15:30) = 5h50m; r04 (10:20) → r06 (12:45) = 2h25m;
  // r07 (03-09 10:30) → r09 (03-10 10:30) = 24h; r11 not restored by 03-15. Median 5h50m.
  assert.deepEqual(dora.timeToRestore.restores, [
    { failed: ["r02"], restoredBy: "r03", ms: 5 * H + 50 * M },
    { failed: ["r04"], restoredBy: "r06", ms: 2 * H + 25 * M },
    { failed: ["r07"], restoredBy: "r09", ms: 24 * H },
  ]);
  assert.equal(dora.timeToRestore.medianMs, 5 * H + 50 * M);
  assert.deepEqual(dora.timeToRestore.unrestored, ["r11"]);

  // The same numbers in the text output.
  const text = await audit([
    "production",
    "--runs-dir",
    runsDir,
    "--environments-dir",
    ENVIRONMENTS,
    "--repo",
    git.repo,
    "--since",
    "2026-03-01",
    "--until",
    "2026-03-15",
  ]);
  assert.match(
    text.stdout,
    /deployment frequency +5 successful deploys: 0\.36\/day, 2\.50\/week \(weekly\)/,
  );
  assert.match(text.stdout, /lead time for changes +median 2h30m over 5 deploys/);
  assert.match(text.stdout, /change failure rate +50% \(4 of 8 deploys/);
  assert.match(
    text.stdout,
    /time to restore +median 5h50m over 3 restores \(1 failed deploys not restored yet\)/,
  );
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(git.repo, { recursive: true });
});

Deno.test("report audit: consecutive failures are one outage, restored by the next good deploy", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-dora-" });
  await writeHistory(runsDir, [
    {
      runId: "a",
      version: "v1",
      startedAt: "2026-03-02T10:00:00Z",
      finishedAt: "2026-03-02T11:00:00Z",
    },
    {
      runId: "b",
      version: "v2",
      startedAt: "2026-03-03T10:00:00Z",
      finishedAt: "2026-03-03T11:00:00Z",
      status: "rolled_back",
    },
    {
      runId: "c",
      version: "v3",
      startedAt: "2026-03-03T12:00:00Z",
      finishedAt: "2026-03-03T13:00:00Z",
      status: "rolled_back",
    },
    {
      runId: "d",
      version: "v4",
      startedAt: "2026-03-04T10:00:00Z",
      finishedAt: "2026-03-04T11:00:00Z",
    },
  ], KEY);
  const r = await audit([
    "production",
    "--runs-dir",
    runsDir,
    "--environments-dir",
    ENVIRONMENTS,
    "--repo",
    runsDir, // not a git repository: no commit times
    "--since",
    "2026-03-01",
    "--until",
    "2026-03-08",
    "--json",
  ]);
  const { dora } = JSON.parse(r.stdout);
  assert.equal(r.code, 0, r.stdout.slice(0, 2000));
  // b (03-03 11:00) → d (03-04 11:00): 24h, one outage for b and c.
  assert.deepEqual(dora.timeToRestore.restores, [{
    failed: ["b", "c"],
    restoredBy: "d",
    ms: 24 * H,
  }]);
  assert.deepEqual(dora.changeFailureRate, { failures: 2, deploys: 4, rate: 0.5 });
  // Without git, no lead time, and each deploy says why.
  assert.equal(dora.leadTime.medianMs, null);
  assert.deepEqual(dora.leadTime.missing.map((m: { runId: string }) => m.runId), ["a", "d"]);
  // 2 succeeded in 7 days: 1 day deployed each in the first week → not daily, weekly.
  assert.equal(dora.deploymentFrequency.perWeek, 2);
  assert.equal(dora.deploymentFrequency.bucket, "weekly");
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: no deploys in the window gives no rates (n/a), not zeros that read as perfect", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-dora-" });
  const r = await audit([
    "production",
    "--runs-dir",
    runsDir,
    "--environments-dir",
    ENVIRONMENTS,
    "--since",
    "7d",
    "--until",
    "2026-03-08",
  ]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /change failure rate +n\/a/);
  assert.match(r.stdout, /lead time for changes +median n\/a/);
  assert.match(r.stdout, /time to restore +median n\/a/);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("median() is PERCENTILE_CONT(x, 0.5): the middle one, or the mean of the two middle ones", () => {
  assert.equal(median([5]), 5);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([10, 1, 4, 2]), 3);
  assert.equal(median([]), null);
});
