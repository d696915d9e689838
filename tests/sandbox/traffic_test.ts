import assert from "node:assert/strict";
import { deploymentYaml, tempFile, withSandbox } from "./_helpers.ts";

const NS = "tracktion-staging";

Deno.test("traffic follows HTTPRoute weights, and a 5% canary still gets measurable traffic", async () => {
  const t = await withSandbox({ timeScale: 600 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "api-blue", namespace: NS, version: "1.0.0", slot: "blue" }) +
        "---\n" +
        deploymentYaml({ name: "api-green", namespace: NS, version: "1.1.0", slot: "green" }) + `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ${NS}}
spec:
  rules:
  - backendRefs: [{name: api-blue, port: 80, weight: 95}, {name: api-green, port: 80, weight: 5}]
`,
    );
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/api-blue", "-n", NS, "--timeout=60s");
    await t.kubectlOk("rollout", "status", "deployment/api-green", "-n", NS, "--timeout=60s");
    await new Promise((r) => setTimeout(r, 3000));
    const measure = async (selector: string) => {
      const url =
        `${t.sandbox.url}/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements?labelSelector=${
          encodeURIComponent(selector)
        }&window=20m`;
      return (await (await fetch(url)).json()) as { requests: number; errors: number };
    };
    const blue = await measure("slot=blue");
    const green = await measure("slot=green");
    // The gates' measurements are drawn at the default 50 req/s over sandbox time (×600: the
    // 3 s waited are 30 sandbox minutes): blue ~95%, green ~5%, healthy at a 0.05% error rate.
    assert.ok(green.requests >= 10, `green answered ${green.requests}`);
    assert.ok(
      blue.requests > 4 * green.requests,
      `blue ${blue.requests} vs green ${green.requests}`,
    );
    const rate = (blue.errors + green.errors) / (blue.requests + green.requests);
    assert.ok(rate < 0.002, `healthy versions err at about 0.05%, got ${rate}`);

    await t.kubectlOk(
      "patch",
      "httproute",
      "api",
      "-n",
      NS,
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":0}]',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const window =
      `${t.sandbox.url}/apis/sandbox.tracktion.dev/v1/namespaces/${NS}/measurements?labelSelector=slot%3Dblue&window=6m`;
    const recentBlue = (await (await fetch(window)).json()) as { requests: number };
    assert.equal(recentBlue.requests, 0, "a weight of 0 sends nothing");
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});
