/**
 * The build record: what a build pushed, per service — the digest, the digest-pinned
 * reference to deploy, the SBOM and the signatures attached to it, the scan's verdict — and
 * the public key its signatures verify with. It is the build pipeline's last output, what a
 * deploy pins its images to, and what a promotion hands from one step to the next.
 * @module
 */
import { z } from "zod";

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 hex digits>");

/** One image of a build record. */
export interface ImageRecord {
  /** The name as published and signed, with its tag (`ghcr.io/team/app:1.2.4`). */
  readonly image: string;
  /** The same, pinned to its digest (`ghcr.io/team/app@sha256:...`): what to deploy. */
  readonly reference: string;
  /** The manifest digest. */
  readonly digest: string;
  /** `host:port/repository` it was pushed to. */
  readonly pushedTo: string;
  /** The SBOM attached to it. */
  readonly sbom: {
    readonly tag: string;
    readonly digest: string;
    readonly format: string;
    readonly components: number;
    readonly signatureTag: string;
  };
  /** Its signature (cosign's format). */
  readonly signature: { readonly tag: string; readonly verified: boolean };
  /** The scan's verdict. */
  readonly scan: {
    readonly scanner: string | null;
    readonly verdict: "passed" | "failed" | "not-scanned";
    readonly counts: Readonly<Record<string, number>>;
    readonly message: string;
  };
}

const imageRecordSchema: z.ZodType<ImageRecord> = z.strictObject({
  image: z.string(),
  reference: z.string(),
  digest,
  pushedTo: z.string(),
  sbom: z.strictObject({
    tag: z.string(),
    digest,
    format: z.string(),
    components: z.number().int().nonnegative(),
    signatureTag: z.string(),
  }),
  signature: z.strictObject({ tag: z.string(), verified: z.boolean() }),
  scan: z.strictObject({
    scanner: z.string().nullable(),
    verdict: z.enum(["passed", "failed", "not-scanned"]),
    counts: z.record(z.string(), z.number().int().nonnegative()),
    message: z.string(),
  }),
});

/** A build record. */
export interface BuildRecord {
  /** `build-record/v1`. */
  readonly schema: "build-record/v1";
  /** The environment built for. */
  readonly environment: string;
  /** Its namespace. */
  readonly namespace: string;
  /** The version (`1.2.4`). */
  readonly version: string;
  /** `host:port` the images were pushed to. */
  readonly registry: string;
  /** Pushed to a sandbox's companion registry. */
  readonly sandbox: boolean;
  /** The public key (SPKI PEM) the signatures verify with: `cosign verify --key` takes it. */
  readonly publicKey: string;
  /** `sha256:<hex>` of the public key's DER. */
  readonly keyFingerprint: string;
  /** The build tool's version line. */
  readonly builder: string;
  /** The images, by service. */
  readonly images: Readonly<Record<string, ImageRecord>>;
}

const buildRecordSchema: z.ZodType<BuildRecord> = z.strictObject({
  schema: z.literal("build-record/v1"),
  environment: z.string(),
  namespace: z.string(),
  version: z.string(),
  registry: z.string(),
  sandbox: z.boolean(),
  publicKey: z.string(),
  keyFingerprint: digest,
  builder: z.string(),
  images: z.record(z.string(), imageRecordSchema),
});

/**
 * Checks a value is a build record (e.g. a run report's stage output).
 *
 * @param value The value.
 * @param source Where it came from, for the message.
 * @returns The record.
 * @throws {SyntaxError} When it is not a build record (naming the first wrong field).
 *
 * @example
 * ```ts
 * import { checkBuildRecord } from "./record.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkBuildRecord({ schema: "build-record/v1" }, "a report"), /environment/);
 * ```
 */
export function checkBuildRecord(value: unknown, source: string): BuildRecord {
  const parsed = buildRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SyntaxError(
      `Cannot read the build record ${source}: ${
        issue.path.join(".") || "(top)"
      }: ${issue.message}`,
    );
  }
  return parsed.data;
}

/**
 * Reads a build record (JSON text), checked against its schema.
 *
 * @param text The record's JSON.
 * @param source Where it came from, for the message.
 * @returns The record.
 * @throws {SyntaxError} When it is not JSON or not a build record (naming the field).
 *
 * @example
 * ```ts
 * import { parseBuildRecord } from "./record.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseBuildRecord('{"schema":"other"}', "build.json"), SyntaxError);
 * ```
 */
export function parseBuildRecord(text: string, source: string): BuildRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SyntaxError(`Cannot read the build record ${source}: it is not JSON`);
  }
  return checkBuildRecord(doc, source);
}

/**
 * A build record's digests as a deploy's `--option digests=` takes them, for the version
 * about to be deployed: what `deno task promote` hands every step after the build.
 *
 * @param record The build record.
 * @param version The version being deployed (`1.2.4` or `v1.2.4`).
 * @returns `<service>=sha256:<hex>,...`.
 * @throws {RangeError} When the record is of another version.
 *
 * @example
 * ```ts
 * import { type BuildRecord, recordDigests } from "./record.ts";
 * import assert from "node:assert/strict";
 * const record = { version: "1.2.4", images: { api: { digest: "sha256:ab" } } } as unknown as BuildRecord;
 * assert.equal(recordDigests(record, "v1.2.4"), "api=sha256:ab");
 * assert.throws(() => recordDigests(record, "1.2.5"), RangeError);
 * ```
 */
export function recordDigests(record: BuildRecord, version: string): string {
  if (record.version !== version.replace(/^v/, "")) {
    throw new RangeError(
      `The build recorded version ${record.version}, not ${version}: refusing to deploy it`,
    );
  }
  return Object.entries(record.images).map(([s, i]) => `${s}=${i.digest}`).join(",");
}
