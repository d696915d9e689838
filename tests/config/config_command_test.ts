import assert from "node:assert/strict";
import { diffEnvironments, loadEnvironment } from "../../lib/config/mod.ts";
import { CONFIG_USAGE, configCommand } from "../../lib/cli/config.ts";
import { main } from "../../lib/cli/main.ts";
import { ENVIRONMENTS, FIXTURES, shown } from "./_helpers.ts";

async function run(args: string[], dir = ENVIRONMENTS) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await configCommand(args, {
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
  }, { environmentsDir: dir });
  for (const chunk of [...out, ...err]) assert.ok(chunk.endsWith("\n"), `no newline: ${chunk}`);
  const text = (chunks: string[]) => chunks.join("").replace(/\n$/, "");
  return { code, stdout: text(out), stderr: text(err) };
}

Deno.test("configCommand() validate checks every environment in the folder", async () => {
  const result = await run(["validate"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    ["development", "production", "staging"]
      .map((name) => `ok ${shown(ENVIRONMENTS, `${name}.yml`)}`).join("\n"),
  );
  assert.equal(result.stderr, "");
});

Deno.test("configCommand() validate <env> checks one environment", async () => {
  const result = await run(["validate", "staging"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `ok ${shown(ENVIRONMENTS, "staging.yml")}`);
});

Deno.test("configCommand() validate reports every problem and exits 2", async () => {
  const result = await run(["validate", "valid", "wrong_type", "unknown_key"], FIXTURES);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, `ok ${shown(FIXTURES, "valid.yml")}`);
  assert.equal(
    result.stderr,
    [
      `${shown(FIXTURES, "wrong_type.yml")}:22:9: database.port: ` +
      'expected an integer from 1 to 65535, got "abc"',
      `${shown(FIXTURES, "unknown_key.yml")}:20:1: database.port: ` +
      "missing required key (expected an integer from 1 to 65535)",
      `${shown(FIXTURES, "unknown_key.yml")}:22:3: database.prot: ` +
      'unknown key (did you mean "port"?)',
      "2 of 3 environments have problems",
    ].join("\n"),
  );
});

Deno.test("configCommand() validate of the whole fixtures folder fails all but one", async () => {
  const result = await run(["validate", "--environments-dir", FIXTURES], ENVIRONMENTS);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, `ok ${shown(FIXTURES, "valid.yml")}`);
  assert.match(result.stderr, /\n19 of 20 environments have problems$/);
  assert.ok(!result.stderr.includes("hunter2"));
});

Deno.test("configCommand() validate rejects an unknown environment and traversal", async () => {
  const unknown = await run(["validate", "prod"]);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /^Unknown environment "prod": no .*prod\.yml \(known: development, production, staging\)\n/,
  );
  const traversal = await run(["validate", "../tests/config/fixtures/valid"]);
  assert.equal(traversal.code, 2);
  assert.match(traversal.stderr, /^Invalid environment name "\.\.\/tests/);
  assert.equal(traversal.stdout, "");
});

Deno.test("configCommand() validate of an empty folder exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const result = await run(["validate"], dir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^No environment files \(\*\.yml\) in /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configCommand() diff prints a table of differing paths with secret refs", async () => {
  const result = await run(["diff", "staging", "production"]);
  assert.equal(result.code, 0);
  const lines = result.stdout.split("\n");
  assert.match(lines[0]!, /^path +staging +production$/);
  const row = (path: string) => lines.find((line) => line.startsWith(`${path} `));
  assert.match(row("infrastructure.replicas.analysis-service")!, / 2 +5$/);
  assert.match(row("database.connection_pool.max_size")!, / 10 +20$/);
  assert.match(row("deployment.strategy")!, / blue-green +canary$/);
  assert.match(row("infrastructure.monitoring.metrics_retention")!, / 30 days +90 days$/);
  assert.match(
    row("notifications.pagerduty.routing_key")!,
    / \(absent\) +env PAGERDUTY_ROUTING_KEY$/,
  );
  assert.equal(row("database.port"), undefined, "equal fields are not listed");
  assert.equal(row("github.token"), undefined);
  assert.equal(lines.at(-1), `${lines.length - 3} fields differ`);
});

Deno.test("configCommand() diff never resolves secrets", async () => {
  const saved = Deno.env.get("TRACKTION_DB_PASSWORD");
  Deno.env.set("TRACKTION_DB_PASSWORD", "do-not-print-me");
  try {
    const result = await run(["diff", "development", "production"]);
    assert.equal(result.code, 0);
    assert.match(
      result.stdout,
      /\ndatabase\.password +env TRACKTION_DB_PASSWORD +secret db-credentials\/password\n/,
    );
    assert.ok(!result.stdout.includes("do-not-print-me"));
  } finally {
    if (saved === undefined) Deno.env.delete("TRACKTION_DB_PASSWORD");
    else Deno.env.set("TRACKTION_DB_PASSWORD", saved);
  }
});

Deno.test("configCommand() diff of an environment with itself reports no differences", async () => {
  const result = await run(["diff", "staging", "staging"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "No differences between staging and staging");
});

Deno.test("configCommand() diff with an invalid environment exits 2", async () => {
  const result = await run(["diff", "valid", "wrong_type"], FIXTURES);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /wrong_type\.yml:22:9: database\.port: /);
});

Deno.test("configCommand() prints the error and its usage on stderr and exits 2 for bad usage", async () => {
  for (
    const [args, message] of [
      [[], /^error: expected a command: validate or diff\n/],
      [["frobnicate"], /^error: unknown command "frobnicate": expected validate or diff\n/],
      [["diff", "staging"], /^error: expected two environments for diff, got 1\n/],
      [["diff", "a", "b", "c"], /^error: expected two environments for diff, got 3\n/],
      [["validate", "--bogus"], /^error: Unknown option '--bogus'/],
      // The old name of --environments-dir is not taken.
      [["validate", "--dir", FIXTURES], /^error: Unknown option '--dir'/],
    ] as const
  ) {
    const result = await run([...args]);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stdout, "");
    assert.match(result.stderr, message);
    assert.ok(result.stderr.endsWith(CONFIG_USAGE), args.join(" "));
  }
});

Deno.test("deno task config --help (and -h) prints its usage, like every command", async () => {
  assert.ok(CONFIG_USAGE.startsWith("usage: deno task config validate"));
  for (const flag of ["--help", "-h"]) {
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: () => {}, tty: false, colour: false };
    assert.equal(await main(["config", "validate", flag], io), 0);
    assert.equal(out.join(""), `${CONFIG_USAGE}\n`);
  }
});

Deno.test("diffEnvironments() lists leaf paths that differ, durations by length", async () => {
  const staging = await loadEnvironment("staging", { dir: ENVIRONMENTS });
  const same = structuredClone(staging);
  assert.deepEqual(diffEnvironments(staging, same), []);
  const changed = structuredClone(staging);
  changed.database.port = 6543;
  changed.deployment.rollback_window = { ms: 86_400_000, text: "1 day" };
  changed.infrastructure.replicas["new-service"] = 1;
  delete changed.kubernetes!.context;
  assert.deepEqual(diffEnvironments(staging, changed), [
    { path: "infrastructure.replicas.new-service", a: undefined, b: 1 },
    { path: "database.port", a: 5432, b: 6543 },
    { path: "kubernetes.context", a: "staging-cluster", b: undefined },
  ]);
});
