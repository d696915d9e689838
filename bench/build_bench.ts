// Build, sign and push of the fixture service (fixtures/service: FROM scratch, two files) into a
// real docker-registry on loopback: buildah bud + push (vfs storage, a fresh storage each time,
// as the pipeline does per run), then the CycloneDX SBOM attached, then the image and SBOM signed
// and verified back — the library calls the build pipeline's stages make, in one process; and the
// whole pipeline through the CLI for one service and for all four (concurrently), which adds the
// runner, its Workers and the type check skipped.
// `deno bench -A bench/build_bench.ts`; numbers in bench/README.md.
import { startRegistry } from "../tests/checks/_registry.ts";
import { makeKeyPair } from "../tests/build/_build.ts";
import {
  attachSbom,
  buildImage,
  imageSbom,
  importSigningKey,
  pushImage,
  readImage,
} from "../lib/build/mod.ts";
import { signImage, verifyImageSignature } from "../lib/companions/cosign.ts";

const registry = await startRegistry();
const dir = await Deno.makeTempDir({ prefix: "tracktion-bench-build-" });
const { privatePem } = await makeKeyPair();
await Deno.writeTextFile(`${dir}/image.key`, privatePem, { mode: 0o600 });
const key = await importSigningKey(privatePem);
const access = { host: registry.host };
let n = 0;

async function buildOnly(): Promise<string> {
  const where = { root: `${dir}/s${++n}/root`, runroot: `${dir}/s${n}/runroot` };
  try {
    await buildImage({ ...where, context: "fixtures/service", tag: "localhost/app:1.0.0" });
    return await pushImage({
      ...where,
      image: "localhost/app:1.0.0",
      destination: `${registry.host}/team/app:1.0.0`,
      insecure: true,
      digestFile: `${dir}/s${n}/digest`,
    });
  } finally {
    await Deno.remove(`${dir}/s${n}`, { recursive: true });
  }
}

async function sbomAndSign(digest: string): Promise<void> {
  const image = await readImage(access, "team/app", digest);
  const sbom = imageSbom(image, { identity: "ghcr.io/team/app", tag: "1.0.0" });
  const attached = await attachSbom(access, "team/app", {
    mediaType: image.manifest.mediaType!,
    digest,
    size: image.size,
  }, sbom.json);
  await signImage(access, "team/app", digest, "ghcr.io/team/app", key);
  await signImage(access, "team/app", attached.digest, "ghcr.io/team/app", key);
  for (const ref of [digest, attached.digest]) {
    if (!(await verifyImageSignature(access, "team/app", ref, key.publicKeyPem)).ok) {
      throw new Error("signature does not verify");
    }
  }
}

const digest = await buildOnly();

Deno.bench(
  "buildah bud + push (fixture service, fresh vfs storage)",
  { group: "lib" },
  async () => {
    await buildOnly();
  },
);
Deno.bench("SBOM (read layers, CycloneDX, attach) + sign image and SBOM + verify", {
  group: "lib",
}, async () => {
  await sbomAndSign(digest);
});
Deno.bench(
  "build + push + SBOM + sign + verify (library)",
  { group: "lib", baseline: true },
  async () => {
    await sbomAndSign(await buildOnly());
  },
);

async function pipelineRun(services: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "run",
      "pipelines/build.ts",
      "staging",
      "v1.2.4",
      "--option",
      `signing-key=file:${dir}/image.key`,
      "--option",
      "context=fixtures/service",
      "--option",
      `registry=${registry.host}`,
      "--option",
      `services=${services}`,
      "--option",
      `work-dir=${dir}/work`,
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.bench("deno task run pipelines/build.ts staging (1 service)", {
  group: "cli",
  n: 5,
  warmup: 1,
}, async () => {
  await pipelineRun("analysis-service");
});
Deno.bench("deno task run pipelines/build.ts staging (4 services)", {
  group: "cli",
  n: 5,
  warmup: 1,
}, async () => {
  await pipelineRun("analysis-service,file-watcher,tracklist-service,notification-service");
});

globalThis.addEventListener("unload", () => {
  // deno bench has no teardown hook: stop the registry when the process ends.
  registry.stop();
  Deno.removeSync(dir, { recursive: true });
});
