// `deno task status` against real CLI deploys on virtual-clock sandboxes of the test's own:
// before anything is deployed, after blue-green deploys of development, after a canary of
// production; the table and --json state the same facts, and both agree with what kubectl
// reads from the cluster.
import assert from "node:assert/strict";
import { Rehearsal, stage, VIRTUAL_LEASE } from "../deploy/_deploy.ts";
import { baseline } from "../deploy/_baseline.ts";
import { CONFIRM, SERVICES } from "../deploy/_canary.ts";
import { findRunningSandbox } from "../../lib/sandbox/mod.ts";
import { assertSameFacts, statusCli, statusOf } from "./_status.ts";
import type { EnvironmentStatus } from "../../lib/status/mod.ts";

const DAY = 24 * 3_600_000;
const ANNOTATION = "deploy.tracktion.dev/delete-after";

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { replicas?: number; selector?: Record<string, string> };
  status?: { readyReplicas?: number };
}

/** What kubectl reads of a namespace: Deployments and Services by name. */
async function kubectlView(r: Rehearsal, ns: string) {
  return await r.inspect(async () => {
    const get = async (
      kind: string,
    ) => (JSON.parse(await r.kubectl("get", kind, "-n", ns, "-o", "json")).items as Obj[]);
    const byName = (items: Obj[]) => new Map(items.map((o) => [o.metadata.name, o]));
    return {
      deployments: byName(await get("deployments")),
      services: byName(await get("services")),
    };
  });
}

/** Each service of the document is what kubectl reads: selector, labels, replicas, annotation. */
function assertMatchesCluster(
  doc: EnvironmentStatus,
  view: Awaited<ReturnType<typeof kubectlView>>,
) {
  for (const s of doc.services) {
    assert.equal(s.live?.slot, view.services.get(s.service)?.spec.selector?.slot, s.service);
    for (const slot of [s.live!, s.idle!]) {
      const d = view.deployments.get(slot.deployment)!;
      assert.equal(slot.version, d.metadata.labels?.version);
      assert.equal(slot.desired, d.spec.replicas);
      assert.equal(slot.ready, d.status?.readyReplicas ?? 0);
      const after = d.metadata.annotations?.[ANNOTATION];
      assert.equal(slot.deleteAfter, after ? new Date(after).toISOString() : null);
    }
  }
}

/** The idle slot's deadline is the rollback window after the clean-up was scheduled. */
function assertDeadline(
  deleteAfter: string | null,
  report: Record<string, unknown>,
) {
  assert.ok(deleteAfter, "the old slot has a clean-up deadline");
  const at = Date.parse(deleteAfter);
  assert.ok(at >= Date.parse(String(report.startedAt)) + DAY, deleteAfter);
  assert.ok(at <= Date.parse(String(report.finishedAt)) + DAY, deleteAfter);
}

Deno.test({
  name:
    "status before any deploy says nothing is deployed: no saved state, a seeded one, a running one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const none = await statusOf(r, "production");
      assert.match(none.text, /^nothing deployed: the sandbox has no saved state in /m);
      assert.equal(none.doc.deployed, false);
      assert.deepEqual(none.doc.target, { kind: "sandbox", stateDir: r.sandboxDir, state: "none" });
      assert.deepEqual(
        none.doc.services.map((s) => [s.service, s.deployed]),
        SERVICES.map((s) => [s, false]),
      );
      assert.equal(none.doc.lock.state, "free");
      assert.equal(none.doc.lastRun, null);
      assertSameFacts(none.text, none.doc);
      // It only read: no sandbox state was made.
      await assert.rejects(() => Deno.stat(r.sandboxDir), Deno.errors.NotFound);

      // A seeded sandbox (saved by a look with kubectl), nothing deployed in it yet.
      await r.inspect(() => Promise.resolve());
      const seeded = await statusOf(r, "development");
      assert.equal(seeded.doc.target.kind === "sandbox" && seeded.doc.target.state, "restored");
      assert.equal(seeded.doc.namespaceExists, true);
      assert.equal(seeded.doc.deployed, false);
      assert.match(
        seeded.text,
        /^nothing deployed: no Service or slot Deployment of app tracktion in tracktion-dev$/m,
      );
      assert.match(seeded.text, /^record {4}none \(no deployment-info ConfigMap\)$/m);
      assertSameFacts(seeded.text, seeded.doc);
      // The sandbox it started for the read is stopped again.
      assert.equal(await findRunningSandbox(r.sandboxDir), undefined);

      // A sandbox that runs (deno task sandbox, here the test's) is read where it runs.
      const running = await r.inspect(() => statusOf(r, "development"));
      assert.equal(running.doc.target.kind === "sandbox" && running.doc.target.state, "running");
      assert.match(running.text, /\(running\), read at /);
      assert.equal(running.doc.deployed, false);
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "status after blue-green deploys: the new version live on the other slot, the old one idle until its deadline",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const first = await r.deploy("development", "v2.0.0");
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const second = await r.deploy("development", "v2.0.1");
      assert.equal(second.code, 0, second.stdout + second.stderr);
      const { text, doc } = await statusOf(r, "development");
      assert.equal(doc.strategy, "blue-green");
      assert.equal(doc.deployed, true);
      for (const s of doc.services) {
        assert.deepEqual(
          [s.live?.version, s.live?.ready, s.live?.desired],
          ["2.0.1", 1, 1],
          s.service,
        );
        assert.equal(s.idle?.version, "2.0.0");
        assert.notEqual(s.idle?.slot, s.live?.slot);
        // Blue-green: all the traffic where the Service's selector points.
        assert.equal(s.traffic?.source, "selector");
        assert.equal(s.traffic?.[s.live!.slot], 100);
        assertDeadline(s.idle!.deleteAfter, second.report);
        assert.equal(s.live?.deleteAfter, null);
      }
      assertMatchesCluster(doc, await kubectlView(r, "tracktion-dev"));
      assert.equal(doc.lastRun?.runId, second.report.runId);
      assert.equal(doc.lastRun?.status, "succeeded");
      assert.equal(doc.lastRun?.reportPath, second.reportPath);
      assert.equal(doc.record.run?.runId, second.report.runId);
      assert.equal(doc.record.run?.state, "succeeded");
      assert.equal(doc.record.release?.version, "2.0.1");
      assert.equal(doc.lock.state, "free");
      assertSameFacts(text, doc);
      assert.match(
        text,
        /^analysis-service +green 2\.0\.1 +1\/1 +blue 2\.0\.0 +1\/1 +green 100% +after 20\d\d-/m,
      );
      assert.ok(!text.includes("\x1b["), "NO_COLOR: no colour");
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "status after a canary of production: 100% on the new slot by the route's weights, the old slot idle with its deadline",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      await baseline(r);
      const d = await r.deploy("production", "v1.1.0", [...CONFIRM, ...VIRTUAL_LEASE]);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(stage(d, "schedule-cleanup").status, "succeeded");
      const { text, doc } = await statusOf(r, "production");
      assert.equal(doc.strategy, "canary");
      for (const s of doc.services) {
        const live = s.live!;
        const idle = s.idle!;
        assert.equal(live.version, "1.1.0", s.service);
        assert.equal(live.ready, live.desired);
        assert.ok(live.desired > 0);
        assert.equal(idle.version, "1.0.0");
        // The old slot keeps its pods for a rollback until the window is over.
        assert.equal(idle.ready, idle.desired);
        assertDeadline(idle.deleteAfter, d.report);
        assert.equal(s.traffic?.source, "route");
        assert.equal(s.traffic?.[live.slot], 100);
        assert.equal(s.traffic?.[idle.slot], 0);
        assert.equal(s.traffic?.weights?.[live.slot], 100);
      }
      assertMatchesCluster(doc, await kubectlView(r, "tracktion-prod"));
      assert.equal(doc.lastRun?.runId, d.report.runId);
      assert.equal(doc.lastRun?.reportPath, d.reportPath);
      assert.equal(doc.lastRun?.version, "v1.1.0");
      assert.equal(doc.record.run?.version, "1.1.0");
      assert.equal(doc.record.run?.state, "succeeded");
      assert.equal(doc.lock.state, "free");
      assertSameFacts(text, doc);
      assert.match(text, /^production: namespace tracktion-prod, canary, sandbox /);
    } finally {
      await r.remove();
    }
  },
});

Deno.test({
  name:
    "status --kubeconfig reads any cluster (here the sandbox's, running) and leaves sandbox runs out",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      await baseline(r);
      const [viaSandbox, viaKubeconfig, token] = await r.inspect(async () => {
        const a = await statusCli([
          "production",
          "--sandbox",
          "--sandbox-dir",
          r.sandboxDir,
          "--runs-dir",
          `${r.dir}/runs`,
          "--json",
        ]);
        const b = await statusCli([
          "production",
          "--kubeconfig",
          `${r.sandboxDir}/kubeconfig`,
          "--context",
          "tracktion-sandbox",
          "--runs-dir",
          `${r.dir}/runs`,
          "--json",
        ]);
        const kubeconfig = await Deno.readTextFile(`${r.sandboxDir}/kubeconfig`);
        return [a, b, /token: (\S+)/.exec(kubeconfig)![1]!] as const;
      });
      assert.equal(viaKubeconfig.code, 0, viaKubeconfig.stderr);
      const a = JSON.parse(viaSandbox.stdout) as EnvironmentStatus;
      const b = JSON.parse(viaKubeconfig.stdout) as EnvironmentStatus;
      assert.deepEqual(b.target, {
        kind: "kubernetes",
        kubeconfig: `${r.sandboxDir}/kubeconfig`,
        context: "tracktion-sandbox",
        cluster: "prod-cluster",
      });
      assert.deepEqual(b.services, a.services);
      assert.deepEqual(b.record, a.record);
      // The runs folder's runs went to the sandbox, not to this cluster.
      assert.ok(a.lastRun);
      assert.equal(b.lastRun, null);
      assert.ok(token.length >= 16);
      assert.ok(!(viaKubeconfig.stdout + viaKubeconfig.stderr).includes(token), "the token leaked");
    } finally {
      await r.remove();
    }
  },
});
