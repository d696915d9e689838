/**
 * Tracktion's "Build & Package" (the runbook's `build_and_package.sh`), as code:
 *
 * `build:inputs` (the signing key, buildah, every Containerfile, the registry — before anything
 * is built) → per service, concurrently: `build:<s>` (buildah bud + push, no daemon) →
 * `sbom:<s>` (CycloneDX of the image as pushed, attached as `sha256-<hex>.sbom`) and
 * `scan:<s>` (grype or trivy: critical > 0 or high > 5 fails; without a scanner production
 * fails closed, elsewhere it warns) → `sign:<s>` (cosign's format, the image and its SBOM,
 * verified back) → `build:record` (every digest, the digest-pinned reference to deploy, the
 * SBOMs, signatures and scans: the build record).
 *
 * ```sh
 * deno task run pipelines/build.ts development v1.2.4 --option signing-key=file:image-signing.key \
 *   --option context=fixtures/service --option registry=127.0.0.1:5000 --option record=build.json
 * ```
 *
 * Options and outputs: docs/build.md.
 * @module
 */
import { pipeline } from "../mod.ts";
import { buildContext } from "./stages/build.ts";
import { inputsStage, serviceStages } from "./stages/build_stages.ts";
import { BUILD_RECORD_STAGE, recordStage } from "./stages/build_record.ts";
import { type BuildRecord, checkBuildRecord } from "../lib/build/record.ts";

export { BUILD_OPTIONS, SCAN_LIMITS } from "./stages/build.ts";
export { BUILD_RECORD_STAGE };
export type { BuildRecord };

/**
 * The build record of a finished build run, from its report (the output of `build:record`).
 *
 * @param report A run's report (`report.json`, or `executeRun`'s `outcome.report`).
 * @returns The record, or undefined when the run did not get that far.
 * @throws {SyntaxError} When the stage's output is not a build record.
 *
 * @example
 * ```ts
 * import { buildRecordOf } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.equal(buildRecordOf({ stages: [{ id: "build:inputs", output: {} }] }), undefined);
 * ```
 */
export function buildRecordOf(
  report: { readonly stages: readonly { readonly id: string; readonly output?: unknown }[] },
): BuildRecord | undefined {
  const output = report.stages.find((s) => s.id === BUILD_RECORD_STAGE)?.output;
  if (output === undefined || output === null) return undefined;
  return checkBuildRecord(output, `(the output of ${BUILD_RECORD_STAGE})`);
}

export default pipeline("build", ({ env, version, options }) => {
  const c = buildContext(env, version!, options);
  const inputs = inputsStage(c);
  const services = c.services.map((service) => ({
    service,
    ...serviceStages(c, service, inputs),
  }));
  const record = recordStage(c, inputs, services);
  return [
    inputs,
    ...services.flatMap((s) => [s.build, s.sbom, s.scan, s.sign]),
    record,
  ];
});
