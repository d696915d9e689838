import assert from "node:assert/strict";
import { deploymentYaml, tempFile, type TestSandbox, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

interface PodList {
  items: { status?: { phase?: string; conditions?: { type: string; status: string }[] } }[];
}

/** Roll web from 1.0.0 to 1.1.0 with the given strategy, sampling pods all along. */
async function observeRollout(
  t: TestSandbox,
  strategy: { maxSurge: number; maxUnavailable: number },
): Promise<{ maxTotal: number; minReady: number }> {
  const yaml = (version: string) =>
    deploymentYaml({ name: "web", namespace: NS, version, replicas: 4 }).replace(
      "  progressDeadlineSeconds: 600\n",
      `  progressDeadlineSeconds: 600\n  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: ${strategy.maxSurge}, maxUnavailable: ${strategy.maxUnavailable}}}\n`,
    );
  const file = await tempFile(yaml("1.0.0"));
  await t.kubectlOk("apply", "-f", file);
  await t.kubectlOk("rollout", "status", "deployment/web", "-n", NS, "--timeout=60s");
  await Deno.writeTextFile(file, yaml("1.1.0"));
  let maxTotal = 0, minReady = Infinity, done = false;
  const sampler = (async () => {
    while (!done) {
      const list = await (await fetch(
        `${t.sandbox.url}/api/v1/namespaces/${NS}/pods?labelSelector=service%3Dweb`,
      )).json() as PodList;
      const live = list.items.filter((p) =>
        p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"
      );
      const ready = live.filter((p) =>
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      );
      maxTotal = Math.max(maxTotal, live.length);
      minReady = Math.min(minReady, ready.length);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await t.kubectlOk("apply", "-f", file);
  await t.kubectlOk("rollout", "status", "deployment/web", "-n", NS, "--timeout=60s");
  done = true;
  await sampler;
  await Deno.remove(file);
  const images = await t.kubectlOk(
    "get",
    "pods",
    "-n",
    NS,
    "-l",
    "service=web",
    "-o",
    "jsonpath={.items[*].spec.containers[0].image}",
  );
  assert.deepEqual(new Set(images.split(" ")), new Set(["registry.local/web:1.1.0"]));
  return { maxTotal, minReady };
}

Deno.test("a rolling update with maxSurge 1, maxUnavailable 0 never exceeds 5 pods nor drops below 4 Ready", async () => {
  const t = await withSandbox({ timeScale: 30, trafficRate: 0 });
  try {
    const seen = await observeRollout(t, { maxSurge: 1, maxUnavailable: 0 });
    assert.equal(seen.maxTotal, 5, "the surge pod was used");
    assert.ok(seen.minReady >= 4, `min ready ${seen.minReady}`);
  } finally {
    await t.close();
  }
});

Deno.test("a rolling update with maxSurge 0, maxUnavailable 1 never exceeds 4 pods nor drops below 3 Ready", async () => {
  const t = await withSandbox({ timeScale: 30, trafficRate: 0 });
  try {
    const seen = await observeRollout(t, { maxSurge: 0, maxUnavailable: 1 });
    assert.ok(seen.maxTotal <= 4, `max total ${seen.maxTotal}`);
    assert.ok(seen.minReady >= 3, `min ready ${seen.minReady}`);
    const endpoints = JSON.parse(
      await t.kubectlOk("get", "endpoints", "web", "-n", NS, "-o", "json"),
    );
    assert.equal(endpoints.subsets[0].addresses.length, 4, "Endpoints list the 4 Ready pods");
    const slices = JSON.parse(
      await t.kubectlOk(
        "get",
        "endpointslices",
        "-n",
        NS,
        "-l",
        "kubernetes.io/service-name=web",
        "-o",
        "json",
      ),
    );
    assert.equal(
      slices.items[0].endpoints.filter((e: { conditions: { ready: boolean } }) =>
        e.conditions.ready
      ).length,
      4,
    );
    const described = await t.kubectlOk("describe", "service", "web", "-n", NS);
    assert.match(described, /^Endpoints:\s+10\.244\./m);
  } finally {
    await t.close();
  }
});

Deno.test("CronJobs can be created and listed; --dry-run=server stores nothing", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const file = await tempFile(`apiVersion: batch/v1
kind: CronJob
metadata: {name: cleanup-blue, namespace: ${NS}}
spec:
  schedule: "*/30 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: cleanup, image: registry.local/kubectl:1.32}]
`);
    assert.match(
      await t.kubectlOk("apply", "--dry-run=server", "-f", file),
      /created \(server dry run\)/,
    );
    assert.equal((await t.kubectl("get", "cronjob", "cleanup-blue", "-n", NS)).code, 1);
    await t.kubectlOk("apply", "-f", file);
    assert.match(
      await t.kubectlOk("get", "cronjobs", "-n", NS),
      /cleanup-blue\s+\*\/30 \* \* \* \*/,
    );
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});
