/**
 * `deno task run pipelines/build.ts` as a user runs it, against a real `docker-registry`:
 * build → push → SBOM → scan → sign → verify → record; a tampered image (a layer changed after
 * signing, re-pushed under the same tag) refused by production's pre-flight signature check.
 * @module
 */
import assert from "node:assert/strict";
import {
  buildahTest,
  catalog,
  cli,
  grypeReport,
  grypeStandIn,
  type Registry,
  reportOf,
  startRegistry,
  tags,
  workspace,
} from "./_build.ts";
import { parseBuildRecord } from "../../lib/build/record.ts";
import { getBlob, getManifest, pushBlob, putManifest } from "../../lib/companions/oci.ts";
import { signatureTag } from "../../lib/companions/cosign.ts";
import { imageExists, imageSignature } from "../../checks/images.ts";
import { buildRecordOf } from "../../pipelines/build.ts";
import { fakeContext } from "../checks/_support.ts";
import { readTar } from "../../lib/build/_tar.ts";

const SERVICES = "analysis-service,file-watcher";

/** What production's pre-flight runs for an image in the sandbox: the built-in verifier. */
function preflightSignature(image: string, publicKey: string, mirror: string) {
  return imageSignature(image, { required: true, publicKey, mirror }).run(fakeContext());
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Changes one byte of `app/server.ts` in the image's layer and re-pushes it under `tag`. */
async function tamper(registry: Registry, repository: string, tag: string): Promise<string> {
  const access = { host: registry.host };
  const found = (await getManifest(access, repository, tag))!;
  const layer = found.manifest.layers[0]!;
  const tar = await gunzip(await getBlob(access, repository, layer.digest));
  const entry = readTar(tar).find((e) => e.path === "app/server.ts")!;
  // The entry's bytes are a view into the archive: flip its first character.
  const offset = entry.data.byteOffset - tar.byteOffset;
  assert.ok(offset > 0);
  const changed = tar.slice();
  changed[offset] = changed[offset] === 0x2f ? 0x2a : 0x2f; // "/" <-> "*"
  const blob = await pushBlob(access, repository, await gzip(changed));
  return await putManifest(access, repository, tag, {
    ...found.manifest,
    layers: [{ ...layer, ...blob }],
  });
}

buildahTest(
  "build pipeline: builds, pushes, attaches the SBOM, signs and records; production's pre-flight verifies it and refuses it once tampered",
  async () => {
    const registry = await startRegistry();
    const ws = await workspace();
    try {
      const record = `${ws.dir}/build.json`;
      // At the runbook's threshold and not over it: no critical, five high.
      const highs = { n: 0 };
      const scanner = await grypeStandIn(
        ws.dir,
        await grypeReport((m) =>
          m.vulnerability.severity !== "Critical" &&
          (m.vulnerability.severity !== "High" || ++highs.n <= 5)
        ),
      );
      const r = await cli([
        "run",
        "pipelines/build.ts",
        "production",
        "v1.2.4",
        ...ws.args(
          registry.host,
          "--option",
          `services=${SERVICES}`,
          "--option",
          `record=${record}`,
          "--option",
          `scanner=${scanner}`,
        ),
      ]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const report = await reportOf(r);
      assert.equal(report.status, "succeeded");
      const fromFile = parseBuildRecord(await Deno.readTextFile(record), record);
      assert.deepEqual(buildRecordOf(report), fromFile);
      assert.equal(fromFile.publicKey, ws.publicPem);
      assert.deepEqual(Object.keys(fromFile.images).sort(), SERVICES.split(","));
      // Only the services asked for were built, each with its image, SBOM and signatures.
      assert.deepEqual((await catalog(registry.host)).sort(), [
        "tracktion/analysis-service",
        "tracktion/file-watcher",
      ]);
      for (const [service, image] of Object.entries(fromFile.images)) {
        const repository = `tracktion/${service}`;
        assert.equal(image.image, `ghcr.io/tracktion/${service}:1.2.4`);
        assert.equal(image.reference, `ghcr.io/tracktion/${service}@${image.digest}`);
        const served = await getManifest({ host: registry.host }, repository, "1.2.4");
        assert.equal(served?.digest, image.digest);
        assert.deepEqual(
          (await tags(registry.host, repository)).sort(),
          [
            "1.2.4",
            image.sbom.tag,
            image.signature.tag,
            image.sbom.signatureTag,
          ].sort(),
        );
        assert.equal(image.signature.tag, signatureTag(image.digest));
        assert.equal(image.sbom.components, 2, "server.ts and public/index.html");
        assert.equal(image.scan.verdict, "passed");
        assert.equal(image.scan.counts.high, 5);
        assert.equal(image.scan.counts.critical, 0);
        // Production's pre-flight (as in the sandbox: the built-in verifier, the registry as a
        // mirror) verifies it, by tag and by the digest the record pins.
        const ok = await preflightSignature(image.image, fromFile.publicKey, registry.host);
        assert.equal(ok.ok, true, ok.message);
        const pinned = await imageExists(image.reference, {
          mirror: registry.host,
          plainHttp: true,
        })
          .run(fakeContext());
        assert.equal(pinned.ok, true, pinned.message);
      }
      // The scanner was given the image pinned to its digest, in the registry pushed to.
      const scanned = await Deno.readTextFile(`${ws.dir}/grype-standin-args`);
      assert.match(scanned, new RegExp(`^registry:${registry.host}/tracktion/[a-z-]+@sha256:`));

      // Tampered: a layer changed after signing, re-pushed under the same tag.
      const analysis = fromFile.images["analysis-service"]!;
      const repository = "tracktion/analysis-service";
      const tampered = await tamper(registry, repository, "1.2.4");
      assert.notEqual(tampered, analysis.digest);
      const refused = await preflightSignature(analysis.image, fromFile.publicKey, registry.host);
      assert.equal(refused.ok, false);
      assert.match(refused.message, /is not signed: no sha256-[0-9a-f]{64}\.sig/);
      // The old signature copied to the new digest's tag still names the old digest.
      const oldSig =
        (await getManifest({ host: registry.host }, repository, analysis.signature.tag))!;
      await putManifest(
        { host: registry.host },
        repository,
        signatureTag(tampered),
        oldSig.manifest,
      );
      const copied = await preflightSignature(analysis.image, fromFile.publicKey, registry.host);
      assert.equal(copied.ok, false);
      assert.match(copied.message, new RegExp(`signs ${analysis.digest}, not ${tampered}`));
      // A deploy pinned to the record's digest still gets the image that was signed.
      const pinned = await preflightSignature(
        analysis.reference,
        fromFile.publicKey,
        registry.host,
      );
      assert.equal(pinned.ok, true, pinned.message);
      assert.equal(pinned.evidence?.digest, analysis.digest);
      // The key never reaches the run's files.
      const body = ws.privatePem.split("\n")[1]!;
      for await (const f of Deno.readDir(`${ws.dir}/runs`)) {
        const out = new Deno.Command("grep", {
          args: ["-rlF", body, `${ws.dir}/runs/${f.name}`],
          stdout: "piped",
        });
        assert.equal(new TextDecoder().decode((await out.output()).stdout), "");
      }
    } finally {
      await ws.cleanup();
      await registry.stop();
    }
  },
);
