/**
 * `--sandbox`: the build pushes to the namespace's companion registry (a real
 * `docker-registry` the sandbox starts beside itself) and makes its key one that registry's
 * images verify with; production's pre-flight signature check in that sandbox — the check as
 * `pipelines/stages/preflight.ts` builds it, from the `sandbox-companions` ConfigMap — then
 * verifies the image built, still verifies the stand-ins the sandbox signed itself, and refuses
 * the built image once a layer is changed and re-pushed under its tag. The build runs in the
 * sandbox's process, as `deno task promote` runs build and deploy in one sandbox.
 * @module
 */
import assert from "node:assert/strict";
import { executeRun, prepareRun } from "../../lib/runner/mod.ts";
import { connect, sandboxTarget } from "../../lib/targets/mod.ts";
import {
  type ConfigMapReader,
  type PublishedRegistry,
  readCompanions,
} from "../../lib/companions/discover.ts";
import { getManifest, pushBlob, putManifest } from "../../lib/companions/oci.ts";
import { imageSignature } from "../../checks/images.ts";
import { buildRecordOf } from "../../pipelines/build.ts";
import { fakeContext } from "../checks/_support.ts";
import { buildahTest, makeKeyPair } from "./_build.ts";

const NO_REGISTRY = await new Deno.Command("docker-registry", { args: ["--version"] }).output()
  .then((o) => !o.success, () => true);

buildahTest(
  "build --sandbox: production's pre-flight in that sandbox verifies the image built, refuses it tampered",
  async (t) => {
    if (NO_REGISTRY) {
      t.step({
        name: "docker-registry is not installed (Debian's package docker-registry)",
        ignore: true,
        fn: () => {},
      });
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "build_sandbox_" });
    const stateDir = `${dir}/sandbox`;
    const sandbox = await sandboxTarget({
      stateDir,
      companionScope: stateDir,
      version: "1.2.4",
      namespace: "tracktion-prod",
      reset: true,
    });
    try {
      const { privatePem } = await makeKeyPair();
      await Deno.writeTextFile(`${dir}/image.key`, privatePem, { mode: 0o600 });
      const prepared = await prepareRun({
        pipelineFile: "pipelines/build.ts",
        environment: "production",
        version: "v1.2.4",
        skipTypeCheck: true,
        protectedPaths: [stateDir],
        clock: sandbox.clock,
        options: {
          target: "sandbox",
          "companion-scope": stateDir,
          "signing-key": `file:${dir}/image.key`,
          context: "fixtures/service",
          services: "analysis-service",
          "work-dir": `${dir}/work`,
        },
      });
      const connection = connect({
        env: prepared.env,
        sandbox,
        dryRun: false,
        redactor: prepared.redactor,
        metrics: prepared.metrics,
        resources: prepared.stages.flatMap((s) => s.uses),
        log: () => {},
      });
      let record;
      try {
        const outcome = await executeRun(prepared, {
          runsDir: `${dir}/runs`,
          approve: () => Promise.reject(new Error("no approvals in a build")),
          capabilities: connection.capabilities,
          analyze: connection.analyze,
          failure: connection.failure,
          target: connection.target,
          clock: sandbox.clock,
          user: "tester",
        });
        assert.equal(outcome.report.status, "succeeded", outcome.report.error ?? "");
        record = buildRecordOf(outcome.report)!;
      } finally {
        await connection.close();
      }
      assert.equal(record.sandbox, true);

      // What production's pre-flight reads, and the check it builds from it.
      const kube = connection.capabilities.kubernetes as unknown as ConfigMapReader;
      void kube;
      const api: ConfigMapReader = {
        get: async (_kind, namespace, name) => {
          const res = await sandbox.handle!(
            new Request(`http://sandbox/api/v1/namespaces/${namespace}/configmaps/${name}`, {
              headers: { authorization: `Bearer ${sandbox.token}` },
            }),
          );
          return res.ok ? await res.json() : (await res.body?.cancel(), null);
        },
      };
      const registry = (await readCompanions(api, "tracktion-prod"))?.registry as PublishedRegistry;
      assert.equal(record.registry, registry.host);
      const check = (image: string) =>
        imageSignature(image, {
          required: true,
          publicKey: registry.publicKey,
          mirror: registry.host,
        })
          .run(fakeContext());
      const built = record.images["analysis-service"]!;
      const ok = await check(built.image);
      assert.equal(ok.ok, true, ok.message);
      assert.equal(ok.evidence?.digest, built.digest);
      assert.ok(
        registry.images.some((i) =>
          i.repository === "tracktion/analysis-service" && i.digest === built.digest
        ),
      );
      // A service not built keeps the stand-in the sandbox signed with its own key.
      const standIn = await check("ghcr.io/tracktion/file-watcher:1.2.4");
      assert.equal(standIn.ok, true, standIn.message);

      // Tampered after signing, re-pushed under the tag: refused.
      const access = { host: registry.host };
      const found = (await getManifest(access, "tracktion/analysis-service", "1.2.4"))!;
      const layer = await pushBlob(
        access,
        "tracktion/analysis-service",
        new TextEncoder().encode("tampered"),
      );
      await putManifest(access, "tracktion/analysis-service", "1.2.4", {
        ...found.manifest,
        layers: [{ ...found.manifest.layers[0]!, ...layer }],
      });
      const refused = await check(built.image);
      assert.equal(refused.ok, false);
      assert.match(refused.message, /is not signed/);
    } finally {
      await sandbox.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
