// Signed approvals judged against a policy, with real Ed25519 keys (WebCrypto): two approvers
// pass; every bad approval is rejected with its reason and the verdict names who is needed.
import assert from "node:assert/strict";
import {
  type Approval,
  type ApprovalPolicy,
  canonicalJson,
  digestOf,
  generateApproverKeys,
  readPrivateKey,
  readPublicKey,
  signApproval,
  verifyApprovals,
} from "../../lib/approval/mod.ts";

const H = 3_600_000;
const NOW = Date.parse("2026-12-01T12:00:00Z");

async function people() {
  const [ada, bob, eve] = await Promise.all([1, 2, 3].map(() => generateApproverKeys()));
  const policy: ApprovalPolicy = {
    required: 2,
    validForMs: 24 * H,
    approvers: [
      { name: "Ada", email: "ada@example.com", publicKey: ada!.publicKey },
      { name: "Bob", email: "bob@example.com", publicKey: bob!.publicKey },
      { name: "Cy", email: "cy@example.com", publicKey: eve!.publicKey },
    ],
  };
  return { ada: ada!, bob: bob!, eve: eve!, policy };
}

const PLAN = { digest: "", environment: "production", version: "v1.2.4" };

async function sign(
  keys: { privateKeyPem: string; publicKey: string },
  approver: string,
  o: Partial<Omit<Approval, "signature" | "fingerprint">> = {},
): Promise<Approval> {
  return await signApproval(await readPrivateKey(keys.privateKeyPem, "k"), keys.publicKey, {
    ...PLAN,
    approver,
    signedAt: new Date(NOW - H).toISOString(),
    ...o,
  });
}

Deno.test("canonical JSON and digests: key order does not matter, content does", async () => {
  assert.equal(
    canonicalJson({ b: [1, { d: 1, c: 2 }], a: "x" }),
    '{"a":"x","b":[1,{"c":2,"d":1}]}',
  );
  assert.equal(await digestOf({ a: 1, b: 2 }), await digestOf({ b: 2, a: 1 }));
  assert.notEqual(await digestOf({ a: 1 }), await digestOf({ a: 2 }));
  assert.throws(() => canonicalJson({ a: NaN }), TypeError);
});

Deno.test("two listed approvers approve; the verdict holds both and names nobody missing", async () => {
  const { ada, bob, policy } = await people();
  const digest = await digestOf({ plan: 1 });
  const c = { ...PLAN, digest, deployer: "dev@example.com", now: NOW };
  const approvals = [
    await sign(ada, "ada@example.com", { digest, comment: "CHG-1234" }),
    await sign(bob, "bob@example.com", { digest }),
  ];
  const v = await verifyApprovals(policy, approvals, c);
  assert.equal(v.ok, true, JSON.stringify(v.rejected));
  assert.deepEqual(v.valid.map((a) => a.name), ["Ada", "Bob"]);
  assert.equal(v.valid[0]!.comment, "CHG-1234");
  assert.equal(v.missing, 0);
  assert.deepEqual(v.stillNeeded.map((p) => p.email), ["cy@example.com"]);
});

Deno.test("each bad approval is rejected with its reason; one is not two", async () => {
  const { ada, bob, eve, policy } = await people();
  const digest = await digestOf({ plan: 1 });
  const c = { ...PLAN, digest, deployer: "bob@example.com", now: NOW };
  const good = await sign(ada, "ada@example.com", { digest });
  const cases: [string, Approval, RegExp][] = [
    [
      "a key not in the list",
      await sign(eve, "ada@example.com", { digest }),
      /signed by key .* not ada@example.com's listed key/,
    ],
    [
      "an unlisted approver",
      await sign(eve, "mallory@example.com", { digest }),
      /mallory@example.com is not a listed approver/,
    ],
    [
      "the deployer",
      await sign(bob, "bob@example.com", { digest }),
      /bob@example.com is the deployer/,
    ],
    [
      "the same approver twice",
      await sign(ada, "ada@example.com", { digest, comment: "again" }),
      /already approved/,
    ],
    [
      "an expired approval",
      await sign(ada, "ada@example.com", {
        digest,
        signedAt: new Date(NOW - 25 * H).toISOString(),
      }),
      /expired: signed .*valid for 24 h/,
    ],
    [
      "another plan",
      await sign(ada, "ada@example.com", { digest: await digestOf({ plan: 2 }) }),
      /approves another plan/,
    ],
    [
      "another environment",
      await sign(ada, "ada@example.com", { digest, environment: "staging" }),
      /approves staging v1.2.4, not production v1.2.4/,
    ],
    [
      "another version",
      await sign(ada, "ada@example.com", { digest, version: "v1.2.5" }),
      /approves production v1.2.5/,
    ],
    ["a corrupted signature", {
      ...good,
      signature: good.signature.replace(/^./, (ch) => (ch === "A" ? "B" : "A")),
    }, /signature does not verify/],
    ["an altered comment", { ...good, comment: "CHG-9999" }, /signature does not verify/],
    [
      "a time in the future",
      await sign(ada, "ada@example.com", { digest, signedAt: new Date(NOW + H).toISOString() }),
      /in the future/,
    ],
  ];
  for (const [what, bad, reason] of cases) {
    const approvals = what === "the same approver twice" ? [good, bad] : [bad];
    const v = await verifyApprovals(policy, approvals, c);
    assert.equal(v.ok, false, what);
    const r = v.rejected.find((x) => x.approval === bad);
    assert.ok(r, `${what}: not rejected`);
    assert.match(r.reason, reason, what);
  }
  // One valid approval of two required: not enough, naming who is still needed (not the deployer).
  const v = await verifyApprovals(policy, [good], c);
  assert.equal(v.ok, false);
  assert.equal(v.missing, 1);
  assert.deepEqual(v.stillNeeded.map((p) => p.email), ["cy@example.com"]);
});

Deno.test("a private key file that is not one, and a public key that is not one, are named", async () => {
  const { ada } = await people();
  await assert.rejects(
    readPrivateKey(ada.publicKeyPem, "ada.pub"),
    /ada.pub is not an approver's private key.*holds a PUBLIC KEY/,
  );
  await assert.rejects(
    readPrivateKey("hello", "notes.txt"),
    /notes.txt is not an approver's private key/,
  );
  const rsa =
    "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
  await assert.rejects(readPrivateKey(rsa, "rsa.key"), /does not hold an Ed25519 key/);
  await assert.rejects(
    readPublicKey("not a key!", "production.yml: approvers[0].public_key"),
    /production.yml: approvers\[0\].public_key is not an Ed25519 public key/,
  );
  const err = await readPrivateKey(
    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    "x",
  ).catch((e) => e as Error);
  assert.ok(!String(err).includes("AAAA"), "the key's bytes are not in the message");
});
