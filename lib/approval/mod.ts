/**
 * Two-person approval of exactly what runs: canonical plans and their digests, approver
 * keys (Ed25519, WebCrypto), signed approvals and the verdict on them.
 *
 * @example
 * ```ts
 * import { generateApproverKeys, readPrivateKey, signApproval, verifyApprovals } from "./mod.ts";
 * const ada = await generateApproverKeys();
 * const approval = await signApproval(await readPrivateKey(ada.privateKeyPem, "ada.key"), ada.publicKey, {
 *   digest: "sha256:00", environment: "production", version: "v1.2.4",
 *   approver: "ada@example.com", signedAt: new Date().toISOString(),
 * });
 * const verdict = await verifyApprovals(
 *   { required: 1, validForMs: 86_400_000, approvers: [{ name: "Ada", email: "ada@example.com", publicKey: ada.publicKey }] },
 *   [approval],
 *   { digest: "sha256:00", environment: "production", version: "v1.2.4", deployer: "bob@example.com", now: Date.now() },
 * );
 * console.assert(verdict.ok);
 * ```
 * @module
 */
export * from "./signatures.ts";
export * from "./approvals.ts";
