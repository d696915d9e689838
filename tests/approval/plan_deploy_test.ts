// Plans, keys and approvals through the real CLI: keygen, plan --out, approve, deploy --plan
// in the sandbox (each bad input exits 2 with nothing changed; two approvals deploy), and
// deno task report re-verifying the signatures (a tampered report exits 1).
import assert from "node:assert/strict";
import { signApproval } from "../../lib/approval/approvals.ts";
import { sealPlan } from "../../lib/approval/plan.ts";
import { sha256Bytes } from "../../lib/approval/signatures.ts";
import { approvalsPathOf } from "../../lib/approval/policy.ts";
import { generateApproverKeys, readPrivateKey } from "../../lib/approval/signatures.ts";

const DEPLOYER = "deployer@example.com";

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", ...args],
    env: { DEPLOY_ACTOR: DEPLOYER, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Environment files whose production approvers are ada and bob, with keys made here. */
async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "approval-e2e-" });
  await Deno.mkdir(`${dir}/envs`);
  for (const name of ["development", "staging"]) {
    await Deno.copyFile(`environments/${name}.yml`, `${dir}/envs/${name}.yml`);
  }
  const ada = await cli(["keygen", "--out", `${dir}/ada.key`]);
  const bob = await cli(["keygen", "--out", `${dir}/bob.key`]);
  const eve = await cli(["keygen", "--out", `${dir}/eve.key`]);
  const pub = (s: string) => /public key: +(\S+)/.exec(s)![1]!;
  let prod = await Deno.readTextFile("environments/production.yml");
  prod = prod.replace(
    / {4}approvers:\n( {6}.*\n)+/,
    [
      "    approvers:",
      "      - name: Ada",
      "        email: ada@example.com",
      `        public_key: ${pub(ada.stdout)}`,
      "      - name: Bob",
      "        email: bob@example.com",
      `        public_key: ${pub(bob.stdout)}`,
      "      - name: Dee Ployer",
      `        email: ${DEPLOYER}`,
      `        public_key: ${pub(eve.stdout)}`,
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${dir}/envs/production.yml`, prod);
  return dir;
}

const FLAGS = (dir: string) => [
  "--environments-dir",
  `${dir}/envs`,
  "--sandbox",
  "--sandbox-dir",
  `${dir}/sb`,
  "--runs-dir",
  `${dir}/runs`,
  "--confirm",
  "DEPLOY TO PRODUCTION",
];

async function exists(path: string) {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("keygen writes a 0600 key, never over a file; approve refuses a file that is no key", async () => {
  const dir = await setup();
  const info = await Deno.stat(`${dir}/ada.key`);
  assert.equal(info.mode! & 0o777, 0o600);
  const again = await cli(["keygen", "--out", `${dir}/ada.key`]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /never overwrites/);
  const plan = await cli([
    "plan",
    "production",
    "v1.2.4",
    "--environments-dir",
    `${dir}/envs`,
    "--skip-type-check",
    "--out",
    `${dir}/plan.json`,
  ]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /digest sha256:[0-9a-f]{64}/);
  await Deno.writeTextFile(`${dir}/not.key`, "hello\n");
  const bad = await cli(["approve", `${dir}/plan.json`, "--key", `${dir}/not.key`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /keygen/);
  const stranger = await generateApproverKeys();
  await Deno.writeTextFile(`${dir}/stranger.key`, stranger.privateKeyPem);
  const unlisted = await cli(["approve", `${dir}/plan.json`, "--key", `${dir}/stranger.key`]);
  assert.equal(unlisted.code, 2);
  assert.match(unlisted.stderr, /not a listed approver/);
  const ok = await cli([
    "approve",
    `${dir}/plan.json`,
    "--key",
    `${dir}/ada.key`,
    "--comment",
    "CHG-1",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const twice = await cli(["approve", `${dir}/plan.json`, "--key", `${dir}/ada.key`]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /already approved/);
  assert.equal(JSON.parse(await Deno.readTextFile(approvalsPathOf(`${dir}/plan.json`))).length, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deploy --plan: each bad input exits 2 with nothing changed; two approvals deploy and the report re-verifies them", async () => {
  const dir = await setup();
  const planPath = `${dir}/plan.json`;
  /** `deno task plan <env> <version> --out <file>` on the test's environments. */
  const planTo = (env: string, version: string, out: string, extra: string[] = []) =>
    cli(["plan", env, version, "--environments-dir", `${dir}/envs`, ...extra, "--out", out]);
  const made = await planTo("production", "v1.2.4", planPath);
  assert.equal(made.code, 0, made.stderr);
  const plan = JSON.parse(await Deno.readTextFile(planPath));
  const keyOf = async (who: string) =>
    await readPrivateKey(await Deno.readTextFile(`${dir}/${who}.key`), who);
  const envText = await Deno.readTextFile(`${dir}/envs/production.yml`);
  const pubOf = (email: string) =>
    new RegExp(`email: ${email}\\n +public_key: (\\S+)`).exec(envText)![1]!;
  const sign = async (who: string, email: string, o: Record<string, unknown> = {}) =>
    await signApproval(await keyOf(who), pubOf(email), {
      digest: plan.digest,
      environment: "production",
      version: "v1.2.4",
      approver: email,
      signedAt: new Date().toISOString(),
      ...o,
    });
  const ada = await sign("ada", "ada@example.com");
  const bob = await sign("bob", "bob@example.com");
  const stranger = await generateApproverKeys();
  const outsider = await signApproval(
    await readPrivateKey(stranger.privateKeyPem, "s"),
    stranger.publicKey,
    {
      digest: plan.digest,
      environment: "production",
      version: "v1.2.4",
      approver: "mallory@example.com",
      signedAt: new Date().toISOString(),
    },
  );
  const expired = await sign("bob", "bob@example.com", {
    signedAt: new Date(Date.now() - 25 * 3_600_000).toISOString(),
  });
  const byDeployer = await sign("eve", DEPLOYER);
  const corrupted = {
    ...bob,
    signature: bob.signature.replace(/^./, (c) => c === "A" ? "B" : "A"),
  };
  const cases: [string, unknown[], RegExp][] = [
    ["a key not in the list", [ada, outsider], /mallory@example.com is not a listed approver/],
    ["the deployer", [ada, byDeployer], /is the deployer/],
    ["the same approver twice", [ada, ada], /already approved: each approver counts once/],
    ["an expired approval", [ada, expired], /expired/],
    ["a corrupted signature", [ada, corrupted], /does not verify/],
  ];
  const deploy = (p: string) => cli(["deploy", "production", "v1.2.4", "--plan", p, ...FLAGS(dir)]);
  for (const [what, list, why] of cases) {
    await Deno.writeTextFile(approvalsPathOf(planPath), JSON.stringify(list));
    const r = await deploy(planPath);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, why, what);
    assert.match(r.stderr, /still needed: 1 of Bob <bob@example.com>|still needed/, what);
    assert.match(r.stderr, /deno task approve/, what);
    assert.ok(
      !await exists(`${dir}/runs`) && !await exists(`${dir}/sb`),
      `${what}: nothing changed`,
    );
  }
  // A plan for another version, and one whose pipeline file has changed by a byte since.
  const other = await planTo("production", "v1.2.3", `${dir}/other.json`, ["--skip-type-check"]);
  assert.equal(other.code, 0, other.stderr);
  const wrongVersion = await deploy(`${dir}/other.json`);
  assert.equal(wrongVersion.code, 2);
  assert.match(wrongVersion.stderr, /version: the plan says "v1.2.3", now "v1.2.4"/);
  // A plan for another environment.
  const staging = await planTo("staging", "v1.2.4", `${dir}/staging.json`, ["--skip-type-check"]);
  assert.equal(staging.code, 0, staging.stderr);
  const wrongEnvironment = await deploy(`${dir}/staging.json`);
  assert.equal(wrongEnvironment.code, 2, wrongEnvironment.stdout + wrongEnvironment.stderr);
  assert.match(wrongEnvironment.stderr, /environment: the plan says "staging", now "production"/);
  const bytes = await Deno.readFile("pipelines/deploy.ts");
  const { digest: _d, ...content } = plan;
  const oneByte = await sealPlan({
    ...content,
    pipeline: { ...plan.pipeline, sha256: await sha256Bytes(new Uint8Array([...bytes, 10])) },
  });
  await Deno.writeTextFile(`${dir}/byte.json`, JSON.stringify(oneByte));
  const changed = await deploy(`${dir}/byte.json`);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /pipeline file pipelines\/deploy.ts: the plan says/);
  // A plan edited after it was approved.
  await Deno.writeTextFile(`${dir}/edited.json`, JSON.stringify({ ...plan, version: "v9.9.9" }));
  const edited = await deploy(`${dir}/edited.json`);
  assert.equal(edited.code, 2);
  assert.match(edited.stderr, /was changed after it was made/);
  assert.ok(!await exists(`${dir}/runs`) && !await exists(`${dir}/sb`));

  // Two approvers sign with deno task approve: the deploy proceeds; the report holds both.
  await Deno.remove(approvalsPathOf(planPath));
  for (const who of ["ada", "bob"]) {
    const r = await cli([
      "approve",
      planPath,
      "--key",
      `${dir}/${who}.key`,
      "--comment",
      "CHG-1234",
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  let run = await deploy(planPath);
  if (run.code === 2 && /git commit/.test(run.stderr)) {
    // Someone committed between plan and deploy (a shared repository): plan and approve again.
    await Deno.remove(planPath);
    await Deno.remove(approvalsPathOf(planPath));
    assert.equal((await planTo("production", "v1.2.4", planPath)).code, 0);
    for (const who of ["ada", "bob"]) {
      await cli(["approve", planPath, "--key", `${dir}/${who}.key`]);
    }
    run = await deploy(planPath);
  }
  assert.equal(run.code, 0, run.stdout.slice(-3000) + run.stderr);
  const reportPath = /report: (\S+)/.exec(
    run.stdout.split("\n").filter((l) => l.startsWith("report: ")).at(-1)!,
  )![1]!;
  const report = JSON.parse(await Deno.readTextFile(reportPath));
  const ev = report.target.approvals;
  assert.equal(ev.source, "plan");
  assert.equal(ev.deployer, DEPLOYER);
  assert.equal(ev.planDigest, JSON.parse(await Deno.readTextFile(planPath)).digest);
  assert.deepEqual(ev.approvals.map((a: { email: string }) => a.email).sort(), [
    "ada@example.com",
    "bob@example.com",
  ]);
  assert.ok(ev.approvals.every((a: { rehearsal: boolean; comment?: string }) => !a.rehearsal));
  const runId = report.runId;
  const verified = await cli([
    "report",
    runId,
    "--runs-dir",
    `${dir}/runs`,
    "--sandbox-dir",
    `${dir}/sb`,
    "--environments-dir",
    `${dir}/envs`,
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal((verified.stdout.match(/✓ (Ada|Bob) </g) ?? []).length, 2);
  report.target.approvals.approvals[0].comment = "CHG-9999";
  await Deno.writeTextFile(reportPath, JSON.stringify(report));
  const tampered = await cli([
    "report",
    runId,
    "--runs-dir",
    `${dir}/runs`,
    "--sandbox-dir",
    `${dir}/sb`,
    "--environments-dir",
    `${dir}/envs`,
  ]);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stdout, /✗ .*signature does not verify/);
  await Deno.remove(dir, { recursive: true });
});
