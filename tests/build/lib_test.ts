/**
 * `lib/build` against the real tools: buildah builds the fixture service reproducibly and
 * pushes it to a real `docker-registry`; the SBOM lists exactly the files of the image as
 * pushed; the signature verifies with openssl (an independent verifier of cosign's ECDSA
 * format, where cosign is not installed) and with `cosign verify --key` where it is; the image's
 * own layer, unpacked, serves `/health`; keys made by openssl import.
 * @module
 */
import assert from "node:assert/strict";
import {
  attachSbom,
  buildImage,
  BuildToolError,
  imageSbom,
  importSigningKey,
  pushImage,
  readImage,
  readSigningKey,
} from "../../lib/build/mod.ts";
import { readTar } from "../../lib/build/_tar.ts";
import { getBlob, getManifest, sha256Digest } from "../../lib/companions/oci.ts";
import {
  SIGNATURE_ANNOTATION,
  signImage,
  verifyImageSignature,
} from "../../lib/companions/cosign.ts";
import { buildahTest, makeKeyPair, startRegistry } from "./_build.ts";

const FIXTURE = new URL("../../fixtures/service/", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const d = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: o.code, out: d(o.stdout) + d(o.stderr) };
}

buildahTest(
  "buildImage()/pushImage(): the fixture, reproducibly, into a real registry; its SBOM, signature (checked by openssl) and served layer",
  async () => {
    const registry = await startRegistry();
    const dir = await Deno.makeTempDir({ prefix: "build_lib_" });
    try {
      const access = { host: registry.host };
      const build = async (n: number, tag: string) => {
        const where = { root: `${dir}/${n}/root`, runroot: `${dir}/${n}/runroot` };
        await buildImage({
          ...where,
          context: FIXTURE,
          tag: "localhost/app:1.0.0",
          buildArgs: { SERVICE: "app", VERSION: "1.0.0" },
        });
        return await pushImage({
          ...where,
          image: "localhost/app:1.0.0",
          destination: `${registry.host}/team/app:${tag}`,
          insecure: true,
          digestFile: `${dir}/${n}/digest`,
        });
      };
      const digest = await build(1, "1.0.0");
      // Another storage, another time: the same digest (--timestamp 0).
      assert.equal(await build(2, "again"), digest);
      assert.equal((await getManifest(access, "team/app", "1.0.0"))?.digest, digest);

      const image = await readImage(access, "team/app", digest);
      assert.equal(image.labels["org.opencontainers.image.title"], "app");
      const local = async (p: string) => await sha256Digest(await Deno.readFile(`${FIXTURE}${p}`));
      assert.deepEqual(image.files.map((f) => [f.path, f.digest]), [
        ["app/public/index.html", await local("public/index.html")],
        ["app/server.ts", await local("server.ts")],
      ]);
      const sbom = imageSbom(image, { identity: "ghcr.io/team/app", tag: "1.0.0" });
      assert.equal(
        imageSbom(image, { identity: "ghcr.io/team/app", tag: "1.0.0" }).json,
        sbom.json,
      );
      const doc = JSON.parse(sbom.json);
      assert.equal(doc.bomFormat, "CycloneDX");
      assert.equal(doc.specVersion, "1.6");
      assert.equal(doc.metadata.component.hashes[0].content, digest.slice(7));
      assert.match(
        doc.metadata.component.purl,
        /^pkg:oci\/app@sha256%3A[0-9a-f]{64}\?repository_url=ghcr.io\/team\/app/,
      );
      assert.deepEqual(
        doc.components.map((c: { name: string; hashes: { content: string }[] }) => [
          c.name,
          `sha256:${c.hashes[0]!.content}`,
        ]),
        image.files.map((f) => [f.path, f.digest]),
      );
      const attached = await attachSbom(access, "team/app", {
        mediaType: image.manifest.mediaType!,
        digest,
        size: image.size,
      }, sbom.json);
      const sbomManifest = (await getManifest(access, "team/app", attached.tag))!;
      assert.equal(sbomManifest.manifest.subject?.digest, digest);
      assert.equal(
        new TextDecoder().decode(await getBlob(access, "team/app", attached.blob)),
        sbom.json,
      );

      // Signed with a key openssl made; verified by openssl from what the registry holds.
      const keyFile = `${dir}/key.pem`;
      assert.equal(
        (await run("openssl", [
          "ecparam",
          "-name",
          "prime256v1",
          "-genkey",
          "-noout",
          "-out",
          keyFile,
        ])).code,
        0,
      );
      const key = await readSigningKey({ kind: "file", path: keyFile });
      const pub = await run("openssl", ["ec", "-in", keyFile, "-pubout"]);
      assert.equal(
        key.publicKeyPem.trim(),
        pub.out.match(/-----BEGIN PUBLIC KEY-----[^]*?-----END PUBLIC KEY-----/)![0],
      );
      const signed = await signImage(access, "team/app", digest, "ghcr.io/team/app", key);
      const sig = (await getManifest(access, "team/app", signed.tag))!.manifest.layers[0]!;
      await Deno.writeFile(`${dir}/payload`, await getBlob(access, "team/app", sig.digest));
      await Deno.writeFile(
        `${dir}/sig.der`,
        Uint8Array.from(atob(sig.annotations![SIGNATURE_ANNOTATION]!), (c) => c.charCodeAt(0)),
      );
      await Deno.writeTextFile(`${dir}/key.pub`, key.publicKeyPem);
      const verified = await run("openssl", [
        "dgst",
        "-sha256",
        "-verify",
        `${dir}/key.pub`,
        "-signature",
        `${dir}/sig.der`,
        `${dir}/payload`,
      ]);
      assert.equal(verified.code, 0, verified.out);
      assert.match(verified.out, /Verified OK/);
      const payload = JSON.parse(await Deno.readTextFile(`${dir}/payload`));
      assert.equal(payload.critical.image["docker-manifest-digest"], digest);
      assert.equal(
        (await verifyImageSignature(access, "team/app", "1.0.0", key.publicKeyPem)).ok,
        true,
      );
      // cosign itself, where it is installed (not packaged by Debian 12).
      const cosign = await run("cosign", ["version"]).catch(() => undefined);
      if (cosign?.code === 0) {
        const c = await run("cosign", [
          "verify",
          "--key",
          `${dir}/key.pub`,
          "--insecure-ignore-tlog",
          "--allow-http-registry",
          `${registry.host}/team/app@${digest}`,
        ]);
        assert.equal(c.code, 0, c.out);
      } else console.log("cosign is not installed: cosign verify --key not run (openssl verified)");

      // The image's own layer serves: unpacked, its server.ts answers /health.
      const layer = (await getManifest(access, "team/app", digest))!.manifest.layers[0]!;
      const gz = await getBlob(access, "team/app", layer.digest);
      const tar = new Uint8Array(
        await new Response(
          new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
            new DecompressionStream("gzip"),
          ),
        )
          .arrayBuffer(),
      );
      for (const e of readTar(tar)) {
        if (e.type !== "file") continue;
        await Deno.mkdir(`${dir}/rootfs/${e.path.split("/").slice(0, -1).join("/")}`, {
          recursive: true,
        });
        await Deno.writeFile(`${dir}/rootfs/${e.path}`, e.data);
      }
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const server = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-env",
          `--allow-read=${dir}/rootfs`,
          `${dir}/rootfs/app/server.ts`,
        ],
        env: { SERVICE: "app", VERSION: "1.0.0", PORT: String(port), HOST: "127.0.0.1" },
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        let health: unknown;
        for (let i = 0; i < 200 && health === undefined; i++) {
          health = await fetch(`http://127.0.0.1:${port}/health`).then(
            (r) => r.json(),
            () => undefined,
          );
          if (health === undefined) await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(health, { status: "healthy", service: "app", version: "1.0.0" });
        const page = await fetch(`http://127.0.0.1:${port}/`);
        assert.match(await page.text(), /fixture service/);
      } finally {
        server.kill();
        await server.status;
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await registry.stop();
    }
  },
);

buildahTest("buildImage() says why a build fails: buildah's exit code and last lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "build_lib_" });
  try {
    await Deno.writeTextFile(`${dir}/Containerfile`, "FROM scratch\nCOPY missing.txt /\n");
    const err = await buildImage({
      root: `${dir}/root`,
      runroot: `${dir}/runroot`,
      context: dir,
      tag: "localhost/broken:1",
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof BuildToolError);
    assert.equal(err.missing, false);
    assert.notEqual(err.exitCode, 0);
    assert.match(
      err.message,
      /buildah failed to build localhost\/broken:1 \(exit \d+\): .*missing\.txt/s,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("importSigningKey() takes PKCS#8 and SEC1 P-256 keys, refuses an encrypted key without showing it", async () => {
  const { privatePem, publicPem } = await makeKeyPair();
  assert.equal((await importSigningKey(privatePem)).publicKeyPem, publicPem);
  const encrypted =
    "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc2VjcmV0\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
  const err = await importSigningKey(encrypted, "file cosign.key").then(() => undefined, (e) => e);
  assert.match(
    err.message,
    /^Cannot use the image signing key \(file cosign.key\): it is encrypted/,
  );
  assert.doesNotMatch(err.message, /c2VjcmV0/);
  await assert.rejects(importSigningKey("not a key"), /holds no PEM private key/);
});
