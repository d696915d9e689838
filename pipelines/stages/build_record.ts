/**
 * `build:record`: the build record from every service's stages (checked against
 * `buildRecordSchema`), written to `--option record=<file>` when given. In the sandbox it also
 * tells the namespace's companion registry entry (`sandbox-companions`) what it now holds — the
 * built images' digests — and adds the build's public key to the keys its images verify with,
 * so that production's pre-flight in the same sandbox checks the images built, signed by this
 * key.
 * @module
 */
import { type Stage, stage } from "../../mod.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { type BuildRecord, checkBuildRecord, type ImageRecord } from "../../lib/build/record.ts";
import {
  COMPANIONS_CONFIGMAP,
  type ConfigMapReader,
  type PublishedRegistry,
  readCompanions,
} from "../../lib/companions/discover.ts";
import type { BuildContext } from "./build.ts";
import type { ServiceStages } from "./build_stages.ts";

/** The id of the stage whose output is the build record. */
export const BUILD_RECORD_STAGE = "build:record";

/** The sandbox's registry entry, with the build's images and key added. */
async function publishInSandbox(
  c: BuildContext,
  k: KubernetesCapability,
  record: BuildRecord,
): Promise<string> {
  const found = await readCompanions(k as unknown as ConfigMapReader, c.namespace);
  const entry = found?.registry as PublishedRegistry | undefined;
  if (!entry || !("host" in entry)) {
    throw new Error(`The sandbox's registry for ${c.namespace} is gone`);
  }
  const keys = entry.publicKey.includes(record.publicKey.trim())
    ? entry.publicKey
    : `${entry.publicKey.trimEnd()}\n${record.publicKey}`;
  const built = Object.values(record.images).map((i) => ({
    repository: i.pushedTo.slice(c.registry.length + 1),
    tag: record.version,
    digest: i.digest,
    signed: true,
  }));
  const images = [
    ...entry.images.filter((i) =>
      !built.some((b) => b.repository === i.repository && b.tag === i.tag)
    ),
    ...built,
  ];
  const next: PublishedRegistry = { ...entry, publicKey: keys, images };
  await k.patch(
    { apiVersion: "v1", kind: "ConfigMap" },
    c.namespace,
    COMPANIONS_CONFIGMAP,
    { data: { registry: JSON.stringify(next) } },
    "merge",
  );
  return `${c.namespace}/${COMPANIONS_CONFIGMAP}: ${built.length} built image(s), the build's key trusted`;
}

/** `build:record`, after every service's `sign:<s>`. */
export function recordStage(
  c: BuildContext,
  inputs: Stage<{ builder: string; publicKey: string; keyFingerprint: string }>,
  services: readonly (ServiceStages & { readonly service: string })[],
): Stage<BuildRecord> {
  let s = stage(BUILD_RECORD_STAGE)
    .needs(inputs, ...services.flatMap((x) => [x.build, x.sbom, x.scan, x.sign]))
    .describe(
      `the build record: digests, SBOMs, signatures, scans${
        c.recordFile ? `, written to ${c.recordFile}` : ""
      }${c.sandbox ? `; the sandbox's registry told what it holds` : ""}`,
    )
    .timeout("1m");
  if (c.recordFile) s = s.permissions({ write: [c.recordFile] });
  if (c.sandbox) s = s.uses("kubernetes");
  return s.run(async (ctx): Promise<BuildRecord> => {
    const given = ctx.output(inputs);
    const images: Record<string, ImageRecord> = {};
    for (const x of services) {
      const built = ctx.output(x.build);
      const sbom = ctx.output(x.sbom);
      const scan = ctx.output(x.scan);
      const sign = ctx.output(x.sign);
      images[x.service] = {
        image: built.image,
        reference: built.reference,
        digest: built.digest,
        pushedTo: built.pushedTo,
        sbom: {
          tag: sbom.tag,
          digest: sbom.digest,
          format: sbom.format,
          components: sbom.components,
          signatureTag: sign.sbomTag,
        },
        signature: { tag: sign.tag, verified: sign.verified },
        scan,
      };
    }
    const record = checkBuildRecord({
      schema: "build-record/v1",
      environment: c.env.name,
      namespace: c.namespace,
      version: c.version.version,
      registry: c.registry,
      sandbox: c.sandbox,
      publicKey: given.publicKey,
      keyFingerprint: given.keyFingerprint,
      builder: given.builder,
      images,
    }, "made by this build");
    if (c.recordFile) {
      await Deno.writeTextFile(c.recordFile, `${JSON.stringify(record, null, 2)}\n`);
      ctx.notice(`build record: ${c.recordFile}`);
    }
    if (c.sandbox) {
      ctx.notice(await publishInSandbox(c, ctx.use<KubernetesCapability>("kubernetes"), record));
    }
    return record;
  });
}
