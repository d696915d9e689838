/**
 * Building, attesting and signing container images without a daemon: `buildah` builds and
 * pushes ({@linkcode buildImage}, {@linkcode pushImage}), the SBOM is CycloneDX made from the
 * image as pushed and attached beside it ({@linkcode readImage}, {@linkcode imageSbom},
 * {@linkcode attachSbom}), the scan is grype's or trivy's report against limits
 * ({@linkcode runScanner}, {@linkcode scanVerdict}), the key is read from where a reference
 * says ({@linkcode readSigningKey}; signing itself is `lib/companions/cosign.ts`), and the
 * build record says what was pushed ({@linkcode buildRecordSchema}).
 *
 * @example
 * ```ts
 * import { parseKeyReference, scanVerdict } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseKeyReference("env:KEY").kind, "env");
 * const counts = { critical: 1, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
 * assert.equal(scanVerdict({ format: "grype", counts, findings: [] }, { critical: 0 }).ok, false);
 * ```
 * @module
 */
export type { SigningKey } from "../companions/cosign.ts";
export type { Descriptor, ImageManifest, RegistryAccess } from "../companions/oci.ts";
export * from "./buildah.ts";
export * from "./record.ts";
export * from "./sbom.ts";
export * from "./scan.ts";
export * from "./signing_key.ts";
