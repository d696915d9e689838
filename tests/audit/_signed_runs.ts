// Helpers of the signed-run tests: real runs of a one-stage pipeline (executeRun, in-process)
// in a runs folder of the test's own, and a key pair.
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun, type RunLink, type RunOutcome } from "../../lib/runner/run.ts";
import { generateApproverKeys } from "../../lib/approval/signatures.ts";
import { type RunSigningKey, signingKeyFromPem } from "../../lib/audit/signing_key.ts";

export const FIXTURE = new URL("./fixtures/signed.ts", import.meta.url).pathname;

/** Runs the fixture in `environment` (development, staging or production of environments/). */
export async function signedFixtureRun(
  runsDir: string,
  o: {
    environment?: string;
    fail?: boolean;
    dryRun?: boolean;
    previous?: RunLink | null;
    target?: Record<string, unknown>;
  } = {},
): Promise<RunOutcome> {
  const prepared = await prepareRun({
    pipelineFile: FIXTURE,
    environment: o.environment ?? "staging",
    options: o.fail ? { fail: "yes" } : {},
    skipTypeCheck: true,
    readEnv: () => undefined,
  });
  return await executeRun(prepared, {
    runsDir,
    dryRun: o.dryRun ?? false,
    approve: () => Promise.reject(new Error("no approvals in this test")),
    ...(o.previous !== undefined ? { previous: o.previous } : {}),
    ...(o.target ? { target: o.target } : {}),
  });
}

/** A fresh signing key (source `file`) and its PEM. */
export async function newKey(): Promise<RunSigningKey & { pem: string }> {
  const k = await generateApproverKeys();
  const key = await signingKeyFromPem(k.privateKeyPem, { source: "file", where: "test key" });
  return { ...key, pem: k.privateKeyPem };
}
