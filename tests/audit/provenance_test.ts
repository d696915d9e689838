// `report export <run> --in-toto`: an in-toto Statement v1 with a SLSA provenance v1 predicate,
// in a DSSE envelope signed with the run's key (verified here with verifyEnvelope); refused
// without a key, with another key than the run's, for a record that does not verify, for a
// run that names no image.
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { exportCommand } from "../../lib/cli/report_export.ts";
import { runPipeline } from "../../lib/cli/pipeline.ts";
import { runArguments } from "../../lib/cli/run_args.ts";
import { verifyEnvelope } from "../../lib/audit/dsse.ts";
import { BUILDER_ID, deployedImages } from "../../lib/audit/provenance.ts";
import { InputError } from "../../lib/runner/mod.ts";
import { IMAGES } from "./fixtures/signed.ts";
import { FIXTURE, newKey } from "./_signed_runs.ts";

const ENVIRONMENTS = new URL("../../environments/", import.meta.url).pathname;

/** A folder with a staging environment file trusting `publicKey`, and a run signed by it. */
async function signedRun(dir: string, options: string[] = []) {
  const key = await newKey();
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/run.pem`, key.pem);
  await Deno.mkdir(`${dir}/environments`, { recursive: true });
  const doc = parse(await Deno.readTextFile(`${ENVIRONMENTS}/staging.yml`));
  doc.deployment.audit = { public_keys: [key.publicKey] };
  await Deno.writeTextFile(`${dir}/environments/staging.yml`, stringify(doc));
  const out: string[] = [];
  const io = {
    stdout: (t: string) => out.push(t),
    stderr: (t: string) => out.push(t),
    tty: false,
    colour: false,
  };
  const args = [
    FIXTURE,
    "staging",
    "--environments-dir",
    `${dir}/environments`,
    "--runs-dir",
    `${dir}/runs`,
    "--skip-type-check",
    "--signing-key",
    `${dir}/run.pem`,
    ...options,
  ];
  assert.equal(
    await runPipeline(runArguments("run", args), io, { invocation: ["run", ...args] }),
    0,
    out.join(""),
  );
  const reportPath = out.join("").trimEnd().split("\n").at(-1)!.slice("report: ".length);
  const runDir = reportPath.replace(/\/report\.json$/, "");
  return { key, runDir, runId: runDir.split("/").at(-1)! };
}

function io() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
    },
  };
}

Deno.test("report export --in-toto: a signed in-toto statement of the images the run deployed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { key, runDir, runId } = await signedRun(dir);
    const common = ["--runs-dir", `${dir}/runs`, "--environments-dir", `${dir}/environments`];
    const w = io();
    const code = await exportCommand(
      [
        runId,
        "--in-toto",
        "--signing-key",
        `${dir}/run.pem`,
        "--out",
        `${dir}/prov.json`,
        ...common,
      ],
      w.io,
    );
    assert.equal(code, 0, w.out.stderr);
    assert.match(
      w.out.stdout,
      new RegExp(
        `wrote .*prov.json: in-toto Statement v1, SLSA provenance v1 of run ${runId} \\(2 image\\(s\\)\\)`,
      ),
    );
    const envelope = JSON.parse(await Deno.readTextFile(`${dir}/prov.json`));
    assert.equal(envelope.payloadType, "application/vnd.in-toto+json");
    const v = await verifyEnvelope(envelope, [key.publicKey]);
    assert.ok(v.ok, v.ok ? "" : v.reason);
    const s = JSON.parse(new TextDecoder().decode(v.payload));
    const report = JSON.parse(await Deno.readTextFile(`${runDir}/report.json`));
    assert.equal(s._type, "https://in-toto.io/Statement/v1");
    assert.equal(s.predicateType, "https://slsa.dev/provenance/v1");
    assert.deepEqual(
      s.subject,
      Object.entries(IMAGES).map(([name, sha256]) => ({ name, digest: { sha256 } })),
    );
    const def = s.predicate.buildDefinition;
    assert.deepEqual(def.externalParameters, {
      pipeline: { name: "signed", file: report.pipeline.file },
      environment: "staging",
    });
    assert.equal(def.internalParameters.runId, runId);
    const deps = def.resolvedDependencies as {
      name: string;
      digest: Record<string, string>;
      uri?: string;
    }[];
    if (report.git.commit) {
      assert.deepEqual(deps[0]!.digest, { gitCommit: report.git.commit });
      assert.equal(deps[0]!.uri, `git+https://github.com/tracktion/tracktion@${report.git.commit}`);
    }
    for (const [name, sha256] of Object.entries(IMAGES)) {
      assert.deepEqual(deps.find((d) => d.name === name)?.digest, { sha256 });
    }
    assert.equal(s.predicate.runDetails.builder.id, BUILDER_ID);
    assert.equal(s.predicate.runDetails.metadata.invocationId, runId);
    assert.deepEqual(
      s.predicate.runDetails.byproducts.map((b: { name: string }) => b.name),
      ["report.json", "events.jsonl", "signature.json"],
    );
    // Another key's signature does not verify it.
    assert.ok(!(await verifyEnvelope(envelope, [(await newKey()).publicKey])).ok);
    // To standard output without --out: the same statement.
    const s2 = io();
    assert.equal(
      await exportCommand(
        [runDir, "--in-toto", "--signing-key", `${dir}/run.pem`, ...common],
        s2.io,
      ),
      0,
    );
    assert.equal(JSON.parse(s2.out.stdout).payload, envelope.payload);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report export refuses without a key, with another key, and bad usage (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { runId } = await signedRun(dir);
    const other = await newKey();
    await Deno.writeTextFile(`${dir}/other.pem`, other.pem);
    const common = ["--runs-dir", `${dir}/runs`, "--environments-dir", `${dir}/environments`];
    const cases: [string[], RegExp][] = [
      [[runId, "--in-toto", ...common], /No key to sign the provenance with: pass --signing-key/],
      [
        [runId, "--in-toto", "--signing-key", `${dir}/other.pem`, ...common],
        /is not the one that signed run/,
      ],
      [[runId, "--in-toto", "--signing-key", `${dir}/none.pem`, ...common], /no such file/],
      [[runId, ...common], /writes --in-toto provenance \(the only format\)/],
      [["20990101T000000Z-ffffff", "--in-toto", ...common], /No run "20990101T000000Z-ffffff"/],
      [[runId, "--in-toto", "--out", "", ...common], /--out takes a file/],
      [[runId, "--in-toto", "--frob", ...common], /Unknown option '--frob'/],
      [[], /usage: deno task report export/],
    ];
    for (const [args, message] of cases) {
      const w = io();
      await assert.rejects(() => exportCommand(args, w.io), (err: Error) => {
        assert.ok(err instanceof InputError, String(err));
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "environments",
      "other.pem",
      "run.pem",
      "runs",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report export does not attest a record that does not verify, nor a run with no image", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { runDir, runId } = await signedRun(dir);
    const common = ["--runs-dir", `${dir}/runs`, "--environments-dir", `${dir}/environments`];
    const withKey = [runId, "--in-toto", "--signing-key", `${dir}/run.pem`, ...common];
    const path = `${runDir}/report.json`;
    const original = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, original.replace('"status": "succeeded"', '"status": "failed"'));
    const w = io();
    assert.equal(await exportCommand([...withKey, "--out", `${dir}/prov.json`], w.io), 1);
    assert.match(
      w.out.stderr,
      /signature says status "succeeded", the report says "failed".*not exported/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/prov.json`), Deno.errors.NotFound);
    await Deno.writeTextFile(path, original);
    // A run whose checks name no image: nothing to attest.
    const bare = await signedRun(`${dir}/bare`, ["--option", "images=no"]);
    assert.deepEqual(
      deployedImages(JSON.parse(await Deno.readTextFile(`${bare.runDir}/report.json`))),
      [],
    );
    await assert.rejects(
      () =>
        exportCommand([
          bare.runId,
          "--in-toto",
          "--signing-key",
          `${dir}/bare/run.pem`,
          "--runs-dir",
          `${dir}/bare/runs`,
          "--environments-dir",
          `${dir}/bare/environments`,
        ], io().io),
      /names no image with its digest .*nothing to attest/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
