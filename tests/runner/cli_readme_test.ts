// The README's command-line side agrees with the CLI: every command and every scenario is
// there, every flag of deploy's usage is named, and every `deno task` example runs as written
// (the cheap ones here; the set-up deploy is checked by parsing it and planning it).
import assert from "node:assert/strict";
import { COMMANDS } from "../../lib/cli/main.ts";
import { PIPELINE_USAGE, runArguments } from "../../lib/cli/run_args.ts";
import { SCENARIOS } from "../../lib/sandbox/mod.ts";
import { cli } from "./_run.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
const shBlocks = [...README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

/** `deno task <command> <args...>` lines of the README's sh examples, split like a shell. */
function taskLines(): string[][] {
  return shBlocks.flatMap((b) => b.split("\n")).map((l) => l.trim())
    .filter((l) => /^(npx -y deno@[\d.]+ )?deno task /.test(l))
    .map((l) =>
      [...l.replace(/^npx -y deno@[\d.]+ /, "").matchAll(/"([^"]*)"|(\S+)/g)].map((m) =>
        m[1] ?? m[2]!
      ).slice(2)
    );
}

Deno.test("README names every command of the CLI, every scenario, and deploy's flags", () => {
  for (const c of COMMANDS) {
    assert.match(README, new RegExp(`\`deno task ${c.name}\\b`), `README names ${c.name}`);
  }
  for (const name of Object.keys(SCENARIOS)) {
    assert.match(README, new RegExp(`\\| \`${name}\` +\\|`), `README's scenario table: ${name}`);
  }
  for (const [flag] of PIPELINE_USAGE.deploy.matchAll(/--[a-z-]+/g)) {
    assert.match(README, new RegExp(`${flag}\\b`), `README names ${flag}`);
  }
});

Deno.test("README's deno task examples run as written", async () => {
  const lines = taskLines();
  assert.ok(lines.length >= 3, `examples: ${JSON.stringify(lines)}`);
  for (const [command, ...args] of lines) {
    if (command === "test") {
      // The test suite itself: .ci/run calls the same command.
      const ci = await Deno.readTextFile(new URL("../../.ci/run", import.meta.url));
      assert.match(ci, /^npx -y deno@[\d.]+ task test$/m);
      continue;
    }
    if (command === "deploy") {
      // The rehearsal itself runs as written in tests/companions/runbook_parity_test.ts: here its
      // arguments parse, and the phrase it confirms is the one the pipeline asks for.
      const a = runArguments("deploy", args);
      const plan = await cli(["plan", a.environment, a.version!]);
      assert.equal(plan.code, 0, plan.stderr);
      assert.ok(plan.stdout.includes(`approval: type "${a.confirm}"`), plan.stdout);
      continue;
    }
    const r = await cli([command!, ...args]);
    const ok = command === "sandbox" && args[0] === "status" ? [0, 1] : [0];
    assert.ok(ok.includes(r.code), `deno task ${[command, ...args].join(" ")}: ${r.stderr}`);
  }
});

Deno.test("--scenario follows the sandbox's rule: `none` is no scenario, an unknown one exits 2", () => {
  const base = ["production", "v1.2.4", "--sandbox"];
  assert.equal(runArguments("deploy", [...base, "--scenario", "none"]).scenario, undefined);
  assert.equal(runArguments("deploy", [...base, "--scenario", "slow"]).scenario, "slow");
  assert.throws(() => runArguments("deploy", [...base, "--scenario", "toString"]), {
    name: "InputError",
    message: /Unknown scenario "toString" \(known: canary-errors/,
  });
});
