// Signing in a pipeline command: which key, whether its runs will verify (refused before the
// run when not), and a finished run signed, or a failure to sign said (never thrown away).
import assert from "node:assert/strict";
import {
  checkSigningKey,
  chooseSigningKey,
  keyForRun,
  signFinishedRun,
} from "../../lib/audit/run_signing.ts";
import { type AuditedEnvironment, SigningKeyError } from "../../lib/audit/signing_key.ts";
import { checkRunSignature } from "../../lib/audit/signature.ts";
import { newKey, signedFixtureRun } from "./_signed_runs.ts";

function env(
  name: string,
  audit?: AuditedEnvironment["deployment"]["audit"],
): AuditedEnvironment {
  return { name, file: `environments/${name}.yml`, deployment: audit ? { audit } : {} };
}

Deno.test("checkSigningKey() accepts a key the environment file lists, refuses one it does not", async () => {
  const [key, other] = [await newKey(), await newKey()];
  assert.deepEqual(checkSigningKey(env("staging", { public_keys: [key.publicKey] }), key), [
    `signing: ${key.fingerprint} from test key`,
  ]);
  assert.throws(
    () => checkSigningKey(env("staging", { public_keys: [other.publicKey] }), key),
    (err: Error) => {
      assert.ok(err instanceof SigningKeyError);
      assert.match(err.message, /is not one environments\/staging.yml trusts/);
      assert.ok(err.message.includes(key.publicKey), "says which line to add");
      return true;
    },
  );
  // None listed: a warning where no signature is required, refused where one is.
  const warned = checkSigningKey(env("staging"), key);
  assert.match(warned[1]!, /^warning: .* lists no deployment.audit.public_keys/);
  assert.throws(() => checkSigningKey(env("production"), key), /public_keys lists none/);
});

Deno.test("chooseSigningKey() refuses production without a key, unless it is a dry run", async () => {
  await assert.rejects(
    () => chooseSigningKey(env("production"), { dryRun: false }),
    /production requires signed runs \(deployment.audit.require_signature, true for production\).*--signing-key <file>/,
  );
  assert.equal((await chooseSigningKey(env("production"), { dryRun: true })).key, null);
  assert.equal((await chooseSigningKey(env("staging"), { dryRun: false })).key, null);
  await assert.rejects(
    () =>
      chooseSigningKey(env("staging", { public_keys: [], require_signature: true }), {
        dryRun: false,
      }),
    /staging requires signed runs \(deployment.audit.require_signature\)/,
  );
  const sandbox = await Deno.makeTempDir();
  try {
    // A sandbox run: nothing is made before the sandbox is up; then its key, once.
    const chosen = await chooseSigningKey(env("production"), {
      dryRun: false,
      sandboxDir: `${sandbox}/sb`,
    });
    assert.deepEqual(chosen, { key: "sandbox", lines: [] });
    await assert.rejects(() => Deno.stat(`${sandbox}/sb`), Deno.errors.NotFound);
    const run = await keyForRun(env("production"), chosen, {
      kubernetes: undefined,
      namespace: "prod",
      sandboxDir: `${sandbox}/sb`,
    });
    assert.equal(run.key?.source, "sandbox");
    assert.match(run.lines[0]!, /the sandbox's own key \(trusted for sandbox runs only/);
    const again = await keyForRun(env("production"), chosen, {
      kubernetes: undefined,
      namespace: "prod",
      sandboxDir: `${sandbox}/sb`,
    });
    assert.equal(again.key?.fingerprint, run.key?.fingerprint);
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
});

Deno.test("signFinishedRun() signs, leaves unsigned without a key, and says a failure", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const run = await signedFixtureRun(runs);
    const signed = await signFinishedRun(run, key, { now: 0, required: false });
    assert.deepEqual(signed, {
      ok: true,
      line: `signed: ${run.runDir}/signature.json (${key.fingerprint})`,
    });
    const check = await checkRunSignature(run.runDir, run.report, { publicKeys: [key.publicKey] });
    assert.ok(check.ok);
    assert.deepEqual(await signFinishedRun(run, null, { required: false }), {
      ok: true,
      line: "unsigned: no signing key (deployment.audit.signing_key or --signing-key)",
    });
    assert.equal((await signFinishedRun(run, null, { required: true })).ok, false);
    // The report cannot be read: not signed, said (not thrown).
    await Deno.remove(`${run.runDir}/report.json`);
    const failed = await signFinishedRun(run, key, { required: false });
    assert.equal(failed.ok, false);
    assert.match(failed.line, new RegExp(`^error: signing run ${run.runId} failed: .*unsigned`));
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
