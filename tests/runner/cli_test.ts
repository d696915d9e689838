// The CLI as a user runs it: exit codes (2 before anything happens on bad input, 130 on an
// interrupt), --confirm approvals, report verification, plan output and --help.
import assert from "node:assert/strict";
import { cli, fixture } from "./_run.ts";

async function withRunsDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("run exits 2 with file and line when a gate names a misspelt metric", async () => {
  // Written at test time: a file that fails `deno check` cannot live in the checked tree.
  const dir = await Deno.makeTempDir();
  const file = `${dir}/bad_gate.ts`;
  await Deno.writeTextFile(
    file,
    [
      `import { pipeline, stage } from "${new URL("../../mod.ts", import.meta.url).href}";`,
      `import "${new URL("./fixtures/metrics.ts", import.meta.url).href}";`,
      "",
      'export default pipeline("bad-gate", () => [',
      '  stage("canary").gate("error_rate < 1%").gate("eror_rate < 1%").for("1m"),',
      "], { requiresVersion: false });",
      "",
    ].join("\n"),
  );
  try {
    const r = await cli(["run", file, "development", "--runs-dir", `${dir}/runs`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /does not type-check/);
    assert.match(r.stderr, /bad_gate\.ts:5:48: .*"eror_rate < 1%"/);
    assert.equal(
      await Deno.stat(`${dir}/runs`).then(() => true, () => false),
      false,
      "nothing may run",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stage needing approval is refused with exit 2 when nobody can type the phrase", async () => {
  await withRunsDir(async (dir) => {
    const marker = `${dir}/marker`;
    const r = await cli([
      "run",
      fixture("approval.ts"),
      "development",
      "v1.2.4",
      "--runs-dir",
      `${dir}/runs`, // beside the marker: a stage may not write into the runs folder
      "--skip-type-check",
      "--option",
      `marker=${marker}`,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /Stage "confirm" needs the confirmation "DEPLOY TO PRODUCTION": run at a terminal to type it, or pass --confirm "DEPLOY TO PRODUCTION"/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a wrong --confirm phrase exits 2 before anything runs", async () => {
  await withRunsDir(async (dir) => {
    const r = await cli([
      "run",
      fixture("approval.ts"),
      "development",
      "v1.2.4",
      "--runs-dir",
      dir,
      "--skip-type-check",
      "--confirm",
      "deploy to production",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /does not match what stage "confirm" requires/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("--confirm with the phrase approves, and the report says who and how", async () => {
  await withRunsDir(async (dir) => {
    const marker = `${dir}/marker`;
    const r = await cli([
      "run",
      fixture("approval.ts"),
      "development",
      "1.2.4",
      "--runs-dir",
      `${dir}/runs`, // beside the marker: a stage may not write into the runs folder
      "--skip-type-check",
      "--option",
      `marker=${marker}`,
      "--confirm",
      "DEPLOY TO PRODUCTION",
    ], { env: { DEPLOY_ACTOR: "oncall" } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const last = r.stdout.trimEnd().split("\n").at(-1)!;
    assert.match(last, /^report: .*report\.json$/);
    const report = JSON.parse(await Deno.readTextFile(last.slice("report: ".length)));
    assert.equal(report.version, "v1.2.4");
    const confirm = report.stages.find((s: { id: string }) => s.id === "confirm");
    assert.equal(confirm.approval.approved, true);
    assert.equal(confirm.approval.method, "flag");
    assert.equal(confirm.approval.by, "oncall");
    assert.equal(await Deno.readTextFile(marker), "acted");
  });
});

Deno.test("an invalid version exits 2", async () => {
  const r = await cli(["run", fixture("approval.ts"), "development", "1.2", "--skip-type-check"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Invalid version "1\.2": expected a semantic version such as v1\.2\.4/);
});

Deno.test("an unknown environment exits 2 and lists the known ones", async () => {
  const r = await cli(["run", fixture("basic.ts"), "prod", "--skip-type-check"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown environment "prod"/);
  assert.match(r.stderr, /development, production, staging/);
});

Deno.test("unknown flags and commands exit 2 with usage", async () => {
  const a = await cli(["deploy", "production", "v1.2.4", "--sandboxx"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /usage:/);
  const b = await cli(["depoly"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /unknown command "depoly"/);
});

Deno.test("a run exits 130 on SIGINT after running the failure path", async () => {
  await withRunsDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "lib/cli/main.ts",
        "run",
        fixture("basic.ts"),
        "development",
        "--runs-dir",
        dir,
        "--skip-type-check",
        "--option",
        "mode=interrupt",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("▶ long")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGINT");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 130, seen);
    assert.match(seen, /✓ rollback/);
    assert.match(seen, /\ninterrupted\n/);
    const path = seen.trimEnd().split("\n").at(-1)!.slice("report: ".length);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).status, "interrupted");
  });
});

Deno.test("report verifies a run's journal and exits 1 once it was tampered with", async () => {
  await withRunsDir(async (dir) => {
    const r = await cli([
      "run",
      fixture("basic.ts"),
      "development",
      "--runs-dir",
      dir,
      "--skip-type-check",
    ]);
    assert.equal(r.code, 0);
    const runId = [...Deno.readDirSync(dir)][0]!.name;
    const ok = await cli(["report", runId, "--runs-dir", dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /chain verified/);
    const events = `${dir}/${runId}/events.jsonl`;
    const text = await Deno.readTextFile(events);
    await Deno.writeTextFile(events, text.replace('"status":"succeeded"', '"status":"failed"'));
    const bad = await cli(["report", runId, "--runs-dir", dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /journal: BROKEN/);
  });
});

Deno.test("plan prints levels, permissions (full trust flagged) in text, JSON and Mermaid", async () => {
  const text = await cli([
    "plan",
    "development",
    "--pipeline",
    fixture("permissions.ts"),
    "--option",
    "kind=run",
    "--option",
    "target=grype",
    "--option",
    "declared=yes",
    "--skip-type-check",
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /level 0/);
  assert.match(
    text.stdout,
    /permissions: run: grype {2}\[FULL TRUST: runs programs outside Deno's limits\]/,
  );
  const json = await cli([
    "plan",
    "development",
    "--pipeline",
    fixture("basic.ts"),
    "--format",
    "json",
    "--skip-type-check",
  ]);
  const plan = JSON.parse(json.stdout);
  assert.deepEqual(plan.levels[0].includes("left") && plan.levels[0].includes("right"), true);
  assert.deepEqual(plan.handlers, ["rollback", "notify"]);
  const mermaid = await cli([
    "plan",
    "development",
    "--pipeline",
    fixture("basic.ts"),
    "--format",
    "mermaid",
    "--skip-type-check",
  ]);
  assert.match(mermaid.stdout, /^flowchart TD/);
  assert.match(mermaid.stdout, /left --> join/);
});

Deno.test("--help prints each command's own usage and exits 0, changing nothing", async () => {
  const commands = [
    "deploy",
    "run",
    "plan",
    "rollback",
    "decide",
    "report",
    "config",
    "sandbox",
    "migrate",
    "release",
  ];
  for (const command of commands) {
    for (const flag of ["--help", "-h"]) {
      const r = await cli([command, flag]);
      assert.equal(r.code, 0, `${command} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage:\\s+deno task ${command}\\b`, "i"));
      assert.equal(r.stderr, "");
    }
  }
  const overview = await cli(["--help"]);
  assert.equal(overview.code, 0);
  for (const command of commands) {
    assert.match(overview.stdout, new RegExp(`^  ${command} `, "m"), `overview lists ${command}`);
  }
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: deno task <command>/);
});
