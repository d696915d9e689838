// Pods that need their configuration, rehearsed end to end through the real CLI: a key the
// manifests reference deleted from the sandbox's Secret (with the real kubectl) keeps the new
// pods from starting, the rollout fails naming the cause, and traffic stays where it was;
// and `deno task rollback` scales the slot it leaves to 0 replicas.
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import { Rehearsal, stage } from "./_deploy.ts";

const ENV = "staging";
const NS = "tracktion-staging";
const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];

/** With the sandbox of `r` running (from its saved state), run `fn`, then stop it. */
async function withRunning<T>(r: Rehearsal, fn: () => Promise<T>): Promise<T> {
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir: r.sandboxDir,
    timeScale: 60,
    trafficRate: 0,
  });
  try {
    return await fn();
  } finally {
    await sandbox.stop();
  }
}

type Obj = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { replicas?: number; selector?: Record<string, string> };
};

/** Per service: the slot its Service selects, and each slot Deployment's version and replicas. */
async function cluster(r: Rehearsal) {
  const list = JSON.parse(
    await r.kubectl("get", "services,deployments", "-n", NS, "-o", "json"),
  ) as { items: Obj[] };
  type Slot = { version: string | undefined; replicas: number | undefined };
  const out: Record<string, { selector: string | undefined; slots: Record<string, Slot> }> = {};
  for (const service of SERVICES) {
    const svc = list.items.find((o) => o.kind === "Service" && o.metadata.name === service);
    const slots: Record<string, Slot> = {};
    for (const slot of ["blue", "green"]) {
      const d = list.items.find((o) =>
        o.kind === "Deployment" && o.metadata.name === `${service}-${slot}`
      );
      if (d) slots[slot] = { version: d.metadata.labels?.version, replicas: d.spec?.replicas };
    }
    out[service] = { selector: svc?.spec?.selector?.slot, slots };
  }
  return out;
}

const wired = "pods" in kubeTarget(await loadEnvironment(ENV));

Deno.test({
  name:
    "a key the pods reference deleted from its Secret: pods wait (CreateContainerConfigError), the rollout fails naming it, traffic stays",
  // Needs the deploy target to carry the pods' configuration (kubeTarget(env).pods = podConfig(env)).
  ignore: !wired,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const first = await r.deploy(ENV, "v1.0.0");
      assert.equal(first.code, 0, first.stdout + first.stderr);
      await withRunning(r, async () => {
        await r.kubectl(
          "patch",
          "secret",
          "api-keys",
          "-n",
          NS,
          "--type=json",
          "-p",
          JSON.stringify([{ op: "remove", path: "/data/analysis-api-key" }]),
        );
      });
      const d = await r.deploy(ENV, "v1.1.0");
      assert.equal(d.code, 1, d.stdout + d.stderr);
      const failed = stage(d, "deploy:analysis-service");
      assert.equal(failed.status, "failed");
      assert.match(
        failed.reason ?? "",
        /CreateContainerConfigError \(couldn't find key analysis-api-key in Secret tracktion-staging\/api-keys\), restarts 0/,
      );
      assert.ok(["failed", "rolled_back"].includes(d.report.status), d.report.status);
      for (const s of ["switch", "record"]) {
        const later = d.report.stages.find((x) => x.id === s);
        if (later) assert.notEqual(later.status, "succeeded", `${s} did not run`);
      }
      await withRunning(r, async () => {
        const c = await cluster(r);
        for (const service of SERVICES) {
          assert.equal(c[service]!.selector, "blue", `${service}: traffic stays on blue`);
          assert.equal(c[service]!.slots.blue!.version, "1.0.0", service);
        }
        const green = c["analysis-service"]!.slots.green!;
        const pods = await r.kubectl(
          "get",
          "pods",
          "-n",
          NS,
          "-l",
          "service=analysis-service,slot=green",
        );
        if ((green.replicas ?? 0) > 0) {
          assert.match(pods, /0\/1\s+CreateContainerConfigError\s+0/);
        } else {
          // The deploy's rollback scaled the failed slot down: none of its pods is left.
          assert.equal(pods.trim(), "", "no pod of the scaled-down slot");
          assert.equal(green.version, "1.1.0");
        }
        const blue = await r.kubectl(
          "get",
          "pods",
          "-n",
          NS,
          "-l",
          "service=analysis-service,slot=blue",
        );
        assert.match(blue, /1\/1\s+Running/);
      });
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "the database password deleted from db-credentials: the deploy fails naming the Secret and key, traffic stays",
  ignore: !wired,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const first = await r.deploy(ENV, "v1.0.0");
      assert.equal(first.code, 0, first.stdout + first.stderr);
      await withRunning(r, async () => {
        await r.kubectl(
          "patch",
          "secret",
          "db-credentials",
          "-n",
          NS,
          "--type=json",
          "-p",
          JSON.stringify([{ op: "remove", path: "/data/password" }]),
        );
      });
      const d = await r.deploy(ENV, "v1.1.0");
      assert.equal(d.code, 1, d.stdout + d.stderr);
      // Whichever stage meets it first (pre-flight, migrations or the pods' rollout) says it.
      const failed = d.report.stages.filter((s) => s.status === "failed");
      assert.ok(
        failed.some((s) =>
          /db-credentials/.test(s.reason ?? "") && /password/.test(s.reason ?? "")
        ),
        failed.map((s) => `${s.id}: ${s.reason}`).join("\n") || d.stdout,
      );
      await withRunning(r, async () => {
        const c = await cluster(r);
        for (const service of SERVICES) {
          assert.equal(c[service]!.selector, "blue", `${service}: traffic stays on blue`);
        }
      });
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "deno task rollback returns traffic to the old slot and scales the slot it leaves to 0 replicas",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      for (const version of ["v1.0.0", "v1.1.0"]) {
        const d = await r.deploy(ENV, version);
        assert.equal(d.code, 0, d.stdout + d.stderr);
      }
      await withRunning(r, async () => {
        const c = await cluster(r);
        for (const s of SERVICES) assert.equal(c[s]!.selector, "green", `${s} on 1.1.0 first`);
      });
      const back = await r.rollback(ENV);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      const scaled = stage(back, "scale-down");
      assert.equal(scaled.status, "succeeded");
      for (const s of SERVICES) {
        assert.match(
          back.stdout,
          new RegExp(`${s}-green \\(version 1\\.1\\.0\\) scaled from \\d+ to 0 replicas`),
        );
      }
      await withRunning(r, async () => {
        const c = await cluster(r);
        for (const s of SERVICES) {
          assert.equal(c[s]!.selector, "blue", `${s}: traffic back on blue`);
          assert.equal(c[s]!.slots.green!.replicas, 0, `${s}-green scaled to 0`);
          assert.equal(c[s]!.slots.green!.version, "1.1.0", `${s}-green kept for the next deploy`);
          assert.ok((c[s]!.slots.blue!.replicas ?? 0) > 0, `${s}-blue still runs`);
        }
        const pods = await r.kubectl("get", "pods", "-n", NS, "-l", "slot=green", "-o", "name");
        assert.equal(pods.trim(), "", "no pod of the slot left behind");
      });
      // The next deploy reuses the scaled-down slot.
      const again = await r.deploy(ENV, "v1.2.0");
      assert.equal(again.code, 0, again.stdout + again.stderr);
      await withRunning(r, async () => {
        const c = await cluster(r);
        for (const s of SERVICES) {
          assert.equal(c[s]!.selector, "green", s);
          assert.deepEqual(c[s]!.slots.green!.version, "1.2.0", s);
          assert.ok((c[s]!.slots.green!.replicas ?? 0) > 0, `${s}-green scaled up again`);
        }
      });
    } finally {
      await r.remove();
    }
  },
});
