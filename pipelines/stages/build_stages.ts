/**
 * The build pipeline's stages: `build:inputs` (the key, the build tool, the contexts, the
 * registry: before anything is built), then per service `build:<s>` (buildah: build and push),
 * `sbom:<s>` (CycloneDX of the image as pushed, attached), `scan:<s>` (grype or trivy against
 * the runbook's threshold) and `sign:<s>` (cosign's format, the image and its SBOM, verified
 * back) — the scan before the signature, so an image over the threshold is never signed — and
 * `build:record`, the build record. Only `build:inputs`, `build:<s>` and `scan:<s>` run
 * programs (full trust); the stages that read the key run none.
 * @module
 */
import { type Stage, stage } from "../../mod.ts";
import type { StageContext } from "../../lib/dsl/types.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import {
  builderVersion,
  buildImage,
  keyFingerprint,
  pushImage,
  readSigningKey,
  runScanner,
  scanVerdict,
} from "../../lib/build/mod.ts";
import { getManifest, type RegistryAccess } from "../../lib/companions/oci.ts";
import { signImage, type SigningKey, verifyImageSignature } from "../../lib/companions/cosign.ts";
import { type ConfigMapReader, notRunning, readCompanions } from "../../lib/companions/discover.ts";
import { type BuildContext, credentialsGrant, keyGrant, keyName, SCAN_LIMITS } from "./build.ts";
import {
  authFile,
  authorizingFetch,
  parseCredentials,
  type RegistryCredentials,
} from "../../lib/registry/auth.ts";

/** The registry as the stage reaches it: with its credentials when it needs a login. */
async function access(c: BuildContext, ctx: StageContext): Promise<RegistryAccess> {
  const base = { host: c.registry, plainHttp: c.plainHttp, signal: ctx.signal };
  const credentials = await registryCredentials(c);
  return credentials ? { ...base, fetch: authorizingFetch(credentials) } : base;
}

/** The registry's credentials, read where `registry-credentials` says (never shown). */
async function registryCredentials(c: BuildContext): Promise<RegistryCredentials | undefined> {
  const r = c.credentials;
  if (!r) return undefined;
  const where = r.kind === "file" ? `file ${r.path}` : `env ${r.name}`;
  let text: string | undefined;
  try {
    text = r.kind === "file" ? await Deno.readTextFile(r.path) : Deno.env.get(r.name);
  } catch (err) {
    throw new Error(
      `Cannot read the registry credentials (${where}): ${
        err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).name
      }`,
    );
  }
  if (!text) throw new Error(`Cannot read the registry credentials (${where}): it is empty`);
  return parseCredentials(text, where);
}

async function signingKey(c: BuildContext, ctx: StageContext): Promise<SigningKey> {
  return await readSigningKey(c.key, {
    readSecret: (name, key) =>
      ctx.use<KubernetesCapability>("kubernetes").readSecret(c.namespace, name, key),
  });
}

/** Adds the key's grant (and the cluster, for a Secret) to a stage. */
function withKey<T>(c: BuildContext, s: Stage<T>): Stage<T> {
  const grant = keyGrant(c);
  const granted = s.permissions(grant.permissions);
  return grant.secret ? granted.uses({ kubernetes: { secrets: [grant.secret] } }) : granted;
}

/** `build:inputs`: everything a build needs is there, before anything is built or pushed. */
export function inputsStage(c: BuildContext) {
  const s = stage("build:inputs")
    .describe(
      `the signing key (${keyName(c)}), ${c.builder}, ${c.services.length} build context(s), ` +
        `the registry ${c.registry}: before anything is built`,
    )
    .permissions({ run: [c.builder], read: c.services.map((svc) => c.containerfile(svc)) })
    .timeout("1m")
    .run(async (ctx) => {
      const builder = await builderVersion(c.builder);
      const key = await signingKey(c, ctx);
      const missing: string[] = [];
      for (const service of c.services) {
        const file = c.containerfile(service);
        const info = await Deno.stat(file).catch(() => undefined);
        if (!info?.isFile) missing.push(`${service}: ${file}`);
      }
      if (missing.length > 0) {
        throw new Error(
          `No Containerfile for ${missing.join("; ")} (--option context=<dir> says where each ` +
            "service's build context is; {service} is replaced by its name)",
        );
      }
      if (c.sandbox) {
        const found = await readCompanions(
          ctx.use<ConfigMapReader>("kubernetes"),
          c.namespace,
        );
        const entry = found?.registry;
        const off = entry ? notRunning(entry as object) : undefined;
        if (!entry || off) {
          throw new Error(
            `The sandbox runs no registry for ${c.namespace}: ${
              off && "skipped" in off
                ? off.skipped
                : off && "failed" in off
                ? off.failed
                : "it starts with a sandbox that --sandbox starts for the run (deno task sandbox " +
                  "runs no companions)"
            }`,
          );
        }
      }
      ctx.log(builder);
      return {
        builder,
        publicKey: key.publicKeyPem,
        keyFingerprint: await keyFingerprint(key.publicKeyPem),
        registry: c.registry,
        services: [...c.services],
      };
    });
  return c.sandbox || c.key.kind === "secret" ? withKey(c, s.uses("kubernetes")) : withKey(c, s);
}

/** What `build:<s>` hands on. */
export interface BuiltImage {
  readonly service: string;
  readonly image: string;
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly reference: string;
  readonly pushedTo: string;
  readonly mediaType: string;
  readonly size: number;
}

/** The four stages of one service. */
export interface ServiceStages {
  readonly build: Stage<BuiltImage>;
  readonly sbom: Stage<{ tag: string; digest: string; components: number; format: string }>;
  readonly scan: Stage<{
    scanner: string | null;
    verdict: "passed" | "failed" | "not-scanned";
    counts: Record<string, number>;
    message: string;
  }>;
  readonly sign: Stage<{ tag: string; sbomTag: string; verified: boolean; identity: string }>;
}

/** The stages of one service, after `inputs`. */
export function serviceStages(
  c: BuildContext,
  service: string,
  inputs: Stage<unknown>,
): ServiceStages {
  const repository = c.repository(service);
  const tag = c.version.version;
  const pushedTo = `${c.registry}/${repository}`;
  const identity = `${c.prefix}/${service}`;
  const storage = `${c.workDir}`;
  const build = stage(`build:${service}`).needs(inputs)
    .describe(`${c.builder} bud ${c.context(service)}, push ${pushedTo}:${tag}`)
    .permissions({
      run: [c.builder],
      read: [c.context(service), c.containerfile(service), storage],
      write: [storage],
      net: [c.registry],
    })
    .permissions(credentialsGrant(c))
    .timeout("15m")
    .run(async (ctx): Promise<BuiltImage> => {
      const dir = `${storage}/${ctx.runId}/${service}`;
      await Deno.mkdir(dir, { recursive: true });
      const local = `localhost/${repository}:${tag}`;
      const where = { program: c.builder, root: `${dir}/root`, runroot: `${dir}/runroot` };
      try {
        const id = await buildImage({
          ...where,
          context: c.context(service),
          containerfile: c.containerfile(service),
          tag: local,
          buildArgs: { SERVICE: service, VERSION: tag },
          labels: { "org.opencontainers.image.version": tag },
          timestamp: c.timestamp,
          signal: ctx.signal,
        });
        ctx.log(`built ${local} (${id.slice(0, 12)})`);
        // buildah logs in with an auth file in the build's folder (removed below, mode 0600).
        const credentials = await registryCredentials(c);
        const authfile = credentials ? `${dir}/auth.json` : undefined;
        if (authfile) {
          await Deno.writeTextFile(authfile, authFile(c.registry, credentials!), { mode: 0o600 });
        }
        const digest = await pushImage({
          ...where,
          ...(authfile ? { authFile: authfile } : {}),
          image: local,
          destination: `${pushedTo}:${tag}`,
          insecure: c.plainHttp,
          digestFile: `${dir}/digest`,
          signal: ctx.signal,
        });
        const served = await getManifest(await access(c, ctx), repository, digest);
        if (!served || served.digest !== digest) {
          throw new Error(`${pushedTo} does not serve ${digest} after the push`);
        }
        ctx.notice(`pushed ${pushedTo}:${tag} (${digest})`);
        return {
          service,
          image: `${identity}:${tag}`,
          repository,
          tag,
          digest,
          reference: `${identity}@${digest}`,
          pushedTo,
          mediaType: served.manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
          size: served.size,
        };
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    });
  const sbom = stage(`sbom:${service}`).needs(build)
    .describe(`CycloneDX SBOM of ${service}'s image as pushed, attached (sha256-<hex>.sbom)`)
    .permissions({ net: [c.registry] })
    .permissions(credentialsGrant(c))
    .timeout("5m")
    .run(async (ctx) => {
      const built = ctx.output(build);
      // Loaded here only: the SBOM library is not needed by the pipeline's other Workers.
      const { attachSbom, imageSbom, readImage } = await import("../../lib/build/sbom.ts");
      const image = await readImage(await access(c, ctx), repository, built.digest);
      const made = imageSbom(image, {
        identity,
        tag,
        tool: { name: "tracktion-deploy build", version: "1" },
      });
      const attached = await attachSbom(await access(c, ctx), repository, {
        mediaType: built.mediaType,
        digest: built.digest,
        size: built.size,
      }, made.json);
      ctx.log(`SBOM ${attached.tag}: ${made.components} files`);
      return {
        tag: attached.tag,
        digest: attached.digest,
        components: made.components,
        format: "CycloneDX 1.6",
      };
    });
  const scan = stage(`scan:${service}`).needs(build)
    .describe(
      `${c.scanners.join(" or ")} on ${service}'s image: critical > ${SCAN_LIMITS.critical} or ` +
        `high > ${SCAN_LIMITS.high} fails${c.scanRequired ? "; no scanner fails" : ""}`,
    )
    .permissions({ run: [...c.scanners], net: [c.registry] })
    .timeout("15m")
    .run(async (ctx) => {
      const built = ctx.output(build);
      const result = await runScanner({
        programs: c.scanners,
        image: `${pushedTo}@${built.digest}`,
        plainHttp: c.plainHttp,
        signal: ctx.signal,
      });
      if ("missing" in result) {
        if (c.scanRequired) {
          throw new Error(`Cannot scan ${built.image}: ${result.missing}: production fails closed`);
        }
        ctx.warn(`not scanned: ${result.missing}`);
        ctx.notice(`warning: ${built.image} not scanned: ${result.missing}`);
        return {
          scanner: null,
          verdict: "not-scanned" as const,
          counts: {},
          message: result.missing,
        };
      }
      const verdict = scanVerdict(result.report, SCAN_LIMITS);
      const counts = { ...result.report.counts };
      const summary = `critical ${counts.critical}, high ${counts.high}, medium ${counts.medium}`;
      if (!verdict.ok) {
        throw new Error(
          `${built.image} fails the scan (${result.scanner}): ${verdict.exceeded.join(", ")}: ` +
            verdict.blocking.slice(0, 5).join(", "),
        );
      }
      ctx.log(`${result.scanner}: ${summary}`);
      return {
        scanner: result.scanner,
        verdict: "passed" as const,
        counts,
        message: `${result.scanner}: ${summary}`,
      };
    });
  const sign = withKey(
    c,
    stage(`sign:${service}`).needs(build, sbom, scan)
      .describe(`sign ${service}'s image and SBOM (cosign's format, ${keyName(c)}), verify back`)
      .permissions({ net: [c.registry] })
      .permissions(credentialsGrant(c))
      .timeout("5m"),
  ).run(async (ctx) => {
    const built = ctx.output(build);
    const attached = ctx.output(sbom);
    const key = await signingKey(c, ctx);
    const a = await access(c, ctx);
    const signed = await signImage(a, repository, built.digest, identity, key);
    const sbomSigned = await signImage(a, repository, attached.digest, identity, key);
    for (const [what, ref] of [["image", built.digest], ["SBOM", attached.digest]] as const) {
      const verdict = await verifyImageSignature(a, repository, ref, key.publicKeyPem);
      if (!verdict.ok) {
        throw new Error(`The ${what}'s signature does not verify: ${verdict.message}`);
      }
    }
    ctx.notice(`signed ${built.reference}`);
    return { tag: signed.tag, sbomTag: sbomSigned.tag, verified: true, identity };
  });
  return { build, sbom, scan, sign };
}
