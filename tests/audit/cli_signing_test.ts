// The CLI signs runs: `run` with --signing-key or the environment file's signing_key writes
// signature.json (verified here with checkRunSignature), each run links to the one before;
// a key that cannot be used, or none where production requires one, is refused up front
// (exit 2, nothing written).
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { runPipeline } from "../../lib/cli/pipeline.ts";
import { runArguments } from "../../lib/cli/run_args.ts";
import { InputError } from "../../lib/runner/mod.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { checkRunSignature } from "../../lib/audit/signature.ts";
import { readChainedRun } from "../../lib/audit/run_link.ts";
import { generateApproverKeys } from "../../lib/approval/signatures.ts";
import { FIXTURE, newKey } from "./_signed_runs.ts";

const ENVIRONMENTS = new URL("../../environments/", import.meta.url).pathname;

/** A folder of environment files: the project's, staging's with `audit` as deployment.audit. */
async function environments(dir: string, audit?: unknown): Promise<string> {
  const out = `${dir}/environments`;
  await Deno.mkdir(out);
  for (const name of ["development", "staging", "production"]) {
    const doc = parse(await Deno.readTextFile(`${ENVIRONMENTS}/${name}.yml`));
    if (name === "staging" && audit !== undefined) doc.deployment.audit = audit;
    await Deno.writeTextFile(`${out}/${name}.yml`, stringify(doc));
  }
  return out;
}

/** `deno task run <args>` in this process: its exit code and output (input errors thrown). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const io = {
    stdout: (t: string) => void (out.stdout += t),
    stderr: (t: string) => void (out.stderr += t),
    tty: false,
    colour: false,
  };
  try {
    const [command, ...rest] = args;
    const code = await runPipeline(runArguments(command as "run", rest), io, { invocation: args });
    return { code, ...out };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { code: 2, stdout: out.stdout, stderr: out.stderr + err.message };
  }
}

function runOf(stdout: string): { runDir: string; signedLine: string | undefined } {
  const lines = stdout.trimEnd().split("\n");
  const report = lines.at(-1)!;
  assert.match(report, /^report: /);
  return {
    runDir: report.slice("report: ".length).replace(/\/report\.json$/, ""),
    signedLine: lines.at(-2),
  };
}

Deno.test("run --signing-key: signed, verified against the file's public_keys, chained", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = await newKey();
    await Deno.writeTextFile(`${dir}/run.pem`, key.pem, { mode: 0o600 });
    const envs = await environments(dir, { public_keys: [key.publicKey] });
    const args = [
      "run",
      FIXTURE,
      "staging",
      "--environments-dir",
      envs,
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
      "--signing-key",
      `${dir}/run.pem`,
    ];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(
      first.stdout,
      new RegExp(`^signing: ${key.fingerprint.replace(/\+/g, "\\+")} from --signing-key`, "m"),
    );
    const a = runOf(first.stdout);
    assert.equal(a.signedLine, `signed: ${a.runDir}/signature.json (${key.fingerprint})`);
    const second = await cli([...args, "--option", "fail=yes"]);
    assert.equal(second.code, 1, second.stdout + second.stderr);
    const b = runOf(second.stdout);
    const env = await loadEnvironment("staging", { dir: envs });
    for (const { runDir } of [a, b]) {
      const report = JSON.parse(await Deno.readTextFile(`${runDir}/report.json`));
      const check = await checkRunSignature(runDir, report, { env });
      assert.equal(check.state, "signed", check.message);
      assert.equal(check.keyid, key.fingerprint);
    }
    // The second run links to the first at its final digest; the first to none.
    const firstReport = JSON.parse(await Deno.readTextFile(`${a.runDir}/report.json`));
    assert.equal((await readChainedRun(a.runDir))?.previous, null);
    assert.deepEqual((await readChainedRun(b.runDir))?.previous, {
      runId: firstReport.runId,
      digest: firstReport.events.digest,
      events: firstReport.events.count,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run signs with the environment file's signing_key (from_file)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = await newKey();
    await Deno.mkdir(`${dir}/keys`);
    await Deno.writeTextFile(`${dir}/keys/run.pem`, key.pem, { mode: 0o600 });
    const envs = await environments(dir, {
      signing_key: { from_file: `${dir}/keys/run.pem` },
      public_keys: [key.publicKey],
      require_signature: true,
    });
    const r = await cli([
      "run",
      FIXTURE,
      "staging",
      "--environments-dir",
      envs,
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /from .*deployment.audit.signing_key \(file .*keys\/run.pem\)/,
    );
    assert.ok(!r.stdout.includes("PRIVATE KEY") && !r.stderr.includes("PRIVATE KEY"));
    const { runDir } = runOf(r.stdout);
    const report = JSON.parse(await Deno.readTextFile(`${runDir}/report.json`));
    assert.ok(
      (await checkRunSignature(runDir, report, {
        env: await loadEnvironment("staging", { dir: envs }),
      })).ok,
    );
    // The key is nowhere in the run's files.
    for (const file of ["report.json", "events.jsonl", "signature.json"]) {
      assert.ok(!(await Deno.readTextFile(`${runDir}/${file}`)).includes(key.pem.split("\n")[1]!));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a signing key that cannot be used is refused before the run (exit 2, nothing written)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [key, other] = [await newKey(), await newKey()];
    await Deno.writeTextFile(`${dir}/run.pem`, key.pem);
    await Deno.writeTextFile(`${dir}/public.pem`, (await generateApproverKeys()).publicKeyPem);
    const trusting = await environments(dir, { public_keys: [other.publicKey] });
    const base = ["--runs-dir", `${dir}/runs`, "--skip-type-check", "--environments-dir", trusting];
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [
        ["staging", "--signing-key", `${dir}/missing.pem`],
        /--signing-key .*missing.pem: no such file/,
      ],
      [
        ["staging", "--signing-key", `${dir}/public.pem`],
        /is not an Ed25519 private key .*it holds a PUBLIC KEY/,
      ],
      [
        ["staging", "--signing-key", `${dir}/run.pem`],
        /is not one .*staging.yml trusts .*deployment.audit.public_keys/,
      ],
      [["production"], /production requires signed runs .*--signing-key <file>/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["run", FIXTURE, ...args, ...base]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes(key.pem.split("\n")[1]!));
      const runs = await Array.fromAsync(Deno.readDir(`${dir}/runs`)).catch(() => []);
      assert.deepEqual(runs, [], `${args.join(" ")} wrote a run`);
    }
    // A production dry run changes nothing: it runs, unsigned.
    const dry = await cli(["run", FIXTURE, "production", "--dry-run", ...base]);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /^unsigned: no signing key/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
