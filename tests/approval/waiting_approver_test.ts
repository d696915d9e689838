/**
 * The engine's approval function for a run that waits for approvals by others
 * (lib/cli/approve.ts `waitingApprover`), with a real sandbox and approvers in other
 * processes: the operator's own confirmation comes first and never counts; the terminal is
 * told the run id and the exact `deno task approve` line; the stage goes on when two others
 * approved; a refused confirmation publishes nothing; an interruption ends the wait and
 * closes the request.
 * @module
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { sandboxTarget } from "../../lib/targets/mod.ts";
import { approvalClusters, readApprovalRequest } from "../../lib/approval/waiting.ts";
import { generateApproverKeys } from "../../lib/approval/signatures.ts";
import type { ApprovalPolicy, ApprovalVerdict } from "../../lib/approval/approvals.ts";
import { waitingApprover, waitsForApprovals } from "../../lib/cli/approve.ts";
import type { ApprovalRecord } from "../../lib/report/types.ts";

const NAMESPACE = "tracktion-prod";
const ROOT = resolve(new URL("../..", import.meta.url).pathname);

async function approveElsewhere(dir: string, line: string, keyFile: string) {
  // Runs what the terminal said, in another process (the approve command's part: find the
  // cluster the flags name, then approveWaitingRun).
  const m = /deno task approve (\S+) --key <your-key> --sandbox --sandbox-dir (\S+)/.exec(line);
  assert.ok(m, `the terminal shows the approve line: ${line}`);
  const script = `${dir}/approve.ts`;
  await Deno.writeTextFile(
    script,
    `import { approvalClusters, approveWaitingRun } from "${ROOT}/lib/approval/waiting.ts";
const [runId, keyFile, sandboxDir, namespace] = Deno.args;
try {
  const clusters = await approvalClusters({ sandboxDir, targets: [{ namespace }] });
  await approveWaitingRun(runId, { keyFile, clusters });
} catch (err) {
  console.error(err.message);
  Deno.exit(err.name === "InputError" ? 2 : 1);
}
`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, script, m[1]!, keyFile, m[2]!, NAMESPACE],
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function setUp() {
  const dir = await Deno.makeTempDir({ prefix: "waiting-approver-" });
  const sandboxDir = `${dir}/sandbox`;
  const sandbox = await sandboxTarget({
    stateDir: sandboxDir,
    namespace: NAMESPACE,
    companions: false,
  });
  const approvers = await Promise.all(["ada", "bob", "cy"].map(async (n) => {
    const k = await generateApproverKeys();
    await Deno.writeTextFile(`${dir}/${n}.key`, k.privateKeyPem);
    return { name: n.toUpperCase(), email: `${n}@example.com`, publicKey: k.publicKey };
  }));
  const policy: ApprovalPolicy = { required: 2, validForMs: 86_400_000, approvers };
  const [cluster] = await approvalClusters({
    sandboxDir,
    targets: [{ namespace: NAMESPACE }],
    clock: sandbox.clock,
  });
  return {
    dir,
    sandboxDir,
    policy,
    cluster: cluster!,
    clock: sandbox.clock,
    async close() {
      await sandbox.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const confirmed = (approved: boolean) => (_stage: string, phrase: string) =>
  Promise.resolve<ApprovalRecord>({
    phrase,
    approved,
    by: "cy@example.com",
    at: "",
    method: "flag",
  });

Deno.test("the stage waits after the operator's confirmation and goes on when two others approved", async () => {
  const s = await setUp();
  try {
    let text = "";
    let told: (line: string) => void = () => {};
    const shown = new Promise<string>((r) => (told = r));
    const approved: ApprovalVerdict[] = [];
    const approve = waitingApprover(confirmed(true), {
      channel: "cluster",
      policy: s.policy,
      environment: "production",
      version: "v1.2.4",
      deployer: "cy@example.com",
      digest: () => Promise.resolve("sha256:" + "ab".repeat(32)),
      runId: () => "20260101T000000Z-eeeeee",
      timeoutMs: 120_000,
      clock: s.clock,
      cluster: () => Promise.resolve(s.cluster),
      reach: `--sandbox --sandbox-dir ${s.sandboxDir}`,
      write: (t) => {
        text += t;
        if (t.includes("deno task approve")) told(t);
      },
      onApproved: (e) => e.cluster && approved.push(e.cluster),
    });
    const stage = approve("confirm", "DEPLOY TO PRODUCTION");
    const line = await shown;
    assert.match(line, /run 20260101T000000Z-eeeeee waits for 2 approvals of production v1\.2\.4/);
    assert.match(line, /Approvers: ADA <ada@example.com>, BOB <bob@example.com>\n/);
    const [ada, bob] = await Promise.all([
      approveElsewhere(s.dir, line, `${s.dir}/ada.key`),
      approveElsewhere(s.dir, line, `${s.dir}/bob.key`),
    ]);
    assert.equal(ada.code, 0, ada.stderr);
    assert.equal(bob.code, 0, bob.stderr);
    const record = await stage;
    assert.equal(record.approved, true);
    assert.equal(record.method, "flag", "the operator's confirmation is recorded as theirs");
    assert.deepEqual(approved[0]?.valid.map((a) => a.name).sort(), ["ADA", "BOB"]);
    // The record carries the approvals that counted, for the report: signed, of this plan.
    assert.equal(record.evidence?.source, "cluster");
    assert.equal(record.evidence?.deployer, "cy@example.com");
    assert.equal(record.evidence?.planDigest, "sha256:" + "ab".repeat(32));
    assert.deepEqual(record.evidence?.approvals.map((a) => a.email).sort(), [
      "ada@example.com",
      "bob@example.com",
    ]);
    for (const a of record.evidence?.approvals ?? []) {
      assert.ok(a.kind !== "github" && a.signature.length > 0 && a.publicKey.length > 0);
    }
    assert.match(text, /approved: approved by (ADA|BOB) <.*>, (ADA|BOB) </);
  } finally {
    await s.close();
  }
});

Deno.test("a refused confirmation publishes no request; an interrupted wait closes it", async () => {
  const s = await setUp();
  try {
    const base = {
      channel: "cluster" as const,
      policy: s.policy,
      environment: "production",
      version: "v1.2.4",
      deployer: "cy@example.com",
      digest: () => Promise.resolve("sha256:" + "ab".repeat(32)),
      timeoutMs: 600_000,
      clock: s.clock,
      cluster: () => Promise.resolve(s.cluster),
      write: () => {},
    };
    const refused = await waitingApprover(confirmed(false), { ...base, runId: () => "r-refused" })(
      "confirm",
      "DEPLOY TO PRODUCTION",
    );
    assert.equal(refused.approved, false);
    assert.equal(await readApprovalRequest(s.cluster, "r-refused"), null);

    const stop = new AbortController();
    const waiting = waitingApprover(confirmed(true), {
      ...base,
      runId: () => "r-stopped",
      signal: stop.signal,
      write: (t) => t.includes("deno task approve") && stop.abort(new Error("interrupted")),
    })("confirm", "DEPLOY TO PRODUCTION");
    await assert.rejects(waiting, /interrupted/);
    assert.equal((await readApprovalRequest(s.cluster, "r-stopped"))?.state, "aborted");
  } finally {
    await s.close();
  }
});

Deno.test("only a run without --plan, not a dry run, of an environment requiring approvals waits", () => {
  const policy = { required: 2, approvers: [], validForMs: 1 };
  assert.equal(waitsForApprovals(policy, { dryRun: false }), true);
  assert.equal(waitsForApprovals(policy, { plan: "plan.json", dryRun: false }), false);
  assert.equal(waitsForApprovals(policy, { dryRun: true }), false);
  assert.equal(waitsForApprovals({ ...policy, required: 0 }, { dryRun: false }), false);
  assert.equal(waitsForApprovals(undefined, { dryRun: false }), false);
});
