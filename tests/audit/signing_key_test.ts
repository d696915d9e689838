// The run signing key: deployment.audit in the environment file (validated, never echoed),
// the key resolved from a file, an environment variable or the sandbox (made once, 0600,
// reused), and every way it can be wrong said with where, never the key's bytes.
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { loadEnvironment } from "../../lib/config/mod.ts";
import {
  type AuditedEnvironment,
  resolveSigningKey,
  sandboxKeyPaths,
  sandboxPublicKey,
  sandboxSigningKey,
  SigningKeyError,
} from "../../lib/audit/signing_key.ts";
import { newKey } from "./_signed_runs.ts";

const ENVIRONMENTS = new URL("../../environments/", import.meta.url).pathname;

/** Writes environments/staging.yml with `audit` as its deployment.audit into a new folder. */
async function stagingWith(audit: unknown): Promise<string> {
  const dir = await Deno.makeTempDir();
  const doc = parse(await Deno.readTextFile(`${ENVIRONMENTS}/staging.yml`));
  doc.deployment.audit = audit;
  await Deno.writeTextFile(`${dir}/staging.yml`, stringify(doc));
  return dir;
}

function withAudit(audit: AuditedEnvironment["deployment"]["audit"]): AuditedEnvironment {
  return { name: "staging", file: "environments/staging.yml", deployment: { audit } };
}

Deno.test("loadEnvironment() reads deployment.audit: key reference, public keys, requirement", async () => {
  const key = await newKey();
  const dir = await stagingWith({
    signing_key: { from_env: "TRACKTION_SIGNING_KEY" },
    public_keys: [key.publicKey],
    require_signature: true,
  });
  try {
    const env = await loadEnvironment("staging", { dir });
    assert.deepEqual(env.deployment.audit, {
      signing_key: { from_env: "TRACKTION_SIGNING_KEY" },
      public_keys: [key.publicKey],
      require_signature: true,
    });
    // The defaults: no keys, the requirement left to the environment's name.
    const bare = await stagingWith({});
    try {
      assert.deepEqual((await loadEnvironment("staging", { dir: bare })).deployment.audit, {
        public_keys: [],
      });
    } finally {
      await Deno.remove(bare, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadEnvironment() refuses a key written into the file, and says where, not what", async () => {
  const key = await newKey();
  const cases: [unknown, RegExp][] = [
    [
      { signing_key: key.pem },
      /deployment.audit.signing_key: expected where the signing key lives.*got a plain string \(value not shown\)/,
    ],
    [{ signing_key: { from_file: "" } }, /deployment.audit.signing_key.from_file: expected a path/],
    [
      { signing_key: { from_vault: "x" } },
      /deployment.audit.signing_key: expected a secret reference/,
    ],
    [
      { public_keys: ["not-a-key"] },
      /deployment.audit.public_keys.0: expected an Ed25519 public key/,
    ],
    [{ require_signature: "yes" }, /deployment.audit.require_signature: expected true or false/],
    [{ signing_keys: {} }, /deployment.audit/],
  ];
  for (const [audit, message] of cases) {
    const dir = await stagingWith(audit);
    try {
      await assert.rejects(() => loadEnvironment("staging", { dir }), (err: Error) => {
        assert.match(err.message, message);
        assert.ok(!err.message.includes("PRIVATE KEY"), err.message);
        assert.ok(!err.message.includes(key.pem.split("\n")[1]!), err.message);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("resolveSigningKey(): --signing-key wins, then the sandbox's, then the file's reference", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [flag, fromEnv] = [await newKey(), await newKey()];
    await Deno.writeTextFile(`${dir}/flag.pem`, flag.pem);
    const env = withAudit({ signing_key: { from_env: "RUN_KEY" }, public_keys: [] });
    const readEnv = (n: string) => (n === "RUN_KEY" ? fromEnv.pem : undefined);
    const a = await resolveSigningKey(env, { file: `${dir}/flag.pem`, sandboxDir: dir, readEnv });
    assert.ok(a && a !== "deferred");
    assert.equal(a.fingerprint, flag.fingerprint);
    assert.equal(a.source, "file");
    const b = await resolveSigningKey(env, { sandboxDir: `${dir}/sandbox`, readEnv });
    assert.ok(b && b !== "deferred");
    assert.equal(b.source, "sandbox");
    const c = await resolveSigningKey(env, { readEnv });
    assert.ok(c && c !== "deferred");
    assert.equal(c.fingerprint, fromEnv.fingerprint);
    assert.equal(c.where, "environments/staging.yml: deployment.audit.signing_key (env RUN_KEY)");
    // A file the environment file names; none at all; a Kubernetes Secret without a client.
    const fromFile = withAudit({ signing_key: { from_file: `${dir}/flag.pem` }, public_keys: [] });
    const d = await resolveSigningKey(fromFile, {});
    assert.ok(d && d !== "deferred");
    assert.equal(d.fingerprint, flag.fingerprint);
    assert.equal(await resolveSigningKey(withAudit(undefined), {}), null);
    const secret = withAudit({
      signing_key: { secret_key_ref: { name: "signing", key: "key.pem" } },
      public_keys: [],
    });
    assert.equal(await resolveSigningKey(secret, {}), "deferred");
    const e = await resolveSigningKey(secret, {
      readSecret: (name, key) =>
        Promise.resolve(name === "signing" && key === "key.pem" ? flag.pem : null),
    });
    assert.ok(e && e !== "deferred");
    assert.equal(e.fingerprint, flag.fingerprint);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveSigningKey() names what is wrong, never the key's content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = await newKey();
    const keys = await import("../../lib/approval/signatures.ts").then((m) =>
      m.generateApproverKeys()
    );
    await Deno.writeTextFile(`${dir}/public.pem`, keys.publicKeyPem);
    const none = withAudit({ signing_key: { from_env: "RUN_KEY" }, public_keys: [] });
    const cases: [() => Promise<unknown>, RegExp][] = [
      [
        () => resolveSigningKey(none, { file: `${dir}/missing.pem` }),
        /--signing-key .*missing.pem: no such file/,
      ],
      [() => resolveSigningKey(none, { file: dir }), /a folder, not a file/],
      [
        () => resolveSigningKey(none, { file: `${dir}/public.pem` }),
        /public.pem is not an Ed25519 private key .*: it holds a PUBLIC KEY/,
      ],
      [
        () => resolveSigningKey(none, { readEnv: () => undefined }),
        /env RUN_KEY is not set .*--signing-key/,
      ],
      [
        () => resolveSigningKey(none, { readEnv: () => "garbage-not-a-key" }),
        /\(env RUN_KEY\) is not an Ed25519 private key/,
      ],
      [
        () =>
          resolveSigningKey(
            withAudit({
              signing_key: { secret_key_ref: { name: "s", key: "k" } },
              public_keys: [],
            }),
            { readSecret: () => Promise.reject(new Error("forbidden")) },
          ),
        /secret s\/k\) could not be read: forbidden/,
      ],
    ];
    for (const [call, message] of cases) {
      await assert.rejects(call, (err: Error) => {
        assert.ok(err instanceof SigningKeyError, String(err));
        assert.match(err.message, message);
        assert.ok(!err.message.includes(key.pem.split("\n")[1]!));
        assert.ok(!err.message.includes("garbage-not-a-key"));
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sandboxSigningKey() makes the key once (mode 0600), reuses it, makes it private again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await sandboxPublicKey(dir), null);
    const first = await sandboxSigningKey(`${dir}/sandbox`);
    const paths = sandboxKeyPaths(`${dir}/sandbox`);
    assert.equal((await Deno.stat(paths.pem)).mode! & 0o777, 0o600);
    assert.equal(await sandboxPublicKey(`${dir}/sandbox`), first.publicKey);
    // Two runs at once: one key.
    const [a, b] = await Promise.all([
      sandboxSigningKey(`${dir}/sandbox`),
      sandboxSigningKey(`${dir}/sandbox`),
    ]);
    assert.equal(a.fingerprint, first.fingerprint);
    assert.equal(b.fingerprint, first.fingerprint);
    await Deno.chmod(paths.pem, 0o644);
    const warnings: string[] = [];
    await sandboxSigningKey(`${dir}/sandbox`, { onWarning: (w) => warnings.push(w) });
    assert.equal((await Deno.stat(paths.pem)).mode! & 0o777, 0o600);
    assert.match(warnings.join(), /readable by others: made private/);
    // A file that is not a key is not replaced: refused.
    await Deno.writeTextFile(paths.pem, "junk");
    await assert.rejects(
      () => sandboxSigningKey(`${dir}/sandbox`),
      /is not an Ed25519 private key/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
