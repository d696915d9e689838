// The production deploy end to end through the real CLI. Each deploy and rollback starts its
// own sandbox on the virtual clock over the state the run before it saved (the canary's hour
// of analysis takes no wall time; a deploy takes the lease a ×60 sandbox's run would:
// VIRTUAL_LEASE), and the cluster is read between runs with the real kubectl against the
// sandbox started from that state (Rehearsal.inspect). One step needs a cluster two runners
// share while one of them is in its canary: that one runs a sandbox of the test's own on a
// scaled real clock, as `deno task sandbox` does (a virtual clock is one process's).
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { Rehearsal, stage, VIRTUAL_LEASE } from "./_deploy.ts";

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
/** A production run on the virtual clock (see VIRTUAL_LEASE). */
const VIRTUAL = [...CONFIRM, ...VIRTUAL_LEASE];
const NS = "tracktion-prod";
const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];

async function weights(r: Rehearsal, service: string): Promise<string> {
  const route = JSON.parse(await r.kubectl("get", "httproute", service, "-n", NS, "-o", "json"));
  const refs = route.spec.rules[0].backendRefs as { name: string; weight: number }[];
  return refs.map((b) => `${b.name.endsWith("blue") ? "blue" : "green"}=${b.weight}`).sort().join(
    ",",
  );
}

async function selector(r: Rehearsal, service: string): Promise<string> {
  return await r.kubectl(
    "get",
    "service",
    service,
    "-n",
    NS,
    "-o",
    "jsonpath={.spec.selector.slot}",
  );
}

/** analysis-service's slot and weights as the saved cluster holds them (read with kubectl). */
async function live(r: Rehearsal): Promise<{ selector: string; weights: string }> {
  return await r.inspect(async () => ({
    selector: await selector(r, "analysis-service"),
    weights: await weights(r, "analysis-service"),
  }));
}

Deno.test({
  name:
    "deploy production: canary passes its gates; faults are rolled back with the evidence in the report",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    /**
     * The version passes staging on a healthy sandbox first, in a run of its own: production's
     * gate needs it, and the run under a fault then finds it there (its rehearsal would deploy
     * it to staging under the fault).
     */
    const staged = async (version: string) => {
      const d = await r.deploy("staging", version, [...VIRTUAL_LEASE]);
      assert.equal(d.code, 0, d.stdout + d.stderr);
    };
    const scenario = (name: string) => ["--scenario", name];
    try {
      await t.step("the first deploy puts all traffic on blue", async () => {
        const d = await r.deploy("production", "v1.0.0", VIRTUAL);
        assert.equal(d.code, 0, d.stdout + d.stderr);
        assert.equal(d.report.status, "succeeded");
        assert.deepEqual(await live(r), { selector: "blue", weights: "blue=100,green=0" });
      });

      await t.step(
        "a healthy version goes 5% → 20% → 100% on green, every gate measured",
        async () => {
          // Healthy: the rehearsal deploys it to staging first, in the same run.
          const d = await r.deploy("production", "v1.1.0", VIRTUAL);
          assert.equal(d.code, 0, d.stdout + d.stderr);
          for (const id of ["canary-5", "canary-20", "full-rollout"]) {
            const s = stage(d, id);
            assert.equal(s.status, "succeeded", `${id}: ${s.reason}`);
            for (const g of s.gates) {
              assert.equal(g.verdict, "passed");
              assert.ok(g.samples.length >= 4 * 5, `${id}: only ${g.samples.length} samples`);
            }
          }
          assert.match(d.stdout, /canary-5: analysis-service: blue 95% \/ green 5%/);
          assert.match(d.stdout, /canary-20: analysis-service: blue 80% \/ green 20%/);
          await r.inspect(async () => {
            for (const service of SERVICES) {
              assert.equal(await selector(r, service), "green");
              assert.equal(await weights(r, service), "blue=0,green=100");
            }
            const blue = JSON.parse(
              await r.kubectl("get", "deployment", "analysis-service-blue", "-n", NS, "-o", "json"),
            );
            assert.ok(
              blue.metadata.annotations["deploy.tracktion.dev/delete-after"],
              "old slot clean-up scheduled",
            );
            const info = JSON.parse(
              await r.kubectl("get", "configmap", "deployment-info", "-n", NS, "-o", "json"),
            );
            assert.equal(info.data.version, "1.1.0");
          });
        },
      );

      await t.step(
        "a version with 3% errors is rolled back at the 5% step, breaching samples reported",
        async () => {
          await staged("v1.2.0");
          const d = await r.deploy("production", "v1.2.0", [
            ...VIRTUAL,
            ...scenario("canary-errors"),
          ]);
          assert.match(d.stdout, /rehearsal: staging already runs v1\.2\.0/);
          assert.equal(d.code, 1, d.stdout);
          assert.equal(d.report.status, "rolled_back");
          const canary = stage(d, "canary-5");
          assert.equal(canary.status, "failed");
          const gate = canary.gates.find((g) => g.verdict === "failed")!;
          assert.match(gate.reason!, /error_rate < 1% breached/);
          assert.ok(
            (gate.samples as { verdict: string; value: number }[]).some((s) =>
              s.verdict === "failed" && s.value >= 1
            ),
          );
          assert.equal(stage(d, "canary-20").status, "skipped");
          assert.equal(stage(d, "rollback").status, "succeeded");
          assert.equal(d.report.rollback.succeeded, true);
          assert.deepEqual(await live(r), { selector: "green", weights: "blue=0,green=100" });
        },
      );

      await t.step("a crash-looping version never receives traffic", async () => {
        await staged("v1.3.0");
        const d = await r.deploy("production", "v1.3.0", [...VIRTUAL, ...scenario("crashloop")]);
        assert.equal(d.code, 1, d.stdout);
        const deploys = d.report.stages.filter((s) => s.id.startsWith("deploy:"));
        const failed = deploys.filter((s) => s.status === "failed");
        assert.ok(failed.length >= 1, JSON.stringify(deploys.map((s) => s.status)));
        assert.match(failed[0]!.reason!, /ProgressDeadlineExceeded|progress deadline/);
        // The others were stopped when the first failed (fail fast).
        assert.ok(deploys.every((s) => s.status === "failed" || s.status === "interrupted"));
        assert.equal(stage(d, "canary-5").status, "skipped");
        assert.deepEqual(await live(r), { selector: "green", weights: "blue=0,green=100" });
      });

      await t.step(
        "an unreachable metrics source fails the gate instead of passing it",
        async () => {
          await staged("v1.4.0");
          const d = await r.deploy("production", "v1.4.0", [
            ...VIRTUAL,
            ...scenario("metrics-down"),
          ]);
          assert.equal(d.code, 1, d.stdout);
          const canary = stage(d, "canary-5");
          assert.equal(canary.status, "failed");
          assert.match(canary.reason!, /could not be measured/);
          assert.ok(
            canary.gates.some((g) =>
              (g.samples as { verdict: string }[]).every((s) => s.verdict === "error")
            ),
          );
          assert.equal((await live(r)).weights, "blue=0,green=100");
        },
      );

      await t.step("a failing pre-flight check blocks the deploy before any change", async () => {
        // Kept to put back as it was: the pods of later steps read its keys.
        const original = await r.inspect(async () => {
          const secret = JSON.parse(
            await r.kubectl("get", "secret", "api-keys", "-n", NS, "-o", "json"),
          );
          await r.kubectl("delete", "secret", "api-keys", "-n", NS);
          return secret;
        });
        const d = await r.deploy("production", "v1.5.0", VIRTUAL);
        assert.equal(d.code, 1);
        assert.equal(d.report.status, "failed");
        assert.equal(stage(d, "preflight:cluster").status, "failed");
        assert.match(stage(d, "preflight:cluster").reason!, /api-keys/);
        for (const id of ["migrate", "deploy:analysis-service", "canary-5", "rollback"]) {
          assert.equal(stage(d, id).status, "skipped", id);
        }
        await r.inspect(async () => {
          const versions = await r.kubectl(
            "get",
            "deployments",
            "-n",
            NS,
            "-L",
            "version",
            "--no-headers",
          );
          assert.doesNotMatch(versions, /1\.5\.0/);
          const secret = `${r.dir}/secret.json`;
          await Deno.writeTextFile(
            secret,
            JSON.stringify({
              apiVersion: "v1",
              kind: "Secret",
              metadata: { name: "api-keys", namespace: NS, labels: original.metadata.labels },
              type: original.type,
              data: original.data,
            }),
          );
          await r.kubectl("apply", "-f", secret);
        });
      });

      await t.step(
        "a second deploy is refused while another holds the environment's lock",
        async () => {
          await r.inspect(async (sandbox) => {
            // Stamped in the cluster's time (a virtual clock runs ahead of the wall), in
            // Kubernetes' MicroTime form: held for 600 s from now, whatever the wall says.
            const now = new Date(sandbox.clock.now()).toISOString().replace("Z", "000Z");
            const lease = {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: "tracktion-deploy", namespace: NS },
              spec: {
                holderIdentity: "alice/other-run",
                leaseDurationSeconds: 600,
                renewTime: now,
                acquireTime: now,
              },
            };
            const file = `${r.dir}/lease.json`;
            await Deno.writeTextFile(file, JSON.stringify(lease));
            await r.kubectl("apply", "-f", file);
          });
          const d = await r.deploy("production", "v1.6.0", VIRTUAL);
          assert.equal(d.code, 1);
          assert.equal(stage(d, "lock").status, "failed");
          // Named: who, which run, since when, until when, and what to do.
          assert.match(
            stage(d, "lock").reason!,
            /held by alice for run other-run since \d{4}-.* until \d{4}-.*deno task resume other-run/,
          );
          assert.equal(stage(d, "preflight:cluster").status, "skipped");
          await r.inspect(() => r.kubectl("delete", "lease", "tracktion-deploy", "-n", NS));
        },
      );

      await t.step({
        name: "a concurrent deploy is refused; SIGINT during the canary rolls back and exits 130",
        fn: async () => {
          // Two runners share one cluster here, as two shells would share `deno task sandbox`:
          // a sandbox of the test's own, on a scaled real clock (a virtual clock is one
          // process's), and the canary's 15 minutes last 15 real seconds at ×60.
          const sandbox = await startSandbox({
            seed: await sandboxSeedFromDir(),
            stateDir: r.sandboxDir,
            timeScale: 60,
            maxRealRate: 400,
          });
          try {
            const child = new Deno.Command(Deno.execPath(), {
              args: r.args("deploy", "production", "v1.7.0", CONFIRM),
              env: { NO_COLOR: "1" },
              stdout: "piped",
              stderr: "null",
            }).spawn();
            const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
            let out = "";
            // The rehearsal deploys v1.7.0 to staging first: wait for production's own 5% step.
            const production = () => out.slice(out.indexOf("rehearsal: now production"));
            // The new slot is blue or green (whichever is idle): either split line.
            const atFive = /canary-5: analysis-service: blue (5|95)% \/ green (95|5)%/;
            while (!out.includes("rehearsal: now production") || !atFive.test(production())) {
              const { value, done } = await reader.read();
              if (done) throw new Error(`the deploy ended before its 5% step:\n${out}`);
              out += value;
            }
            // Meanwhile a second deploy of the same environment is refused by the lock (the
            // same version: staging runs it, so production's staging gate lets it through).
            const second = await r.deploy("production", "v1.7.0", [
              ...CONFIRM,
              "--option",
              "rehearse-staging=no",
            ]);
            assert.equal(second.code, 1, second.stdout);
            assert.equal(stage(second, "lock").status, "failed");
            assert.match(
              stage(second, "lock").reason!,
              /tracktion-deploy: held by .* for run \S+ since .* until /,
            );
            assert.equal(stage(second, "deploy:analysis-service").status, "skipped");
            child.kill("SIGINT");
            while (true) {
              const { value, done } = await reader.read();
              if (done) break;
              out += value;
            }
            const status = await child.status;
            assert.equal(status.code, 130, out);
            const report = JSON.parse(
              await Deno.readTextFile(out.trimEnd().split("\n").at(-1)!.slice(8)),
            );
            assert.equal(report.status, "interrupted");
            assert.equal(report.rollback.succeeded, true);
            assert.equal(await weights(r, "analysis-service"), "blue=0,green=100");
          } finally {
            await sandbox.stop();
          }
        },
      });

      await t.step({
        name: "rollback on demand puts traffic back on the previous slot",
        fn: async () => {
          const d = await r.rollback("production", CONFIRM);
          assert.equal(d.code, 0, d.stdout + d.stderr);
          assert.deepEqual(await live(r), { selector: "blue", weights: "blue=100,green=0" });
        },
      });
    } finally {
      await r.remove();
    }
  },
});
