/**
 * `deno task simulate`: bad input exits 2 with a clear message and runs nothing; `--json`
 * prints one object with the fields the issue names; `--replay <seed>` reruns that run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../lib/cli/main.ts";

const FIXTURES = "tests/fixtures/simulate";
const SMALL = [
  "--pipeline",
  `${FIXTURES}/pipelines/good.ts`,
  "--environments-dir",
  `${FIXTURES}/environments`,
];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(["simulate", ...args], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    tty: false,
    colour: false,
  });
  return { code, out: out.join(""), err: err.join("") };
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("simulate: bad input exits 2, says what is wrong, and runs nothing", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "simulate-cli-" });
  const dir = join(work, "never");
  const cases: [string, string[], RegExp][] = [
    ["--runs 0", ["development", "--runs", "0", "--seed", "1"], /--runs takes a whole number/],
    ["--runs x", ["development", "--runs", "x", "--seed", "1"], /--runs takes a whole number/],
    ["--runs 1.5", ["development", "--runs", "1.5", "--seed", "1"], /--runs takes/],
    [
      "unknown environment",
      ["nowhere", "--runs", "1", "--seed", "1"],
      /unknown environment "nowhere"/,
    ],
    ["--seed at the end", ["development", "--runs", "1", "--seed"], /--seed needs a value/],
    [
      "--seed before a flag",
      ["development", "--runs", "1", "--seed", "--json"],
      /--seed needs a value/,
    ],
    ["no --seed", ["development", "--runs", "1"], /--seed is required/],
    ["no --runs", ["development", "--seed", "1"], /--runs is required/],
    ["no environment", ["--runs", "1", "--seed", "1"], /needs an environment/],
    ["--replay x", ["development", "--replay", "x"], /--replay takes a whole number/],
    ["--replay with --runs", ["development", "--replay", "1", "--runs", "2"], /takes no --runs/],
    [
      "--shard 2/2",
      ["development", "--runs", "2", "--seed", "1", "--shard", "2/2"],
      /--shard takes/,
    ],
    ["--shard x", ["development", "--runs", "2", "--seed", "1", "--shard", "x"], /--shard takes/],
    ["an unknown flag", ["development", "--runs", "1", "--seed", "1", "--fast"], /Unknown option/],
    ["--jobs 0", ["development", "--runs", "2", "--seed", "1", "--jobs", "0"], /--jobs takes/],
    [
      "--jobs with --shard",
      ["development", "--runs", "2", "--seed", "1", "--jobs", "2", "--shard", "0/2"],
      /--jobs .* takes no --shard/,
    ],
    [
      "--fault unknown",
      ["development", "--runs", "2", "--seed", "1", "--fault", "chaos"],
      /--fault "chaos": unknown kind/,
    ],
    [
      "--api-chaos 0%",
      ["development", "--runs", "1", "--seed", "1", "--api-chaos", "0%"],
      /--api-chaos takes a percentage above 0% up to 50%.*got "0%"/,
    ],
    [
      "--api-chaos 80%",
      ["development", "--runs", "1", "--seed", "1", "--api-chaos", "80%"],
      /--api-chaos takes/,
    ],
    [
      "--api-chaos lots",
      ["development", "--runs", "1", "--seed", "1", "--api-chaos", "lots"],
      /--api-chaos takes .*"off" or "drawn"/,
    ],
    [
      "--api-chaos at the end",
      ["development", "--runs", "1", "--seed", "1", "--api-chaos"],
      /--api-chaos needs a value/,
    ],
    [
      "--jobs with --replay",
      ["development", "--replay", "7", "--jobs", "2"],
      /--jobs .* takes no --replay/,
    ],
  ];
  try {
    for (const [name, args, message] of cases) {
      await t.step(name, async () => {
        const r = await cli([...args, "--work-dir", dir]);
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, message);
        assert.match(r.err, /usage: deno task simulate/);
        assert.equal(r.out, "");
        assert.equal(await exists(dir), false, "nothing may run or be written");
      });
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("simulate --json: one object with the counts; --replay reruns one run", async () => {
  const work = await Deno.makeTempDir({ prefix: "simulate-json-" });
  try {
    const r = await cli([
      "small",
      "--runs",
      "2",
      "--seed",
      "3",
      "--json",
      ...SMALL,
      "--work-dir",
      work,
      // A flaky API in both runs: the pipeline comes through, and the invariants hold.
      "--api-chaos",
      "5%",
      "--results",
      join(work, "runs.jsonl"),
    ]);
    assert.equal(r.code, 0, r.err + r.out);
    const o = JSON.parse(r.out);
    assert.equal(o.api_chaos_runs, 2);
    const lines = (await Deno.readTextFile(join(work, "runs.jsonl"))).trim().split("\n");
    for (const line of lines.map((l) => JSON.parse(l))) {
      assert.equal(line.apiChaos, 0.05);
      assert.ok(line.apiFaults > 0, `api-chaos faulted none of seed ${line.seed}'s requests`);
    }
    for (const key of ["runs", "healthy_runs", "false_rollbacks", "faulty_runs", "missed_faults"]) {
      assert.equal(typeof o[key], "number", key);
    }
    assert.equal(o.runs, 2);
    assert.ok(Array.isArray(o.violations) && o.violations.length === 0);
    assert.equal(o.healthy_runs + o.faulty_runs <= 2, true);
    assert.ok("median" in o.detection_seconds && "p95" in o.detection_seconds);
    assert.equal(o.missed_faults, 0, "the unbroken pipeline stops every injected fault");

    const replay = await cli(["small", "--replay", "12345", ...SMALL, "--work-dir", work]);
    assert.equal(replay.code, 0, replay.err + replay.out);
    assert.match(replay.out, /^\s+1\/1\s+12345 /m);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("simulate --jobs 2: the same runs as one process, each seed once, summarised together", async () => {
  const work = await Deno.makeTempDir({ prefix: "simulate-jobs-" });
  const args = ["small", "--runs", "3", "--seed", "3", "--json", ...SMALL];
  try {
    const one = await cli([...args, "--work-dir", join(work, "one")]);
    assert.equal(one.code, 0, one.err + one.out);
    const results = join(work, "all.jsonl");
    const two = await cli([
      ...args,
      "--jobs",
      "2",
      "--work-dir",
      join(work, "two"),
      "--results",
      results,
    ]);
    assert.equal(two.code, 0, two.err + two.out);
    const a = JSON.parse(one.out), b = JSON.parse(two.out);
    assert.equal(b.jobs, 2);
    for (const key of ["runs", "healthy_runs", "false_rollbacks", "faulty_runs", "missed_faults"]) {
      assert.equal(b[key], a[key], key);
    }
    assert.deepEqual(b.detection_seconds, a.detection_seconds);
    const lines = (await Deno.readTextFile(results)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal(new Set(lines.map((r) => r.seed)).size, 3, "each seed ran once");
    for (const i of [0, 1]) assert.ok(await exists(join(work, "two", `job-${i}`)), `job-${i}`);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
