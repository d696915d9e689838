// Signed runs: signRun() writes signature.json after a real run; checkRunSignature() holds for
// it and names what changed when the report, the journal (even re-chained) or the key is not
// the one signed; unsigned runs are ok only where no signature is required.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { signRun } from "../../lib/audit/run_statement.ts";
import { checkRunSignature, signatureRequired } from "../../lib/audit/signature.ts";
import { sandboxSigningKey } from "../../lib/audit/signing_key.ts";
import { verifyEnvelope } from "../../lib/audit/dsse.ts";
import type { Environment } from "../../lib/config/types.ts";
import type { Report } from "../../lib/report/schema.ts";
import { newKey, signedFixtureRun } from "./_signed_runs.ts";

function envTrusting(name: string, keys: string[], require?: boolean): Environment {
  return {
    name,
    deployment: {
      audit: {
        public_keys: keys,
        ...(require !== undefined ? { require_signature: require } : {}),
      },
    },
  } as unknown as Environment;
}

async function readReport(runDir: string): Promise<Report> {
  return JSON.parse(await Deno.readTextFile(`${runDir}/report.json`));
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Rewrites line `n` (1-based) of a journal and recomputes every hash after it. */
async function rechain(
  path: string,
  n: number,
  edit: (e: Record<string, unknown>) => void,
): Promise<string> {
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  let prev = "0".repeat(64);
  const out = lines.map((line, i) => {
    const e = JSON.parse(line);
    if (i + 1 === n) edit(e);
    e.prev = prev;
    const text = JSON.stringify(e);
    prev = sha256(text);
    return text;
  });
  await Deno.writeTextFile(path, out.join("\n") + "\n");
  return prev;
}

Deno.test("signRun() signs a finished run that checkRunSignature() then verifies", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const run = await signedFixtureRun(runs, { previous: null });
    const signed = await signRun(run.runDir, run.report, key);
    assert.equal(signed.path, `${run.runDir}/signature.json`);
    assert.equal(signed.keyid, key.fingerprint);
    const envelope = JSON.parse(await Deno.readTextFile(signed.path));
    assert.equal(envelope.payloadType, "application/vnd.tracktion.run.v1+json");
    const v = await verifyEnvelope(envelope, [key.publicKey]);
    assert.ok(v.ok);
    const statement = JSON.parse(new TextDecoder().decode(v.payload));
    assert.deepEqual(Object.keys(statement).sort(), [
      "environment",
      "events",
      "pipeline",
      "previous",
      "report",
      "runId",
      "signedAt",
      "status",
    ]);
    assert.equal(statement.runId, run.runId);
    assert.equal(statement.status, "succeeded");
    assert.deepEqual(statement.events, {
      count: run.report.events.count,
      digest: run.report.events.digest,
    });
    assert.equal(statement.previous, null);
    assert.equal(
      statement.report.sha256,
      createHash("sha256").update(await Deno.readFile(`${run.runDir}/report.json`)).digest("hex"),
    );
    const check = await checkRunSignature(run.runDir, run.report, {
      env: envTrusting("staging", [key.publicKey]),
    });
    assert.deepEqual(check, {
      state: "signed",
      ok: true,
      keyid: key.fingerprint,
      message: `signed by ${key.fingerprint} (a trusted key)`,
    });
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkRunSignature() catches an edited report: a field, then one byte", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const run = await signedFixtureRun(runs, { fail: true });
    assert.equal(run.report.status, "failed");
    await signRun(run.runDir, run.report, key);
    const env = envTrusting("staging", [key.publicKey]);
    const path = `${run.runDir}/report.json`;
    const original = await Deno.readTextFile(path);
    // status edited, as an auditor tried: named.
    await Deno.writeTextFile(path, original.replace('"status": "failed"', '"status": "succeeded"'));
    const edited = await checkRunSignature(run.runDir, await readReport(run.runDir), { env });
    assert.equal(edited.state, "invalid");
    assert.equal(edited.ok, false);
    assert.match(edited.message, /signature says status "failed", the report says "succeeded"/);
    // One byte more, in no field the statement names: still caught.
    await Deno.writeTextFile(path, original.trimEnd() + " \n");
    const byte = await checkRunSignature(run.runDir, await readReport(run.runDir), { env });
    assert.equal(byte.state, "invalid");
    assert.match(byte.message, /report.json's bytes are not the ones signed/);
    // Put back: it holds again.
    await Deno.writeTextFile(path, original);
    assert.ok((await checkRunSignature(run.runDir, run.report, { env })).ok);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkRunSignature() catches a journal re-chained without the key", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const run = await signedFixtureRun(runs, { fail: true });
    await signRun(run.runDir, run.report, key);
    const env = envTrusting("staging", [key.publicKey]);
    const journal = `${run.runDir}/events.jsonl`;
    // The last line (run.finished) says succeeded; every hash recomputed.
    const lines = (await Deno.readTextFile(journal)).trimEnd().split("\n").length;
    const digest = await rechain(journal, lines, (e) => (e.status = "succeeded"));
    const alone = await checkRunSignature(run.runDir, run.report, { env });
    assert.equal(alone.state, "invalid");
    assert.match(alone.message, /the journal .* is not the one signed .* re-chained/);
    // And the report made to agree with it (its digest and status): still caught, by field.
    const report = { ...run.report, status: "succeeded" as const };
    report.events = { ...report.events, digest };
    await Deno.writeTextFile(`${run.runDir}/report.json`, JSON.stringify(report, null, 2));
    const both = await checkRunSignature(run.runDir, report, { env });
    assert.equal(both.state, "invalid");
    assert.match(both.message, /signature says status "failed"/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkRunSignature() catches a run re-linked to another previous run", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const previous = { runId: "20260101T000000Z-aaaaaa", digest: "a".repeat(64), events: 9 };
    const run = await signedFixtureRun(runs, { previous });
    const signed = await signRun(run.runDir, run.report, key);
    assert.deepEqual(signed.statement.previous, previous);
    const env = envTrusting("staging", [key.publicKey]);
    const digest = await rechain(`${run.runDir}/events.jsonl`, 1, (e) => {
      e.previous = { ...previous, runId: "20260101T000000Z-bbbbbb" };
    });
    const check = await checkRunSignature(run.runDir, run.report, { env });
    assert.equal(check.state, "invalid");
    assert.notEqual(digest, run.report.events.digest);
    assert.match(check.message, /re-chained/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkRunSignature() trusts only the environment file's keys", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const [key, other] = [await newKey(), await newKey()];
    const run = await signedFixtureRun(runs);
    await signRun(run.runDir, run.report, key);
    const untrusted = await checkRunSignature(run.runDir, run.report, {
      env: envTrusting("staging", [other.publicKey]),
    });
    assert.equal(untrusted.state, "invalid");
    assert.equal(untrusted.keyid, key.fingerprint);
    assert.match(untrusted.message, /no key the environment file trusts/);
    const none = await checkRunSignature(run.runDir, run.report, {});
    assert.match(none.message, /deployment.audit.public_keys lists none/);
    // The key given as an extra trusted key.
    assert.ok(
      (await checkRunSignature(run.runDir, run.report, { publicKeys: [key.publicKey] })).ok,
    );
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkRunSignature() trusts the sandbox's key for sandbox runs only", async () => {
  const runs = await Deno.makeTempDir();
  const sandboxDir = await Deno.makeTempDir();
  try {
    const key = await sandboxSigningKey(sandboxDir);
    const rehearsal = await signedFixtureRun(runs, { target: { kind: "sandbox" } });
    await signRun(rehearsal.runDir, rehearsal.report, key);
    const ok = await checkRunSignature(rehearsal.runDir, rehearsal.report, { sandboxDir });
    assert.equal(ok.state, "signed");
    assert.equal(ok.sandboxKey, true);
    assert.match(ok.message, /the sandbox's own key: trusted for sandbox runs only/);
    const real = await signedFixtureRun(runs, { target: { kind: "kubernetes" } });
    await signRun(real.runDir, real.report, key);
    const refused = await checkRunSignature(real.runDir, real.report, { sandboxDir });
    assert.equal(refused.state, "invalid");
    assert.match(refused.message, /sandbox's own key .* trusted for sandbox runs only/);
  } finally {
    await Deno.remove(runs, { recursive: true });
    await Deno.remove(sandboxDir, { recursive: true });
  }
});

Deno.test("checkRunSignature(): an unsigned run is ok only where no signature is required", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const run = await signedFixtureRun(runs);
    const staging = await checkRunSignature(run.runDir, run.report, {});
    assert.deepEqual(staging, {
      state: "unsigned",
      ok: true,
      message: "unsigned (staging does not require a signature)",
    });
    const required = await checkRunSignature(run.runDir, run.report, {
      env: envTrusting("staging", [], true),
    });
    assert.equal(required.ok, false);
    assert.match(required.message, /requires a signed run/);
    const production = await checkRunSignature(run.runDir, {
      ...run.report,
      environment: "production",
    }, {});
    assert.equal(production.state, "unsigned");
    assert.equal(production.ok, false);
    // Configurable either way.
    assert.ok(signatureRequired("production"));
    assert.ok(!signatureRequired("production", envTrusting("production", [], false)));
    assert.ok(signatureRequired("development", envTrusting("development", [], true)));
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("checkRunSignature() says what is wrong with a malformed signature.json", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const run = await signedFixtureRun(runs);
    const signed = await signRun(run.runDir, run.report, key);
    const env = envTrusting("staging", [key.publicKey]);
    const good = await Deno.readTextFile(signed.path);
    const cases: [string, RegExp][] = [
      ["{", /signature.json is not JSON/],
      [JSON.stringify({ ...signed.envelope, payloadType: "text/plain" }), /not a run's signature/],
      [
        JSON.stringify({
          ...signed.envelope,
          signatures: [{ keyid: key.fingerprint, sig: btoa("x".repeat(64)) }],
        }),
        /does not verify \(altered\)/,
      ],
      [
        JSON.stringify({ ...signed.envelope, payload: btoa('{"runId":"other"}') }),
        /does not verify/,
      ],
      [JSON.stringify({ ...signed.envelope, signatures: [] }), /carries no signature/],
    ];
    for (const [text, message] of cases) {
      await Deno.writeTextFile(signed.path, text);
      const check = await checkRunSignature(run.runDir, run.report, { env });
      assert.equal(check.state, "invalid", text);
      assert.match(check.message, message);
    }
    await Deno.writeTextFile(signed.path, good);
    assert.ok((await checkRunSignature(run.runDir, run.report, { env })).ok);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
