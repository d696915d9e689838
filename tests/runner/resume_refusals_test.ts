// `deno task resume` refuses, exit 2, changing nothing, when there is nothing it may resume:
// no such run, a run id that is not one, a run that finished, a run whose runner still lives
// on this machine, a journal edited after it was written. (What it does resume is tested by
// the kill -9 matrix, tests/deploy/kill_resume_test.ts.)
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { Journal } from "../../lib/journal/journal.ts";
import { cli } from "./_run.ts";

async function runFolder(
  root: string,
  runId: string,
  events: { type: string; [k: string]: unknown }[],
): Promise<string> {
  const dir = `${root}/${runId}`;
  await Deno.mkdir(`${dir}/logs`, { recursive: true });
  const journal = await Journal.open(`${dir}/events.jsonl`);
  for (const e of events) await journal.append(e);
  await journal.close();
  return dir;
}

const started = (runId: string, pid: number) => ({
  type: "run.started",
  runId,
  pipeline: "deploy",
  environment: "staging",
  version: "v1.2.4",
  who: { user: "ann", host: hostname() },
  git: { commit: null, dirty: false, branch: null },
  pid,
  invocation: ["deploy", "staging", "v1.2.4", "--skip-type-check"],
});

async function refused(root: string, args: string[], message: RegExp): Promise<void> {
  const before = await snapshot(root);
  const r = await cli(["resume", ...args, "--runs-dir", root]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.deepEqual(await snapshot(root), before, "nothing changed");
}

async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else out[p] = await Deno.readTextFile(p);
    }
  };
  await walk(root);
  return out;
}

Deno.test("resume refuses what it may not resume, exit 2, nothing changed", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "resume-refusals-" });
  try {
    await t.step("no such run", async () => {
      await refused(root, ["20260101T000000Z-abcdef"], /no journal at .*20260101T000000Z-abcdef/);
    });
    await t.step("a run id that is a path", async () => {
      await refused(root, ["../../etc"], /a run id has only letters, digits/);
    });
    await t.step("a run that finished", async () => {
      await runFolder(root, "finished-run", [
        started("finished-run", 999_999_999),
        { type: "run.finished", status: "succeeded" },
      ]);
      await refused(root, ["finished-run"], /it finished \(succeeded\); see deno task report/);
    });
    await t.step("a run whose runner is alive on this machine (this test's own Deno)", async () => {
      await runFolder(root, "live-run", [started("live-run", Deno.pid)]);
      await refused(
        root,
        ["live-run"],
        new RegExp(`its runner \\(pid ${Deno.pid}\\) is still running on this machine`),
      );
    });
    await t.step("a journal edited after it was written", async () => {
      const dir = await runFolder(root, "edited-run", [
        started("edited-run", 999_999_999),
        { type: "stage.started", stage: "lock" },
        { type: "stage.finished", stage: "lock", status: "succeeded" },
      ]);
      const path = `${dir}/events.jsonl`;
      const text = await Deno.readTextFile(path);
      // Line 2 changed: line 3 no longer carries its hash (a last line alone could be
      // changed unseen by the chain: the report's digest catches that).
      await Deno.writeTextFile(path, text.replace('"stage":"lock"', '"stage":"lick"'));
      await refused(root, ["edited-run"], /line 3 does not carry the hash of line 2|was changed/);
    });
    await t.step("usage: no run id, or two", async () => {
      await refused(root, [], /usage: deno task resume <run-id>/);
      await refused(root, ["a", "b"], /usage: deno task resume <run-id>/);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resume of a --json run says 'resume: run …' on stderr: stdout stays NDJSON", async () => {
  const root = await Deno.makeTempDir({ prefix: "resume-json-" });
  try {
    // A runner that is gone: a process that has exited.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    for (const [id, json] of [["json-run", true], ["text-run", false]] as const) {
      const start = started(id, gone.pid);
      // An environment that does not exist: the resumed command stops at its config (exit 2),
      // after the resume line.
      start.invocation = [
        "deploy",
        "nosuch",
        "v1.2.4",
        "--skip-type-check",
        ...(json ? ["--json"] : []),
      ];
      await runFolder(root, id, [{ ...start, environment: "nosuch" }]);
      const r = await cli(["resume", id, "--runs-dir", root]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const line = new RegExp(`^resume: run ${id} \\(deploy nosuch v1\\.2\\.4`, "m");
      if (json) {
        assert.doesNotMatch(r.stdout, /resume:/, "a --json run's stdout is only NDJSON");
        assert.match(r.stderr, line);
        for (const l of r.stdout.split("\n").filter((l) => l !== "")) JSON.parse(l);
      } else {
        assert.match(r.stdout, line);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
