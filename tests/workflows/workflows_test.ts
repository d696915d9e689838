/**
 * What the workflows promise, read from their YAML: CI runs `.ci/run`; the deployment pipeline
 * has the build and a job per environment, in the train's order, each a leg of `deno task promote`; a leg's
 * job runs in the GitHub environment of its name (production's required reviewers), in a
 * concurrency group of its own that queues (never cancels) a deploy, uploads the runs as an
 * artefact and renders their reports into the job summary whatever happened; every action is
 * pinned by a full commit SHA with its version beside it; the release compiles and attaches
 * the single binary.
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "yaml";

type Json = Record<string, unknown>;
const read = async (name: string) =>
  parse(await Deno.readTextFile(`.github/workflows/${name}`)) as Json;
const jobs = (w: Json) => w.jobs as Record<string, Json>;
const steps = (job: Json) => job.steps as Json[];

Deno.test("ci.yml runs .ci/run on push, pull request and when called", async () => {
  const ci = await read("ci.yml");
  assert.deepEqual(Object.keys(ci.on as Json).sort(), ["pull_request", "push", "workflow_call"]);
  const job = jobs(ci).ci!;
  assert.ok(steps(job).some((s) => s.run === "bash .ci/run"));
});

Deno.test("deploy.yml: a job per environment in the train's order, each a leg of promote", async () => {
  const deploy = await read("deploy.yml");
  const j = jobs(deploy);
  assert.deepEqual(Object.keys(j), ["ci", "build", "development", "staging", "production"]);
  assert.equal(j.ci!.uses, "./.github/workflows/ci.yml");
  for (const leg of ["build", "development", "staging", "production"]) {
    assert.equal(j[leg]!.uses, "./.github/workflows/promote-leg.yml", leg);
    assert.equal((j[leg]!.with as Json).leg, leg);
  }
  assert.equal(j.build!.needs, "ci");
  assert.deepEqual(j.development!.needs, ["ci", "build"]);
  assert.deepEqual(j.staging!.needs, ["ci", "development"]);
  assert.deepEqual(j.production!.needs, ["ci", "staging"]);
  // The train's order is pipelines/promote.ts's.
  const { promotion } = await import("../../pipelines/promote.ts");
  assert.deepEqual(promotion.legs.map((l) => l.environment), [
    "development",
    "staging",
    "production",
  ]);
});

Deno.test("promote-leg.yml: the leg's environment, a queueing concurrency group, reports kept", async () => {
  const leg = await read("promote-leg.yml");
  const job = jobs(leg).promote!;
  assert.equal(job.environment, "${{ inputs.leg }}");
  assert.deepEqual(job.concurrency, {
    group: "deploy-${{ inputs.leg }}",
    "cancel-in-progress": false,
  });
  const s = steps(job);
  const promote = s.find((x) => String(x.run ?? "").includes("task promote"))!;
  assert.match(String(promote.run), /--from "\$LEG" --to "\$LEG" --out /);
  assert.match(String(promote.run), /--confirm "DEPLOY TO PRODUCTION" --approvals github/);
  assert.match(String(promote.run), /--build-option signing-key=env:IMAGE_SIGNING_KEY/);
  const summary = s.find((x) => String(x.run ?? "").includes("GITHUB_STEP_SUMMARY"))!;
  assert.equal(summary.if, "always()");
  assert.match(String(summary.run), /task report render "\$run" --md --out -/);
  const upload = s.find((x) => String(x.uses ?? "").startsWith("actions/upload-artifact@"))!;
  assert.equal(upload.if, "always()");
  assert.match(String((upload.with as Json).path), /\.tracktion\/runs\//);
});

Deno.test("every action is pinned by a full commit SHA, its version in a comment", async () => {
  for await (const entry of Deno.readDir(".github/workflows")) {
    const text = await Deno.readTextFile(`.github/workflows/${entry.name}`);
    for (const m of text.matchAll(/uses: ([^\s]+)(.*)$/gm)) {
      if (m[1]!.startsWith("./")) continue;
      assert.match(m[1]!, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${entry.name}: ${m[1]}`);
      assert.match(m[2]!, /^ # v\d+\.\d+\.\d+$/, `${entry.name}: ${m[0]}`);
    }
  }
});

Deno.test("release.yml compiles the binary and attaches it to the release", async () => {
  const release = await read("release.yml");
  const binary = jobs(release).binary!;
  assert.equal(binary.needs, "release");
  const runs = steps(binary).map((s) => String(s.run ?? "")).join("\n");
  assert.match(runs, /deno@2\.9\.6 task compile --out dist\/tracktion-deploy-x86_64-linux/);
  assert.match(runs, /gh release upload "\$TAG" dist\/tracktion-deploy-x86_64-linux/);
});
