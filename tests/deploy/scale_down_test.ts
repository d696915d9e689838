// What a rollback does with the slots traffic left (pipelines/stages/scale_down.ts), against
// the real sandbox through the real capability: scaled to 0 with the replicas it had, a
// restored standby left alone, kept for debugging (and marked for clean-up), and the failure
// paths — a slot that still gets traffic, a cluster that cannot be reached — reported as
// still running, never thrown.
import assert from "node:assert/strict";
import { stageContext, withCluster } from "../kubernetes/_helpers.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import { podConfig } from "../../lib/targets/sandbox_seed.ts";
import {
  deploymentManifest,
  type PodConfiguredTarget,
  serviceManifest,
} from "../../lib/kubernetes/manifests.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import type { StageContext } from "../../lib/dsl/types.ts";
import { DELETE_AFTER_ANNOTATION } from "../../lib/kubernetes/strategies/cleanup.ts";
import { type LeftSlot, settleLeftSlots } from "../../pipelines/stages/scale_down.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const NOW = Date.parse("2026-03-01T12:00:00.000Z");

async function target(): Promise<PodConfiguredTarget> {
  const env = await loadEnvironment("production");
  return { ...kubeTarget(env), pods: podConfig(env) };
}

/** A stage context over `k` that records what it said. */
function context(k: KubernetesCapability) {
  const said = { notices: [] as string[], warnings: [] as string[] };
  const ctx = {
    ...stageContext(k),
    now: () => NOW,
    notice: (m: string) => said.notices.push(m),
    warn: (m: string) => said.warnings.push(m),
  } as unknown as StageContext;
  return { ctx, said };
}

/** Traffic went back to blue (1.0.0), leaving green (`left`). */
function back(service: string, left = "1.1.0") {
  return {
    service,
    returnedTo: { slot: "blue" as const, version: "1.0.0" },
    left: { slot: "green" as const, version: left },
  };
}

async function replicas(k: KubernetesCapability, ns: string, name: string) {
  const d = await k.get(DEPLOYMENT, ns, name);
  return d ? (d.spec as { replicas: number }).replicas : undefined;
}

/** Both slots of `service`, the Service on blue. */
async function slots(
  k: KubernetesCapability,
  t: PodConfiguredTarget,
  service: string,
  green = "1.1.0",
) {
  await k.apply(deploymentManifest(t, { service, slot: "blue", version: "1.0.0" }));
  await k.apply(deploymentManifest(t, { service, slot: "green", version: green }));
  await k.apply(serviceManifest(t, { service, slot: "blue" }));
}

Deno.test("settleLeftSlots: the left slot scaled to 0 with its replicas recorded; a standby, a missing slot and a rolling update left alone", async () => {
  await withCluster(async ({ k }) => {
    const t = await target();
    const ns = t.namespace;
    await slots(k, t, "analysis-service");
    await slots(k, t, "file-watcher", "0.9.0"); // restored as before the run: a standby
    const before = await replicas(k, ns, "analysis-service-green");
    const standby = await replicas(k, ns, "file-watcher-green");
    assert.ok(before! > 0 && standby! > 0);
    const { ctx, said } = context(k);
    const out = await settleLeftSlots(ctx, {
      target: t,
      services: [
        back("analysis-service"),
        back("file-watcher"),
        back("tracklist-service"), // no Deployment at all
        { ...back("notification-service"), left: { slot: "blue", version: "1.1.0" } }, // rolling
      ],
    });
    assert.deepEqual(out.map((s) => [s.deployment, s.outcome, s.replicasBefore, s.replicas]), [
      ["analysis-service-green", "scaled-down", before, 0],
      ["file-watcher-green", "standby", standby, standby],
      ["tracklist-service-green", "missing", null, null],
    ]);
    assert.ok(out.every((s) => !s.stillRunning));
    // Read before its pods went: one entry a pod (its log, or why it could not be read).
    const evidence = out[0]!.evidence!;
    assert.equal(evidence.deployment, "analysis-service-green");
    assert.equal(evidence.error, undefined);
    assert.equal(evidence.pods.length, before);
    for (const p of evidence.pods) {
      assert.match(p.pod, /^analysis-service-green-/);
      assert.ok(p.logs.length > 0 || p.logError !== undefined, JSON.stringify(p));
    }
    assert.ok(
      evidence.objects.some((o) =>
        o.object === "Deployment/analysis-service-green" &&
        o.events.some((e) => e.reason === "ScalingReplicaSet")
      ),
      JSON.stringify(evidence.objects),
    );
    assert.deepEqual(out.slice(1).map((s) => s.evidence), [undefined, undefined], "none left");
    assert.equal(await replicas(k, ns, "analysis-service-green"), 0);
    assert.equal(await replicas(k, ns, "file-watcher-green"), standby, "a standby keeps running");
    assert.ok((await replicas(k, ns, "analysis-service-blue"))! > 0, "the live slot is untouched");
    assert.deepEqual(said.warnings, []);
    assert.equal(
      said.notices[0],
      `analysis-service-green (version 1.1.0) scaled from ${before} to 0 replicas`,
    );
    assert.match(said.notices[1]!, /file-watcher-green runs 0\.9\.0 again.*no pod of 1\.1\.0/);

    // Run again (a rollback resumed): already down, said so, nothing else changes.
    const again = await settleLeftSlots(ctx, { target: t, services: [back("analysis-service")] });
    assert.deepEqual(again.map((s) => [s.outcome, s.replicasBefore]), [["already-down", 0]]);
  });
});

Deno.test("settleLeftSlots with keep: the failed slot keeps running, marked for clean-up after the rollback window", async () => {
  await withCluster(async ({ k }) => {
    const t = await target();
    const ns = t.namespace;
    await slots(k, t, "analysis-service");
    const before = (await replicas(k, ns, "analysis-service-green"))!;
    const { ctx, said } = context(k);
    const [s] = await settleLeftSlots(ctx, {
      target: t,
      services: [back("analysis-service")],
      keep: "rollback_on_failure is false",
    });
    const until = new Date(NOW + t.rollbackWindowMs).toISOString();
    assert.deepEqual(
      s,
      {
        service: "analysis-service",
        deployment: "analysis-service-green",
        version: "1.1.0",
        outcome: "kept",
        replicasBefore: before,
        replicas: before,
        stillRunning: true,
        keptUntil: until,
        note: s!.note,
      } satisfies LeftSlot,
    );
    assert.match(s!.note, /kept for debugging: rollback_on_failure is false; kept until /);
    assert.equal(await replicas(k, ns, "analysis-service-green"), before);
    const d = await k.get(DEPLOYMENT, ns, "analysis-service-green");
    assert.equal(d!.metadata.annotations?.[DELETE_AFTER_ANNOTATION], until);
    assert.deepEqual(said.warnings, []);
  });
});

Deno.test("settleLeftSlots: a slot the Service still selects, or a cluster that cannot be reached, is reported still running with a warning; it never throws", async () => {
  await withCluster(async ({ k, sandbox }) => {
    const t = await target();
    const ns = t.namespace;
    await slots(k, t, "analysis-service");
    await k.apply(serviceManifest(t, { service: "analysis-service", slot: "green" }));
    const before = await replicas(k, ns, "analysis-service-green");
    const { ctx, said } = context(k);
    const [selected] = await settleLeftSlots(ctx, {
      target: t,
      services: [back("analysis-service")],
    });
    assert.equal(selected!.outcome, "failed");
    assert.equal(selected!.stillRunning, true);
    assert.equal(selected!.replicas, before);
    assert.match(said.warnings[0]!, /left as it is: Service analysis-service still selects green/);
    assert.equal(await replicas(k, ns, "analysis-service-green"), before, "unchanged");

    await sandbox.stop();
    const [unreachable] = await settleLeftSlots(ctx, {
      target: t,
      services: [back("analysis-service")],
    });
    assert.equal(unreachable!.outcome, "failed");
    assert.equal(unreachable!.stillRunning, true);
    assert.equal(unreachable!.replicasBefore, null);
    assert.match(
      said.warnings[1]!,
      /analysis-service-green \(version 1\.1\.0\) was not scaled down and still runs: .+ Traffic is back; stop it with kubectl scale deployment\/analysis-service-green -n tracktion-prod --replicas=0/,
    );
  });
});
