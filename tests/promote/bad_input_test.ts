/**
 * `deno task promote` refuses bad input before any step runs: exit 2, the message naming
 * what is wrong, and nothing written (no runs folder, no sandbox state). Checked up front for
 * every step: its flags (as the step's own command checks them), the train file and its legs
 * against the environment files, production's confirmation, and the approval flags.
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../lib/cli/main.ts";
import { PHRASE, workDir } from "./_promote.ts";

async function promote(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["promote", ...args], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    tty: false,
    colour: false,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("deno task promote refuses bad input with exit 2 and writes nothing", async () => {
  const dir = await workDir("promote-bad-");
  try {
    await Deno.writeTextFile(`${dir}/not-a-train.ts`, "export const other = 1;\n");
    const base = [
      "--sandbox",
      "--sandbox-dir",
      `${dir}/sb`,
      "--runs-dir",
      `${dir}/runs`,
      "--environments-dir",
      `${dir}/envs`,
      "--skip-type-check",
    ];
    // The environments' legs (the build's own refusal is the last case).
    const envs = [...base, "--from", "development"];
    const cases: [string[], RegExp][] = [
      [[], /deno task promote needs a version \(e\.g\. v1\.2\.4\)\nusage: deno task promote/],
      [["v1.2"], /version/i],
      [["v1.2.4", "v1.2.5", ...base], /unexpected argument "v1\.2\.5": promote takes one version/],
      [["v1.2.4", "--frm", "staging"], /Unknown option '--frm'/],
      [
        ["v1.2.4", ...base, "--from", "qa"],
        /--from takes one of build, development, staging, production \(the train's legs\), got "qa"/,
      ],
      [
        ["v1.2.4", ...base, "--from", "production", "--to", "development"],
        /--to development comes before --from production/,
      ],
      [
        ["v1.2.4", ...envs, "--confirm", PHRASE, "--scenario", "prod=crashloop"],
        /this train has no step prod \(its steps: development, smoke-tests, staging, integration-tests, production/,
      ],
      [
        ["v1.2.4", ...envs, "--confirm", PHRASE, "--scenario", "staging=nosuch"],
        /Unknown scenario "nosuch"/,
      ],
      [["v1.2.4", "--scenario", "crashloop"], /--scenario needs --sandbox/],
      [
        ["v1.2.4", ...envs],
        /Stage "confirm" needs the confirmation "DEPLOY TO PRODUCTION": .*pass --confirm/,
      ],
      [
        ["v1.2.4", ...envs, "--confirm", "yes"],
        /--confirm "yes" does not match what stage "confirm" requires/,
      ],
      [
        ["v1.2.4", ...envs, "--to", "staging", "--confirm", PHRASE],
        /--confirm is for a step that asks for approval, and no step of this train does/,
      ],
      [
        ["v1.2.4", ...envs, "--confirm", PHRASE, "--option", "rehearse-staging=yes"],
        /--option rehearse-staging is the train's own/,
      ],
      [
        ["v1.2.4", ...envs, "--confirm", PHRASE, "--concurrency", "abc"],
        /--concurrency takes a whole number from 1 to 256, got "abc"/,
      ],
      [
        ["v1.2.4", ...envs, "--confirm", PHRASE, "--plan", `${dir}/no-plan.json`],
        /--plan .*no-plan\.json: no such file/,
      ],
      [["v1.2.4", ...envs, "--train", `${dir}/missing.ts`], /Cannot find the train file/],
      [["v1.2.4", ...envs, "--train", `${dir}/not-a-train.ts`], /its promotion export is missing/],
      [
        ["v1.2.4", ...envs, "--out", `${dir}/no/such/summary.json`],
        /--out .*: its folder .* does not exist/,
      ],
      [
        ["v1.2.4", ...base, "--confirm", PHRASE],
        /^error: step build \(build the images \(pipelines\/build\.ts in development\)\): .*signing-key.* \(the train gives the build its --build-option key=value as --option key=value\)/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await promote(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.ok(!(await exists(`${dir}/runs`)), `${args.join(" ")}: no runs folder`);
      assert.ok(!(await exists(`${dir}/sb`)), `${args.join(" ")}: no sandbox state`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task promote refuses a train whose order contradicts an environment's promote_from", async () => {
  const dir = await workDir("promote-order-");
  try {
    const prod = await Deno.readTextFile(`${dir}/envs/production.yml`);
    const edited = prod.replace(
      /promote_from: \{ environment: staging, namespace: tracktion-staging \}/,
      "promote_from: { environment: development, namespace: tracktion-dev }",
    );
    assert.notEqual(edited, prod, "the fixture changed production's promote_from");
    await Deno.writeTextFile(`${dir}/envs/production.yml`, edited);
    const r = await promote([
      "v1.2.4",
      "--environments-dir",
      `${dir}/envs`,
      "--runs-dir",
      `${dir}/runs`,
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /The train puts production after staging, but its environment file promotes it from development \(deployment\.promote_from\): make them agree/,
    );
    // A broken environment file is named before anything runs.
    await Deno.writeTextFile(`${dir}/envs/staging.yml`, "environment: [\n");
    const broken = await promote(["v1.2.4", "--environments-dir", `${dir}/envs`]);
    assert.equal(broken.code, 2, broken.stdout + broken.stderr);
    assert.match(broken.stderr, /staging\.yml/);
    assert.ok(!(await exists(`${dir}/runs`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task promote --help prints its usage", async () => {
  const r = await promote(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^usage: deno task promote <version> \[flags\]/);
  assert.match(r.stdout, /--scenario \[<step>=\]<name>/);
});
