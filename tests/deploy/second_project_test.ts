// A second project, not Tracktion (tests/fixtures/second_project: its own environment file,
// namespace shop-prod, services api and worker, app label "shop"), deploys through the same
// lib/ in the sandbox, driven by the CLI. Nothing Tracktion is needed: the sandbox is seeded
// from that project's environments folder alone.
import assert from "node:assert/strict";
import { main } from "../../lib/cli/main.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";

const PROJECT = "tests/fixtures/second_project";
const NS = "shop-prod";

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${d.decode(out.stderr)}`);
  return d.decode(out.stdout);
}

async function deploy(dir: string, version: string) {
  let stdout = "";
  let stderr = "";
  const code = await main([
    "deploy",
    "live",
    version,
    "--pipeline",
    `${PROJECT}/pipelines/deploy.ts`,
    "--environments-dir",
    `${PROJECT}/environments`,
    "--sandbox",
    "--sandbox-dir",
    `${dir}/sandbox`,
    "--runs-dir",
    `${dir}/runs`,
  ], {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    tty: false,
    colour: false,
  });
  return { code, stdout, stderr };
}

interface KList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: {
      selector?: Record<string, string>;
      template?: { spec: { containers: { image: string }[] } };
    };
    status?: { readyReplicas?: number };
  }[];
}

Deno.test({
  name: "a second project (shop: api and worker in shop-prod) deploys through lib/ in the sandbox",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "second-project-test-" });
    try {
      const first = await deploy(dir, "1.0.0");
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /api: traffic none → (blue|green)/);
      assert.match(first.stdout, /worker: traffic none → (blue|green)/);
      const second = await deploy(dir, "1.1.0");
      assert.equal(second.code, 0, second.stdout + second.stderr);

      // The in-process sandbox stopped with the run; start it again over its saved state.
      const sandbox = await startSandbox({ stateDir: `${dir}/sandbox`, trafficRate: 0 });
      try {
        const kc = sandbox.kubeconfigPath;
        const namespaces = (await kubectl(kc, "get", "namespaces", "-o", "name")).split("\n")
          .filter(Boolean);
        assert.ok(namespaces.includes(`namespace/${NS}`));
        assert.deepEqual(namespaces.filter((n) => n.includes("tracktion")), []);

        const deployments = JSON.parse(
          await kubectl(kc, "get", "deployments", "-n", NS, "-l", "app=shop", "-o", "json"),
        ) as KList;
        const services = JSON.parse(
          await kubectl(kc, "get", "services", "-n", NS, "-o", "json"),
        ) as KList;
        for (const service of ["api", "worker"]) {
          const svc = services.items.find((s) => s.metadata.name === service);
          assert.ok(svc, `Service ${service}`);
          const slot = svc.spec.selector?.slot;
          assert.equal(svc.spec.selector?.app, "shop");
          assert.equal(svc.spec.selector?.service, service);
          const live = deployments.items.find((d) => d.metadata.name === `${service}-${slot}`);
          assert.ok(live, `the Service ${service} selects slot ${slot}, which has a Deployment`);
          assert.equal(live.metadata.labels?.version, "1.1.0");
          assert.equal(
            live.spec.template?.spec.containers[0]?.image,
            `registry.shop.example/shop/${service}:1.1.0`,
          );
          const idle = deployments.items.find((d) =>
            d.metadata.name === `${service}-${slot === "blue" ? "green" : "blue"}`
          );
          assert.equal(idle?.metadata.labels?.version, "1.0.0", "the previous slot keeps 1.0.0");
        }
        assert.equal(
          deployments.items.find((d) =>
            d.metadata.name.startsWith("api-") &&
            d.metadata.labels?.version === "1.1.0"
          )?.status?.readyReplicas,
          2,
          "api runs the environment file's 2 replicas",
        );
        // What the project's environment file says the namespace holds was seeded.
        const secrets = await kubectl(kc, "get", "secrets", "-n", NS, "-o", "name");
        assert.match(secrets, /secret\/shop-db/);
        assert.match(secrets, /secret\/shop-api-keys/);
        const lb = await kubectl(
          kc,
          "get",
          "service",
          "shop-lb",
          "-n",
          NS,
          "-o",
          "jsonpath={.spec.selector.app} {.spec.ports[0].port}",
        );
        assert.equal(lb, "shop 443");
      } finally {
        await sandbox.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "the second project's deploy is refused (exit 2) by a sandbox not seeded with its namespace",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "second-project-test-" });
    // Already running, with an empty seed: the CLI uses it as it is (nothing seeds it).
    const sandbox = await startSandbox({ stateDir: `${dir}/sandbox`, trafficRate: 0 });
    try {
      const run = await deploy(dir, "1.0.0");
      // Found before anything runs: the sandbox was seeded from other files.
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /shop-prod/);
      assert.match(run.stderr, /--reset/);
      assert.doesNotMatch(run.stdout, /deploy:api/, "no stage ran");
    } finally {
      await sandbox.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("sandboxSeedFromDir() seeds only the project's own namespaces, from its environment files", async () => {
  const seed = await sandboxSeedFromDir(`${PROJECT}/environments`);
  assert.deepEqual(seed.namespaces?.map((n) => n.name), [NS]);
  const ns = seed.namespaces![0]!;
  assert.deepEqual(ns.labels, { app: "shop" });
  assert.deepEqual(ns.secrets?.map((s) => s.name).sort(), ["shop-api-keys", "shop-db"]);
  const password = ns.secrets?.find((s) => s.name === "shop-db")?.data?.password ?? "";
  assert.ok(password.length >= 16, "a generated password");
  const again = await sandboxSeedFromDir(`${PROJECT}/environments`);
  assert.notDeepEqual(again.namespaces![0]!.secrets![1]!.data, ns.secrets![1]!.data);
  assert.deepEqual(ns.serviceAccounts?.map((s) => s.name), ["shop-deployer"]);
  assert.deepEqual(ns.networkPolicies, [{ name: "shop-deny-all", ingress: "deny" }]);
  assert.deepEqual(ns.loadBalancers, [{
    name: "shop-lb",
    selector: { app: "shop" },
    ports: [{ name: "http", port: 443, targetPort: 8000 }],
  }]);
});
