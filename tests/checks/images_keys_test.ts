/**
 * `imageSignature` with `publicKey`: a bundle of PEM keys (the sandbox registry's own and a
 * build's) verifies a signature by any of them, and only by them.
 * @module
 */
import assert from "node:assert/strict";
import { imageSignature } from "../../checks/images.ts";
import { startRegistryCompanion } from "../../lib/companions/registry.ts";
import { generateSigningKey } from "../../lib/companions/cosign.ts";
import { fakeContext } from "./_support.ts";

Deno.test({
  name: "imageSignature() verifies with any key of a PEM bundle, and fails with none of its keys",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "images_keys_" });
    const started = await startRegistryCompanion({
      dir,
      images: [{ repository: "team/app", tag: "1.0.0", identity: "ghcr.io/team/app" }],
    });
    if ("missing" in started) {
      console.log(`skipped: ${started.missing.message}`);
      return;
    }
    try {
      const other = (await generateSigningKey()).publicKeyPem;
      const check = (publicKey: string) =>
        imageSignature("ghcr.io/team/app:1.0.0", { publicKey, mirror: started.host })
          .run(fakeContext());
      assert.equal((await check(`${other}${started.publicKey}`)).ok, true);
      const without = await check(`${other}${(await generateSigningKey()).publicKeyPem}`);
      assert.equal(without.ok, false);
      assert.match(without.message, /does not verify with the keys/);
      const none = await check("not a key");
      assert.equal(none.ok, false);
      assert.match(none.message, /not an ECDSA P-256 key/);
    } finally {
      await started.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
