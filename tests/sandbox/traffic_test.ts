import assert from "node:assert/strict";
import { deploymentYaml, tempFile, withSandbox } from "./_helpers.ts";

const NS = "tracktion-staging";

Deno.test("traffic follows HTTPRoute weights, with a floor so a 5% canary is still measurable", async () => {
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
    // 100 real req/s for the namespace's one entry: blue ~95/s, green max(5/s, floor 10/s).
    assert.ok(green.requests >= 10, `green answered ${green.requests} in 2 s`);
    assert.ok(
      blue.requests > 4 * green.requests,
      `blue ${blue.requests} vs green ${green.requests}`,
    );
    assert.equal(blue.errors + green.errors, 0, "healthy versions answer without errors");

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
