// The sandbox's seed is the caller's data: an empty one gives just the system namespaces,
// a project's gives its namespaces and what they hold, and a bad one is refused before
// anything is written. The sandbox knows no project.
import assert from "node:assert/strict";
import {
  checkSeed,
  type SandboxSeed,
  startSandbox,
  SYSTEM_NAMESPACES,
} from "../../lib/sandbox/mod.ts";
import { withSandbox } from "./_helpers.ts";

const SHOP: SandboxSeed = {
  namespaces: [{
    name: "shop-prod",
    labels: { app: "shop" },
    secrets: [
      { name: "shop-db", data: { password: "s3cret-value-0001" } },
      { name: "shop-tls", tls: { commonName: "shop.example" } },
    ],
    serviceAccounts: [{
      name: "shop-deployer",
      rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch"] }],
    }],
    networkPolicies: [
      { name: "deny-all", ingress: "deny" },
      { name: "same-ns", ingress: "same-namespace", podSelector: { app: "shop" } },
    ],
    loadBalancers: [{
      name: "shop-lb",
      selector: { app: "shop" },
      ports: [{ name: "https", port: 443, targetPort: 8443 }],
    }],
  }],
};

Deno.test("startSandbox() with an empty seed has only the system namespaces", async () => {
  const t = await withSandbox({ seed: {}, trafficRate: 0 });
  try {
    const names = (await t.kubectlOk("get", "namespaces", "-o", "name")).trim().split("\n");
    assert.deepEqual(names.sort(), SYSTEM_NAMESPACES.map((n) => `namespace/${n}`).sort());
    assert.equal((await t.kubectlOk("get", "secrets", "-A", "-o", "name")).trim(), "");
    const nodes = (await t.kubectlOk("get", "nodes", "-o", "name")).trim().split("\n");
    assert.equal(nodes.length, 3);
  } finally {
    await t.close();
  }
});

Deno.test("startSandbox({ seed }) creates the seed's namespaces, Secrets, RBAC, policies and load balancer", async () => {
  const t = await withSandbox({ seed: SHOP, trafficRate: 0 });
  try {
    const get = async (...args: string[]) =>
      JSON.parse(await t.kubectlOk("get", ...args, "-n", "shop-prod", "-o", "json"));
    const db = await get("secret", "shop-db");
    assert.equal(atob(db.data.password), "s3cret-value-0001");
    assert.deepEqual(db.metadata.labels, { app: "shop" });
    const tls = await get("secret", "shop-tls");
    assert.equal(tls.type, "kubernetes.io/tls");
    assert.match(atob(tls.data["tls.crt"]), /BEGIN CERTIFICATE/);
    const binding = await get("rolebinding", "shop-deployer");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "shop-deployer",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "shop-deployer", namespace: "shop-prod" },
    ]);
    assert.deepEqual((await get("role", "shop-deployer")).rules[0].verbs, ["get", "patch"]);
    const deny = await get("networkpolicy", "deny-all");
    assert.deepEqual(deny.spec.podSelector, {});
    assert.equal(deny.spec.ingress, undefined);
    const same = await get("networkpolicy", "same-ns");
    assert.deepEqual(same.spec.podSelector, { matchLabels: { app: "shop" } });
    assert.deepEqual(same.spec.ingress, [{ from: [{ podSelector: {} }] }]);
    const lb = await get("service", "shop-lb");
    assert.equal(lb.spec.type, "LoadBalancer");
    assert.deepEqual(lb.spec.selector, { app: "shop" });
    assert.equal(lb.spec.ports[0].port, 443);
    assert.equal(lb.spec.ports[0].targetPort, 8443);
    assert.equal(lb.status.loadBalancer.ingress[0].ip, "127.0.0.1");
  } finally {
    await t.close();
  }
});

Deno.test("startSandbox() refuses a bad seed with a RangeError before anything is written", async () => {
  const parent = await Deno.makeTempDir({ prefix: "sandbox-seed-" });
  const stateDir = `${parent}/state`;
  try {
    const bad: SandboxSeed[] = [
      { namespaces: [{ name: "Shop_Prod" }] },
      { namespaces: [{ name: "shop" }, { name: "shop" }] },
      { namespaces: [{ name: "shop", secrets: [{ name: "a" }, { name: "a" }] }] },
      { namespaces: [{ name: "shop", secrets: [{ name: "a", data: { "bad key": "x" } }] }] },
      {
        namespaces: [{
          name: "shop",
          loadBalancers: [{
            name: "lb",
            selector: {},
            ports: [{ name: "x", port: 0, targetPort: 1 }],
          }],
        }],
      },
      { namespaces: [{ name: "shop", labels: { app: "not a label" } }] },
    ];
    for (const seed of bad) {
      assert.throws(() => checkSeed(seed), RangeError);
      await assert.rejects(() => startSandbox({ stateDir, seed }), RangeError);
    }
    await assert.rejects(
      () => startSandbox({ stateDir, seed: bad[1]! }),
      /Cannot seed the sandbox: namespace "shop" twice/,
    );
    assert.equal(await Deno.stat(stateDir).then(() => true, () => false), false);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("a restarted sandbox keeps its saved state: the seed applies to a fresh cluster only", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-seed-" });
  try {
    let t = await withSandbox({ stateDir, seed: SHOP, trafficRate: 0 });
    await t.kubectlOk("delete", "secret", "shop-db", "-n", "shop-prod");
    await t.close();
    t = await withSandbox({ stateDir, seed: SHOP, trafficRate: 0 });
    try {
      const left = await t.kubectlOk("get", "secrets", "-n", "shop-prod", "-o", "name");
      assert.equal(left.trim(), "secret/shop-tls");
    } finally {
      await t.close();
    }
    t = await withSandbox({ stateDir, seed: SHOP, trafficRate: 0, reset: true });
    try {
      assert.match(await t.kubectlOk("get", "secrets", "-n", "shop-prod"), /shop-db/);
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
