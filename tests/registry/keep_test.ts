/**
 * The sandbox's companion registry (a real `docker-registry`) keeps what it holds across a
 * restart once kept: the image a build pushed under a stand-in's tag stays (same digest, its
 * signature still there), the keys trusted come back, the stand-ins keep their digests; a
 * start without a kept state empties it. And the pre-flight's key-based signature check
 * (`checks/image_signature.ts`) against that registry: the digest deployed verifies with the
 * key that signed it, is refused with another key, with no key, or pinned to a digest that
 * is not signed; without cosign it falls back to the built-in verifier.
 * @module
 */
import assert from "node:assert/strict";
import { startRegistryCompanion } from "../../lib/companions/registry.ts";
import { signImage } from "../../lib/companions/cosign.ts";
import { getManifest, pushBlob, putManifest } from "../../lib/companions/oci.ts";
import { imageSignedBy } from "../../checks/image_signature.ts";
import { fakeContext } from "../checks/_support.ts";
import { makeKeyPair } from "../build/_build.ts";

const NO_REGISTRY = await new Deno.Command("docker-registry", { args: ["--version"] }).output()
  .then((o) => !o.success, () => true);

const IMAGES = [
  { repository: "team/api", tag: "1.2.4", identity: "ghcr.io/team/api" },
  { repository: "team/web", tag: "1.2.4", identity: "ghcr.io/team/web" },
];

/** A key pair as a build has it: the private CryptoKey and the public PEM. */
async function buildKey() {
  const { privatePem, publicPem } = await makeKeyPair();
  const der = Uint8Array.from(
    atob(privatePem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")),
    (c) => c.charCodeAt(0),
  );
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  return { privateKey, publicKeyPem: publicPem };
}

/** Pushes an image of its own under `repository:tag` (as a build would), signed by `key`. */
async function pushBuilt(
  host: string,
  repository: string,
  key: Awaited<ReturnType<typeof buildKey>>,
) {
  const access = { host };
  const config = await pushBlob(access, repository, new TextEncoder().encode('{"os":"linux"}'));
  const layer = await pushBlob(access, repository, new TextEncoder().encode("built here"));
  const digest = await putManifest(access, repository, "1.2.4", {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  });
  await signImage(access, repository, digest, `ghcr.io/${repository}`, key);
  return digest;
}

Deno.test({
  name: "startRegistryCompanion() keeps a build's image and its key across a restart once kept",
  ignore: NO_REGISTRY,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "registry_keep_" });
    try {
      const first = await startRegistryCompanion({ dir, images: IMAGES });
      assert.ok(!("missing" in first));
      const standIns = Object.fromEntries(first.images.map((i) => [i.repository, i.digest]));
      const key = await buildKey();
      const built = await pushBuilt(first.host, "team/api", key);
      assert.notEqual(built, standIns["team/api"]);
      await first.keep(`${first.publicKey}${key.publicKeyPem}`);
      await first.stop();

      const second = await startRegistryCompanion({ dir, images: IMAGES });
      assert.ok(!("missing" in second));
      try {
        const held = Object.fromEntries(second.images.map((i) => [i.repository, i]));
        assert.equal(held["team/api"]!.digest, built, "the build's image stayed under its tag");
        assert.equal(held["team/api"]!.signed, true);
        assert.equal(held["team/web"]!.digest, standIns["team/web"], "the stand-in is the same");
        const served = await getManifest({ host: second.host }, "team/api", "1.2.4");
        assert.equal(served?.digest, built);
        // Both keep verifying: the build's by its key, the stand-in by the kept own key.
        assert.ok(second.publicKey.includes(key.publicKeyPem.trim()));
        const check = (image: string) =>
          imageSignedBy(image, [second.publicKey], { mirror: second.host, cosign: false })
            .run(fakeContext());
        assert.equal((await check(`ghcr.io/team/api:1.2.4@${built}`)).ok, true);
        const web = await check("ghcr.io/team/web:1.2.4");
        assert.equal(web.ok, true, web.message);
        // Not kept this time (a crash): the next start empties it.
      } finally {
        await second.stop();
      }
      const third = await startRegistryCompanion({ dir, images: IMAGES });
      assert.ok(!("missing" in third));
      try {
        const api = third.images.find((i) => i.repository === "team/api")!;
        // kept.json is still the one the first stop wrote: a start reads it, not consumes it.
        assert.equal(api.digest, built);
      } finally {
        await third.stop();
      }
      await Deno.remove(`${dir}/kept.json`);
      const fresh = await startRegistryCompanion({ dir, images: IMAGES });
      assert.ok(!("missing" in fresh));
      try {
        const api = fresh.images.find((i) => i.repository === "team/api")!;
        assert.equal(api.digest, standIns["team/api"], "without a kept state: emptied");
        assert.ok(!fresh.publicKey.includes(key.publicKeyPem.trim()));
      } finally {
        await fresh.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "imageSignedBy() verifies the digest deployed with the environment's keys, refuses another key",
  ignore: NO_REGISTRY,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "registry_sig_" });
    const r = await startRegistryCompanion({
      dir,
      images: [...IMAGES, {
        repository: "team/odd",
        tag: "1.2.4",
        identity: "ghcr.io/team/odd",
        unsigned: true,
      }],
    });
    assert.ok(!("missing" in r));
    try {
      const releaseKey = await buildKey();
      const built = await pushBuilt(r.host, "team/api", releaseKey);
      const other = (await makeKeyPair()).publicPem;
      const image = `ghcr.io/team/api:1.2.4@${built}`;
      const run = (keys: string[], ref = image, o: { cosign?: string } = {}) =>
        imageSignedBy(ref, keys, { mirror: r.host, cosign: false, ...o }).run(fakeContext());

      const ok = await run([other, releaseKey.publicKeyPem]);
      assert.equal(ok.ok, true, ok.message);
      assert.equal(ok.evidence?.digest, built);

      const refused = await run([other]);
      assert.equal(refused.ok, false);
      assert.match(refused.message, /no signature of .* verifies/);

      const none = await run([]);
      assert.equal(none.ok, false);
      assert.match(none.message, /deployment\.image_signing names none/);

      // The stand-in's digest under the same repository: not what the release key signed.
      const standIn = r.images.find((i) => i.repository === "team/web")!.digest;
      const wrong = await run([releaseKey.publicKeyPem], `ghcr.io/team/web:1.2.4@${standIn}`);
      assert.equal(wrong.ok, false);
      // A signed artifact that is not an image (as an SBOM is): not what may be deployed.
      const empty = await pushBlob({ host: r.host }, "team/api", new TextEncoder().encode("{}"));
      const sbomLayer = await pushBlob(
        { host: r.host },
        "team/api",
        new TextEncoder().encode("[]"),
      );
      const artifact = await putManifest({ host: r.host }, "team/api", "sha256-x.sbom", {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: "application/vnd.cyclonedx+json",
        config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
        layers: [{ mediaType: "application/vnd.cyclonedx+json", ...sbomLayer }],
      });
      await signImage({ host: r.host }, "team/api", artifact, "ghcr.io/team/api", releaseKey);
      const notImage = await run([releaseKey.publicKeyPem], `ghcr.io/team/api:1.2.4@${artifact}`);
      assert.equal(notImage.ok, false);
      assert.match(notImage.message, /is not an image \(application\/vnd\.cyclonedx\+json\)/);
      // An image with no signature at all, pinned by its digest.
      const odd = r.images.find((i) => i.repository === "team/odd")!;
      const unsigned = await run([r.publicKey], `ghcr.io/team/odd:1.2.4@${odd.digest}`);
      assert.equal(unsigned.ok, false);
      assert.match(unsigned.message, /is not signed/);

      // Named by the registry itself: no cosign installed (a program that does not exist),
      // the built-in verifier decides.
      const direct = `${r.host}/team/api:1.2.4@${built}`;
      const noCosign = await imageSignedBy(direct, [releaseKey.publicKeyPem], {
        cosign: "no-cosign-here",
      }).run(fakeContext());
      assert.equal(noCosign.ok, true, noCosign.message);
      assert.equal(noCosign.evidence?.verifier, "built-in (cosign format, key-based)");
      // With cosign: each key in turn through env://, the digest deployed on its command line.
      const marker = releaseKey.publicKeyPem.split("\n")[1]!;
      const cosign = `${dir}/cosign`;
      await Deno.writeTextFile(
        cosign,
        `#!/bin/sh\necho "$@" >> ${dir}/cosign.args\ncase "$TRACKTION_IMAGE_PUBLIC_KEY" in *"${marker}"*) exit 0;; esac\necho "error: no matching signatures" >&2\nexit 10\n`,
        { mode: 0o755 },
      );
      const byCosign = await imageSignedBy(direct, [other, releaseKey.publicKeyPem], { cosign })
        .run(fakeContext());
      assert.equal(byCosign.ok, true, byCosign.message);
      assert.match(byCosign.message, /verified by cosign with key 2/);
      const args = await Deno.readTextFile(`${dir}/cosign.args`);
      assert.equal(
        args,
        `verify --key env://TRACKTION_IMAGE_PUBLIC_KEY --insecure-ignore-tlog=true ${direct}\n`
          .repeat(2),
      );
      const cosignRefused = await imageSignedBy(direct, [other], { cosign }).run(fakeContext());
      assert.equal(cosignRefused.ok, false);
      assert.match(cosignRefused.message, /cosign verify failed .* no matching signatures/);
      assert.doesNotMatch(JSON.stringify(cosignRefused), /BEGIN PUBLIC KEY/);
    } finally {
      await r.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
