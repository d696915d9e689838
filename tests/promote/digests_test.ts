/**
 * The deploy pins its images to the build's digests (`--option digests=...`,
 * `pipelines/stages/images.ts`): production outside the sandbox requires them (its pre-flight
 * check fails closed without them, and verifies the digest's signature with the environment's
 * `deployment.image_signing` keys), a malformed or partial `digests` exits 2 before anything
 * runs, and so does a bad `image_signing` key — nothing started, nothing written.
 * @module
 */
import assert from "node:assert/strict";
import { prepareRun } from "../../lib/runner/mod.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { deployContext } from "../../pipelines/stages/context.ts";
import { buildDigestsCheck } from "../../pipelines/stages/images.ts";
import { fakeContext } from "../checks/_support.ts";
import { cli, workDir } from "./_promote.ts";

const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const ALL = SERVICES.map((s, i) => `${s}=${digest(String(i + 1))}`).join(",");

async function preflightImages(options: Record<string, string>) {
  const prepared = await prepareRun({
    pipelineFile: "pipelines/deploy.ts",
    environment: "production",
    version: "v1.2.4",
    skipTypeCheck: true,
    options,
  });
  return prepared.stages.find((s) => s.id === "preflight:images")!;
}

Deno.test("deploy production: pre-flight requires the build's digests outside the sandbox, verifies them by key", async () => {
  const plain = await preflightImages({});
  const pinnedCheck = plain.checks.find((c) => c.name === "Images pinned to the build's digests");
  assert.equal(pinnedCheck?.required, true);
  const pinned = await preflightImages({ digests: ALL });
  const names = pinned.checks.map((c) => c.name);
  for (const [i, s] of SERVICES.entries()) {
    const image = `ghcr.io/tracktion/${s}:1.2.4@${digest(String(i + 1))}`;
    assert.ok(names.includes(`Image exists: ${image}`), names.join("\n"));
    assert.ok(names.includes(`Image signature valid: ${image}`));
  }
  // In the sandbox, by tag is a rehearsal with stand-ins: a warning, not a refusal.
  const sandbox = await preflightImages({ target: "sandbox" });
  assert.equal(
    sandbox.checks.find((c) => c.name === "Images pinned to the build's digests")?.required,
    false,
  );

  const env = await loadEnvironment("production");
  const c = deployContext(env, { version: "1.2.4", tag: "v1.2.4" } as never, {});
  const refused = await buildDigestsCheck(c.build, "production", { required: true })
    .run(fakeContext());
  assert.equal(refused.ok, false);
  assert.match(refused.message, /production deploys only what a build recorded/);
  const d = deployContext(env, { version: "1.2.4", tag: "v1.2.4" } as never, { digests: ALL });
  assert.equal(d.images["file-watcher"], `ghcr.io/tracktion/file-watcher:1.2.4@${digest("2")}`);
  assert.equal(d.taggedImages["file-watcher"], "ghcr.io/tracktion/file-watcher:1.2.4");
  assert.equal(
    (await buildDigestsCheck(d.build, "production", { required: true }).run(fakeContext())).ok,
    true,
  );
});

Deno.test("deploy: a malformed or partial --option digests, or a bad image_signing key, exits 2 with nothing started", async () => {
  const dir = await workDir("promote-digests-");
  try {
    const where = [
      "--skip-type-check",
      "--sandbox",
      "--sandbox-dir",
      `${dir}/sb`,
      "--runs-dir",
      `${dir}/runs`,
      "--environments-dir",
      `${dir}/envs`,
    ];
    const partial = await cli([
      "deploy",
      "staging",
      "v1.2.4",
      ...where,
      "--option",
      `digests=analysis-service=${digest("a")}`,
    ]);
    assert.equal(partial.code, 2, partial.stdout + partial.stderr);
    assert.match(partial.stderr, /missing: file-watcher, tracklist-service, notification-service/);
    const malformed = await cli([
      "deploy",
      "staging",
      "v1.2.4",
      ...where,
      "--option",
      `digests=${ALL.replace(digest("1"), "sha256:abc")}`,
    ]);
    assert.equal(malformed.code, 2, malformed.stdout + malformed.stderr);
    assert.match(malformed.stderr, /takes <service>=sha256:<64 hex>/);

    // A key that is not a P-256 public key: refused when the file is read.
    const file = `${dir}/envs/staging.yml`;
    const text = await Deno.readTextFile(file);
    const broken = text.replace(/MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/, "MCowBQYDK2VwAyEA");
    assert.notEqual(broken, text);
    await Deno.writeTextFile(file, broken);
    const badKey = await cli(["deploy", "staging", "v1.2.4", ...where]);
    assert.equal(badKey.code, 2, badKey.stdout + badKey.stderr);
    assert.match(badKey.stderr, /deployment\.image_signing\.public_keys\.0/);
    assert.match(badKey.stderr, /ECDSA P-256 public key in PEM/);
    // Nothing started or written: no sandbox state, no run.
    for (const d of ["sb", "runs"]) {
      assert.equal(await Deno.stat(`${dir}/${d}`).then(() => true, () => false), false, d);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
