// Two-person approval's cost for the production deploy: making the plan document (file
// hashes, git, the stage graph, the digest) and verifying two approvals of it — what a
// deploy with --plan adds before anything runs.
import { signApproval, verifyApprovals } from "../lib/approval/approvals.ts";
import { approvalPolicyOf } from "../lib/approval/policy.ts";
import { generateApproverKeys, readPrivateKey } from "../lib/approval/signatures.ts";
import { planDocumentOf } from "../lib/cli/plan.ts";
import { prepareRun } from "../lib/runner/mod.ts";

const prepared = await prepareRun({
  pipelineFile: "pipelines/deploy.ts",
  environment: "production",
  version: "v1.2.4",
  skipTypeCheck: true,
});
const lookup = { unreachable: "not asked in the bench" };
const plan = await planDocumentOf(prepared, { options: {}, lookup, createdBy: "bench" });
const keys = [await generateApproverKeys(), await generateApproverKeys()];
const policy = {
  ...approvalPolicyOf(prepared.env),
  approvers: keys.map((k, i) => ({
    name: `a${i}`,
    email: `a${i}@example.com`,
    publicKey: k.publicKey,
  })),
};
const approvals = await Promise.all(
  keys.map(async (k, i) =>
    await signApproval(await readPrivateKey(k.privateKeyPem, "k"), k.publicKey, {
      digest: plan.digest,
      environment: plan.environment,
      version: plan.version,
      approver: `a${i}@example.com`,
      signedAt: new Date().toISOString(),
    })
  ),
);
const context = {
  digest: plan.digest,
  environment: plan.environment,
  version: plan.version,
  deployer: "deployer@example.com",
  now: Date.now(),
};

Deno.bench("plan: the production plan document and its digest", async () => {
  await planDocumentOf(prepared, { options: {}, lookup, createdBy: "bench" });
});

Deno.bench("verify: two approvals of the production plan", async () => {
  const v = await verifyApprovals(policy, approvals, context);
  if (!v.ok) throw new Error("the approvals should verify");
});
