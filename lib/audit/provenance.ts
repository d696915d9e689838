/**
 * A run's provenance: an in-toto Statement v1 whose subjects are the images the run deployed
 * (with the sha256 digests the registry gave for them), with a SLSA Provenance v1 predicate —
 * the build definition is the pipeline, the environment and the version (external
 * parameters), the run's id and target (internal), and the git commit and image digests it
 * resolved; the run details name this runner as the builder, the run as the invocation, and
 * the run's record (report, journal, signature) as byproducts. Signed as a DSSE envelope
 * (`application/vnd.in-toto+json`) with the run's key.
 * @module
 */
import { canonicalJson } from "../approval/signatures.ts";
import { ANNOTATION_PREFIX, TOOL_NAME } from "../product/mod.ts";
import { type Envelope, signEnvelope } from "./dsse.ts";
import { fileSha256, SIGNATURE_FILE } from "./run_statement.ts";
import type { RunSigningKey } from "./signing_key.ts";

/**
 * The payload type of an in-toto envelope.
 *
 * @example
 * ```ts
 * import { IN_TOTO_PAYLOAD_TYPE } from "./provenance.ts";
 * console.assert(IN_TOTO_PAYLOAD_TYPE === "application/vnd.in-toto+json");
 * ```
 */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/**
 * The `buildType` of this runner's provenance: a deploy run as the runner records it.
 *
 * @example
 * ```ts
 * import { BUILD_TYPE } from "./provenance.ts";
 * console.assert(BUILD_TYPE.startsWith("https://"));
 * ```
 */
export const BUILD_TYPE = `https://${ANNOTATION_PREFIX}/provenance/run/v1`;

/**
 * The `runDetails.builder.id` of this runner.
 *
 * @example
 * ```ts
 * import { BUILDER_ID } from "./provenance.ts";
 * console.assert(BUILDER_ID.endsWith("/runner"));
 * ```
 */
export const BUILDER_ID = `https://${ANNOTATION_PREFIX}/${TOOL_NAME}/runner`;

/**
 * An in-toto resource descriptor (the fields used here).
 *
 * @example
 * ```ts
 * import type { ResourceDescriptor } from "./provenance.ts";
 * const r: ResourceDescriptor = { name: "ghcr.io/acme/api:1.2.4", digest: { sha256: "0".repeat(64) } };
 * ```
 */
export interface ResourceDescriptor {
  /** A stable name (an image reference, a file name). */
  readonly name?: string;
  /** A URI naming it. */
  readonly uri?: string;
  /** Its digests, by algorithm (`sha256`, `gitCommit`), hex. */
  readonly digest?: Readonly<Record<string, string>>;
  /** Its media type. */
  readonly mediaType?: string;
  /** More about it. */
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/**
 * An in-toto Statement v1 with a SLSA Provenance v1 predicate.
 *
 * @example
 * ```ts
 * import type { ProvenanceStatement } from "./provenance.ts";
 * const subjects = (s: ProvenanceStatement) => s.subject.map((x) => x.name);
 * ```
 */
export interface ProvenanceStatement {
  /** `https://in-toto.io/Statement/v1`. */
  readonly _type: "https://in-toto.io/Statement/v1";
  /** The images the run deployed. */
  readonly subject: readonly ResourceDescriptor[];
  /** `https://slsa.dev/provenance/v1`. */
  readonly predicateType: "https://slsa.dev/provenance/v1";
  /** The SLSA provenance. */
  readonly predicate: {
    readonly buildDefinition: {
      readonly buildType: string;
      readonly externalParameters: Readonly<Record<string, unknown>>;
      readonly internalParameters: Readonly<Record<string, unknown>>;
      readonly resolvedDependencies: readonly ResourceDescriptor[];
    };
    readonly runDetails: {
      readonly builder: { readonly id: string; readonly version: Readonly<Record<string, string>> };
      readonly metadata: {
        readonly invocationId: string;
        readonly startedOn: string;
        readonly finishedOn: string;
      };
      readonly byproducts: readonly ResourceDescriptor[];
    };
  };
}

/**
 * What of a run's report the provenance is made of.
 *
 * @example
 * ```ts
 * import type { ProvenanceReport } from "./provenance.ts";
 * const r: ProvenanceReport = {
 *   runId: "r1", environment: "staging", pipeline: { name: "deploy", file: "pipelines/deploy.ts" },
 *   status: "succeeded", dryRun: false, startedAt: "2026-01-01T00:00:00.000Z",
 *   finishedAt: "2026-01-01T00:01:00.000Z", git: { commit: null, dirty: false, branch: null },
 *   target: {}, stages: [], events: { file: "events.jsonl", count: 1, digest: "0".repeat(64) },
 * };
 * ```
 */
export interface ProvenanceReport {
  /** The run's id. */
  readonly runId: string;
  /** Its environment. */
  readonly environment: string;
  /** Its pipeline (name and file). */
  readonly pipeline: { readonly name: string; readonly file: string };
  /** The version it deployed. */
  readonly version?: string | undefined;
  /** How it ended. */
  readonly status: string;
  /** Whether it was a dry run. */
  readonly dryRun: boolean;
  /** When it started (ISO 8601). */
  readonly startedAt: string;
  /** When it finished (ISO 8601). */
  readonly finishedAt: string;
  /** The commit it ran from. */
  readonly git: {
    readonly commit: string | null;
    readonly dirty: boolean;
    readonly branch: string | null;
  };
  /** Where it went (`kind`, `cluster`, `namespace`). */
  readonly target: { readonly [key: string]: unknown };
  /** Its stages: their checks' evidence names the images and their digests. */
  readonly stages: readonly {
    readonly checks?: readonly { readonly evidence?: unknown }[] | undefined;
  }[];
  /** Its journal: file, length, final digest. */
  readonly events: { readonly file: string; readonly count: number; readonly digest: string };
}

/**
 * The images a run names with their registry digests (the pre-flight's image checks record
 * `image` and `digest` as evidence), each once, sorted.
 *
 * @param report The run's report.
 * @returns `{ image, sha256 }` per image (hex, no `sha256:` prefix).
 *
 * @example
 * ```ts
 * import { deployedImages } from "./provenance.ts";
 * import assert from "node:assert/strict";
 * const evidence = { image: "ghcr.io/acme/api:1.2.4", digest: `sha256:${"a".repeat(64)}` };
 * assert.deepEqual(deployedImages({ stages: [{ checks: [{ evidence }] }] }), [
 *   { image: "ghcr.io/acme/api:1.2.4", sha256: "a".repeat(64) },
 * ]);
 * ```
 */
export function deployedImages(
  report: Pick<ProvenanceReport, "stages">,
): { image: string; sha256: string }[] {
  const found = new Map<string, string>();
  for (const s of report.stages) {
    for (const c of s.checks ?? []) {
      const e = c.evidence as { image?: unknown; digest?: unknown } | undefined;
      const digest = typeof e?.digest === "string"
        ? /^sha256:([0-9a-f]{64})$/.exec(e.digest)
        : null;
      if (typeof e?.image === "string" && digest) found.set(e.image, digest[1]!);
    }
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([image, sha256]) => ({
    image,
    sha256,
  }));
}

/**
 * The provenance of a run, from its folder (the byproducts' digests) and its report.
 *
 * @param runDir The run's folder.
 * @param report Its report.
 * @param o `repository`: the git repository (`owner/name`, GitHub), for the commit's URI.
 * @returns The statement.
 * @throws {RangeError} When the run names no image with its digest: nothing to attest.
 *
 * @example
 * ```ts ignore
 * const statement = await provenanceOf(outcome.runDir, outcome.report, { repository: "acme/shop" });
 * ```
 */
export async function provenanceOf(
  runDir: string,
  report: ProvenanceReport,
  o: { repository?: string | undefined } = {},
): Promise<ProvenanceStatement> {
  const images = deployedImages(report);
  if (images.length === 0) {
    throw new RangeError(
      `run ${report.runId} names no image with its digest (its pre-flight's image checks record ` +
        "them): there is nothing to attest",
    );
  }
  const source: ResourceDescriptor[] = report.git.commit
    ? [{
      name: "source",
      ...(o.repository
        ? { uri: `git+https://github.com/${o.repository}@${report.git.commit}` }
        : {}),
      digest: { gitCommit: report.git.commit },
      annotations: {
        dirty: report.git.dirty,
        ...(report.git.branch ? { branch: report.git.branch } : {}),
      },
    }]
    : [];
  const byproducts: ResourceDescriptor[] = [
    { name: "report.json", digest: { sha256: await fileSha256(`${runDir}/report.json`) } },
    {
      name: report.events.file,
      digest: { sha256: await fileSha256(`${runDir}/${report.events.file}`) },
      annotations: { events: report.events.count, lastLineSha256: report.events.digest },
    },
  ];
  const signature = await fileSha256(`${runDir}/${SIGNATURE_FILE}`).catch(() => null);
  if (signature) byproducts.push({ name: SIGNATURE_FILE, digest: { sha256: signature } });
  const target = report.target as Record<string, unknown>;
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: images.map((i) => ({ name: i.image, digest: { sha256: i.sha256 } })),
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          pipeline: report.pipeline,
          environment: report.environment,
          ...(report.version !== undefined ? { version: report.version } : {}),
        },
        internalParameters: {
          runId: report.runId,
          status: report.status,
          dryRun: report.dryRun,
          target: Object.fromEntries(
            ["kind", "cluster", "namespace"].filter((k) => typeof target[k] === "string")
              .map((k) => [k, target[k]]),
          ),
        },
        resolvedDependencies: [
          ...source,
          ...images.map((i) => ({
            name: i.image,
            uri: `oci://${i.image}`,
            digest: { sha256: i.sha256 },
          })),
        ],
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { deno: Deno.version.deno } },
        metadata: {
          invocationId: report.runId,
          startedOn: report.startedAt,
          finishedOn: report.finishedAt,
        },
        byproducts,
      },
    },
  };
}

/**
 * Signs a provenance statement into a DSSE envelope (`application/vnd.in-toto+json`).
 *
 * @param statement The statement.
 * @param key The run's key.
 * @returns The envelope (its payload is the statement's canonical JSON).
 *
 * @example
 * ```ts ignore
 * const envelope = await signProvenance(await provenanceOf(runDir, report), key);
 * ```
 */
export async function signProvenance(
  statement: ProvenanceStatement,
  key: RunSigningKey,
): Promise<Envelope> {
  return await signEnvelope(
    key.privateKey,
    key.publicKey,
    IN_TOTO_PAYLOAD_TYPE,
    canonicalJson(statement),
  );
}
