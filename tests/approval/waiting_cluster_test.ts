/**
 * Approving a waiting run through the cluster (lib/approval/waiting.ts), with real parts: a
 * sandbox seeded from environments/ (production's namespace), real Ed25519 keys, and approvers
 * in other processes that find the request by run id through the sandbox's kubeconfig. Two
 * approvers at once both count; the wait ends when they have; the deployer's own key, a key
 * not listed and a run no longer waiting are refused (exit 2); a wait without enough ends at
 * its limit naming who was still needed, and the request is closed to later approvals.
 * @module
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { sandboxTarget } from "../../lib/targets/mod.ts";
import {
  type ApprovalCluster,
  approvalClusters,
  ApprovalTimeoutError,
  approveWaitingRun,
  publishApprovalRequest,
  readApprovalRequest,
  waitForApprovals,
} from "../../lib/approval/waiting.ts";
import { generateApproverKeys } from "../../lib/approval/signatures.ts";
import type { ApprovalPolicy } from "../../lib/approval/approvals.ts";
import { InputError } from "../../lib/runner/errors.ts";

const NAMESPACE = "tracktion-prod";
const ROOT = resolve(new URL("../..", import.meta.url).pathname);

async function people(dir: string) {
  const names = ["ada", "bob", "cy", "eve"] as const;
  const keys = Object.fromEntries(
    await Promise.all(names.map(async (n) => {
      const k = await generateApproverKeys();
      await Deno.writeTextFile(`${dir}/${n}.key`, k.privateKeyPem);
      return [n, k] as const;
    })),
  );
  // eve is not listed; cy deploys.
  const policy: ApprovalPolicy = {
    required: 2,
    validForMs: 86_400_000,
    approvers: (["ada", "bob", "cy"] as const).map((n) => ({
      name: n.toUpperCase(),
      email: `${n}@example.com`,
      github: n,
      publicKey: keys[n]!.publicKey,
    })),
  };
  return { policy, keys };
}

/** `deno task approve <run-id> --key <file>` as another machine runs it: its own process. */
async function approveInProcess(dir: string, runId: string, key: string, sandboxDir: string) {
  const script = `${dir}/approve.ts`;
  await Deno.writeTextFile(
    script,
    `import { approvalClusters, approveWaitingRun } from "${ROOT}/lib/approval/waiting.ts";
const [runId, keyFile, sandboxDir, namespace] = Deno.args;
try {
  const clusters = await approvalClusters({ sandboxDir, targets: [{ namespace }] });
  const done = await approveWaitingRun(runId, { keyFile, clusters, comment: "CHG-1234" });
  console.log("approved as " + done.name + " in " + done.where);
} catch (err) {
  console.error(err.message);
  Deno.exit(err.name === "InputError" ? 2 : 1);
}
`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, script, runId, key, sandboxDir, NAMESPACE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function withSandbox(
  fn: (
    o: {
      dir: string;
      sandboxDir: string;
      cluster: ApprovalCluster;
      clock: import("../../lib/clock/mod.ts").Clock;
    },
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "waiting-" });
  const sandboxDir = `${dir}/sandbox`;
  const sandbox = await sandboxTarget({
    stateDir: sandboxDir,
    namespace: NAMESPACE,
    companions: false,
  });
  try {
    const [cluster] = await approvalClusters({
      sandboxDir,
      targets: [{ namespace: NAMESPACE }],
      clock: sandbox.clock,
    });
    await fn({ dir, sandboxDir, cluster: cluster!, clock: sandbox.clock });
  } finally {
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const CONTEXT = {
  digest: "sha256:" + "ab".repeat(32),
  environment: "production",
  version: "v1.2.4",
  deployer: "cy@example.com",
};

async function publish(cluster: ApprovalCluster, runId: string, policy: ApprovalPolicy) {
  await publishApprovalRequest(cluster, {
    runId,
    ...CONTEXT,
    required: policy.required,
    requestedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  }, policy);
}

Deno.test("a waiting run is approved by two approvers in two other processes at once", async () => {
  await withSandbox(async ({ dir, sandboxDir, cluster, clock }) => {
    const { policy } = await people(dir);
    const runId = "20260101T000000Z-aaaaaa";
    await publish(cluster, runId, policy);
    const progress: string[][] = [];
    const waiting = waitForApprovals({
      cluster,
      runId,
      policy,
      context: CONTEXT,
      // Generous: two processes start and type-check on a loaded machine.
      timeoutMs: clock.kind === "virtual" ? 120_000 : 120_000 * clock.scale,
      clock,
      onProgress: (v) => progress.push(v.valid.map((a) => a.name)),
    });
    const [ada, bob] = await Promise.all([
      approveInProcess(dir, runId, `${dir}/ada.key`, sandboxDir),
      approveInProcess(dir, runId, `${dir}/bob.key`, sandboxDir),
    ]);
    assert.equal(ada.code, 0, ada.stderr);
    assert.equal(bob.code, 0, bob.stderr);
    assert.match(ada.stdout, /approved as ADA in tracktion-prod \(the sandbox at http/);
    const verdict = await waiting;
    assert.ok(verdict.ok);
    assert.deepEqual(verdict.valid.map((a) => a.name).sort(), ["ADA", "BOB"]);
    assert.ok(verdict.valid.every((a) => a.comment === "CHG-1234" && a.digest === CONTEXT.digest));
    const request = await readApprovalRequest(cluster, runId);
    assert.equal(request?.state, "approved");
    assert.equal(request?.approvals.length, 2);
    // Settled: a third approval is refused, exit 2.
    const late = await approveInProcess(dir, runId, `${dir}/cy.key`, sandboxDir);
    assert.equal(late.code, 2, late.stderr);
    assert.match(late.stderr, /is not waiting for approvals any more: it is approved/);
  });
});

Deno.test("the deployer's own key, an unlisted key, a non-key and an unknown run are refused", async () => {
  await withSandbox(async ({ dir, sandboxDir, cluster }) => {
    const { policy } = await people(dir);
    const runId = "20260101T000000Z-bbbbbb";
    await publish(cluster, runId, policy);
    const own = await approveInProcess(dir, runId, `${dir}/cy.key`, sandboxDir);
    assert.equal(own.code, 2, own.stderr);
    assert.match(
      own.stderr,
      /CY <cy@example.com> is the deployer of run .*: nobody approves their own deploy/,
    );
    const clusters = [cluster];
    await assert.rejects(
      approveWaitingRun(runId, { keyFile: `${dir}/eve.key`, clusters }),
      (e: Error) =>
        e instanceof InputError && /is not a listed approver of production/.test(e.message),
    );
    await Deno.writeTextFile(`${dir}/not.key`, "hello");
    await assert.rejects(
      approveWaitingRun(runId, { keyFile: `${dir}/not.key`, clusters }),
      (e: Error) =>
        e instanceof InputError && /not\.key is not an approver's private key/.test(e.message),
    );
    await assert.rejects(
      approveWaitingRun("20260101T000000Z-nosuch", { keyFile: `${dir}/ada.key`, clusters }),
      (e: Error) =>
        e instanceof InputError &&
        /is not waiting for approvals: no request for it in tracktion-prod/.test(e.message),
    );
    const request = await readApprovalRequest(cluster, runId);
    assert.equal(request?.approvals.length, 0, "nothing was written by a refused approval");
    // No sandbox on the folder: said so.
    await assert.rejects(
      approvalClusters({ sandboxDir: `${dir}/elsewhere`, targets: [{ namespace: NAMESPACE }] }),
      (e: Error) => e instanceof InputError && /No sandbox is running on/.test(e.message),
    );
  });
});

Deno.test("a wait without enough approvals ends at its limit, naming who was still needed", async () => {
  await withSandbox(async ({ dir, cluster, clock }) => {
    const { policy } = await people(dir);
    const runId = "20260101T000000Z-cccccc";
    await publish(cluster, runId, policy);
    await approveWaitingRun(runId, { keyFile: `${dir}/ada.key`, clusters: [cluster] });
    const limitRealMs = 1_500;
    const started = performance.now();
    const error = await waitForApprovals({
      cluster,
      runId,
      policy,
      context: CONTEXT,
      timeoutMs: clock.kind === "virtual" ? limitRealMs : limitRealMs * clock.scale,
      clock,
    }).catch((e) => e);
    const took = performance.now() - started;
    assert.ok(error instanceof ApprovalTimeoutError, String(error));
    assert.match(
      error.message,
      /was not approved within the approval timeout: approved by ADA <ada@example.com>; 1 more needed from: BOB <bob@example.com>/,
    );
    assert.match(error.message, /Nothing was changed/);
    assert.doesNotMatch(error.message, /CY <cy@/, "the deployer is never 'still needed'");
    assert.ok(took >= limitRealMs, `it waited its limit (${took} ms)`);
    assert.equal((await readApprovalRequest(cluster, runId))?.state, "timed-out");
    await assert.rejects(
      approveWaitingRun(runId, { keyFile: `${dir}/bob.key`, clusters: [cluster] }),
      /is not waiting for approvals any more: it is timed-out/,
    );
  });
});

Deno.test("an approval of another plan in the request does not count", async () => {
  await withSandbox(async ({ dir, cluster, clock }) => {
    const { policy } = await people(dir);
    const runId = "20260101T000000Z-dddddd";
    await publish(cluster, runId, policy);
    await approveWaitingRun(runId, { keyFile: `${dir}/ada.key`, clusters: [cluster] });
    await approveWaitingRun(runId, { keyFile: `${dir}/bob.key`, clusters: [cluster] });
    // The waiting run verifies against what it will run, not what the request says.
    const error = await waitForApprovals({
      cluster,
      runId,
      policy,
      context: { ...CONTEXT, digest: "sha256:" + "cd".repeat(32) },
      timeoutMs: clock.kind === "virtual" ? 300 : 300 * clock.scale,
      clock,
    }).catch((e) => e);
    assert.ok(error instanceof ApprovalTimeoutError, String(error));
    assert.match(error.message, /approved by nobody; 2 more needed/);
    assert.match(error.message, /not counted: ada@example.com: it approves another plan/);
  });
});
