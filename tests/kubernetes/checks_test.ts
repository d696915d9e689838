import assert from "node:assert/strict";
import {
  clusterReachable,
  clusterVersion,
  deploymentLabels,
  endpointsReady,
  isFloatingImage,
  loadBalancerReady,
  namespaceExists,
  networkPoliciesExist,
  nodeCapacity,
  noLatestImages,
  podsReady,
  rbacBindingsExist,
  resourceUsage,
  secretsExist,
  tlsCertificateValid,
} from "../../checks/kubernetes.ts";
import type { Check, CheckOutcome } from "../../lib/dsl/types.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";
import { deployIdleSlot, switchService } from "../../lib/kubernetes/strategies/mod.ts";
import { poll, stageContext, targetOf, testDeployment, withCluster } from "./_helpers.ts";

const NS = "tracktion-staging";
const PROD = "tracktion-prod";
const REQUIRED_SECRETS = ["db-credentials", "api-keys", "tls-certificates"];

async function run(check: Check, k: KubernetesCapability): Promise<CheckOutcome> {
  const outcome = await check.run(stageContext(k));
  assert.equal(typeof outcome.message, "string");
  assert.ok(outcome.evidence, `${check.name} returns evidence`);
  return outcome;
}

async function passes(check: Check, k: KubernetesCapability): Promise<CheckOutcome> {
  const outcome = await run(check, k);
  assert.equal(outcome.ok, true, `${check.name}: ${outcome.message}`);
  return outcome;
}

async function fails(check: Check, k: KubernetesCapability): Promise<CheckOutcome> {
  const outcome = await run(check, k);
  assert.equal(outcome.ok, false, `${check.name} should fail: ${outcome.message}`);
  return outcome;
}

/** A self-signed certificate valid for `days` days, made by openssl. */
async function certificate(days: number): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        String(days),
        "-subj",
        "/CN=expiring.test",
        "-keyout",
        `${dir}/k`,
        "-out",
        `${dir}/c`,
      ], // deno-fmt-ignore
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return { cert: await Deno.readTextFile(`${dir}/c`), key: await Deno.readTextFile(`${dir}/k`) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function b64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

Deno.test("checks/kubernetes: pre-deployment checks pass on a ready cluster and fail with evidence", async (t) => {
  await withCluster(async ({ proxied: k }) => {
    await t.step("clusterReachable()", async () => {
      const ok = await passes(clusterReachable(), k);
      assert.match(String(ok.evidence?.gitVersion), /^v1\./);
    });

    await t.step("clusterVersion()", async () => {
      await passes(clusterVersion({ min: "1.24", max: "1.40" }), k);
      const old = await fails(clusterVersion({ min: "1.24", max: "1.27" }), k);
      assert.match(old.message, /is newer than 1\.27/);
      const young = await fails(clusterVersion({ min: "1.33" }), k);
      assert.match(young.message, /is older than 1\.33/);
      assert.throws(() => clusterVersion({ min: "one" }), RangeError);
    });

    await t.step("namespaceExists()", async () => {
      await passes(namespaceExists(NS), k);
      const missing = await fails(namespaceExists("tracktion-nope"), k);
      assert.equal(missing.message, "namespace tracktion-nope does not exist");
    });

    await t.step("secretsExist()", async () => {
      const ok = await passes(secretsExist(NS, REQUIRED_SECRETS), k);
      assert.deepEqual((ok.evidence?.present as Record<string, string[]>)["tls-certificates"], [
        "tls.crt",
        "tls.key",
      ]);
      assert.ok(!JSON.stringify(ok.evidence).includes("BEGIN"), "no secret values in evidence");
      await k.delete({ apiVersion: "v1", kind: "Secret" }, NS, "api-keys");
      const missing = await fails(secretsExist(NS, REQUIRED_SECRETS), k);
      assert.deepEqual(missing.evidence?.missing, ["api-keys"]);
      assert.equal(missing.message, "missing secrets in tracktion-staging: api-keys");
    });

    await t.step("tlsCertificateValid()", async () => {
      const ok = await passes(tlsCertificateValid(NS, "tls-certificates"), k);
      assert.match(String(ok.evidence?.subject), /CN=tracktion\.local/);
      assert.ok(Number(ok.evidence?.daysLeft) >= 300);
      assert.match(String(ok.evidence?.notAfter), /^\d{4}-\d\d-\d\dT/);
      // the same certificate, judged a year later
      const later = await fails(
        tlsCertificateValid(NS, "tls-certificates", {
          now: () => new Date(Date.now() + 340 * 86_400_000),
        }),
        k,
      );
      assert.match(later.message, /days left, 30 required\)/);
      const { cert, key } = await certificate(10);
      await k.apply({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "expiring-tls", namespace: NS },
        type: "kubernetes.io/tls",
        data: { "tls.crt": b64(cert), "tls.key": b64(key) },
      });
      const soon = await fails(tlsCertificateValid(NS, "expiring-tls"), k);
      assert.ok(Number(soon.evidence?.daysLeft) <= 10);
      assert.match(String(soon.evidence?.subject), /CN=expiring\.test/);
      await k.apply({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "not-a-cert", namespace: NS },
        data: { "tls.crt": b64("hello") },
      });
      const garbage = await fails(tlsCertificateValid(NS, "not-a-cert"), k);
      assert.match(
        garbage.message,
        /tls\.crt in tracktion-staging\/not-a-cert is not a certificate/,
      );
      const early = await fails(
        tlsCertificateValid(NS, "tls-certificates", { now: () => new Date("2000-01-01") }),
        k,
      );
      assert.match(early.message, /is not valid before \d{4}-/);
      const none = await fails(tlsCertificateValid(NS, "missing-tls"), k);
      assert.match(none.message, /has no tls\.crt/);
    });

    await t.step("nodeCapacity()", async () => {
      const cpu = await passes(nodeCapacity("cpu"), k);
      assert.equal(Object.keys(cpu.evidence?.nodes as object).length, 3);
      await passes(nodeCapacity("memory"), k);
      const tight = await fails(nodeCapacity("cpu", { maxPercent: 0.01 }), k);
      assert.match(tight.message, /^cluster CPU use .*% is at or above 0\.01%$/);
    });

    await t.step("loadBalancerReady()", async () => {
      const ok = await passes(loadBalancerReady(NS, "tracktion-lb"), k);
      assert.deepEqual(ok.evidence?.ingress, ["127.0.0.1"]);
      await k.apply({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "pending-lb", namespace: NS },
        spec: { type: "LoadBalancer", selector: { app: "x" }, ports: [{ port: 80 }] },
      });
      const pending = await fails(loadBalancerReady(NS, "pending-lb"), k);
      assert.match(pending.message, /has no load balancer ingress IP/);
      await fails(loadBalancerReady(NS, "missing-lb"), k);
    });

    await t.step("rbacBindingsExist()", async () => {
      const ok = await passes(rbacBindingsExist(NS, "tracktion"), k);
      assert.deepEqual(ok.evidence?.roleBindings, ["tracktion-deployer"]);
      await fails(rbacBindingsExist(NS, "acme"), k);
    });

    await t.step("networkPoliciesExist()", async () => {
      await passes(networkPoliciesExist(NS, { names: ["tracktion-default-deny"] }), k);
      const missing = await fails(networkPoliciesExist(NS, { names: ["allow-prometheus"] }), k);
      assert.deepEqual(missing.evidence?.missing, ["allow-prometheus"]);
      await fails(networkPoliciesExist("default"), k);
    });

    await t.step("required defaults to true; name and required can be set", () => {
      assert.equal(namespaceExists(NS).required, true);
      const c = namespaceExists(NS, { name: "ns", required: false });
      assert.deepEqual([c.name, c.required], ["ns", false]);
    });
  });
});

Deno.test("checks/kubernetes: an unreachable cluster fails every check instead of throwing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/kubeconfig`,
      `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: 'http://127.0.0.1:${port}' } }]\n` +
        "users: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n",
    );
    const k = createKubernetesCapability({ kubeconfigPath: `${dir}/kubeconfig` });
    for (const check of [clusterReachable(), namespaceExists(NS), secretsExist(NS, ["a"])]) {
      const outcome = await fails(check, k);
      assert.match(String(outcome.evidence?.error), /^Cannot /);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checks/kubernetes: post-deployment validations on deployed slots", async (t) => {
  const target = await targetOf("production");
  await withCluster(async ({ proxied: k }) => {
    const service = "notification-service";
    await deployIdleSlot(k, { target, service, version: "1.2.4", pollMs: 100 });
    await switchService(k, { target, service, slot: "blue" });
    const selector = "app=tracktion,service=notification-service,slot=blue";

    await t.step("podsReady()", async () => {
      const ok = await passes(podsReady(PROD, selector, { minReady: 2 }), k);
      assert.equal(ok.evidence?.ready, 2);
      const none = await fails(podsReady(PROD, "app=tracktion,slot=green"), k);
      assert.match(none.message, /^0 of 0 pods ready/);
    });

    await t.step("endpointsReady()", async () => {
      // the endpoints controller catches up with the new Service on its next pass
      await poll(() => run(endpointsReady(PROD, "notification-service"), k), (o) => o.ok, {
        what: "endpoints of notification-service",
      });
      const ok = await passes(endpointsReady(PROD, "notification-service"), k);
      assert.equal(ok.evidence?.ready, 2);
      await k.apply({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "nobody", namespace: PROD },
        spec: { selector: { app: "nobody" }, ports: [{ port: 8000 }] },
      });
      const empty = await fails(endpointsReady(PROD, "nobody"), k);
      assert.match(empty.message, /no (ready endpoints|Endpoints object)/);
    });

    await t.step("deploymentLabels()", async () => {
      await passes(
        deploymentLabels(PROD, "app=tracktion", {
          version: true,
          environment: "production",
          slot: true,
        }),
        k,
      );
      const wrong = await fails(
        deploymentLabels(PROD, "app=tracktion", { environment: "staging" }),
        k,
      );
      assert.match(wrong.message, /environment=production, expected staging/);
      await fails(deploymentLabels(PROD, "app=acme", { version: true }), k);
    });

    await t.step("noLatestImages()", async () => {
      await passes(noLatestImages(PROD, { labelSelector: "app=tracktion" }), k);
      await k.apply(testDeployment(PROD, "floating", { image: "registry.local/web:latest" }));
      const floating = await fails(noLatestImages(PROD), k);
      assert.deepEqual(floating.evidence?.floating, ["floating: registry.local/web:latest"]);
      assert.equal(isFloatingImage("registry.local:5000/web"), true);
      assert.equal(isFloatingImage("registry.local:5000/web:2.0"), false);
      assert.equal(isFloatingImage("r/web@sha256:abc"), false);
    });

    await t.step("resourceUsage()", async () => {
      const ok = await passes(resourceUsage(PROD, { labelSelector: selector }), k);
      assert.equal(ok.evidence?.podsMeasured, 2);
      const seedLimits = await passes(
        resourceUsage(PROD, {
          labelSelector: selector,
          maxPodCpu: 0.5,
          maxPodMemory: 1000 * 2 ** 20,
        }),
        k,
      );
      assert.deepEqual(seedLimits.evidence?.problems, []);
      const tight = await fails(
        resourceUsage(PROD, { labelSelector: selector, maxPodMemory: 2 ** 20 }),
        k,
      );
      assert.match(tight.message, /memory \d+Mi above 1Mi/);
      const pct = await fails(
        resourceUsage(PROD, { labelSelector: selector, maxPercentOfLimit: 0 }),
        k,
      );
      assert.match(pct.message, /of its limit/);
      await fails(resourceUsage(PROD, { labelSelector: "app=acme" }), k);
    });
  });
});
