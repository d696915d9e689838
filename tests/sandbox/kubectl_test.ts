import assert from "node:assert/strict";
import { deploymentYaml, tempFile, waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

Deno.test("kubectl get prints tables, JSON, jsonpath and honours -l against the sandbox", async () => {
  const t = await withSandbox();
  try {
    const ns = await t.kubectlOk("get", "namespaces");
    assert.match(ns, /^NAME\s+STATUS\s+AGE/m);
    for (const name of ["tracktion-dev", "tracktion-staging", "tracktion-prod"]) {
      assert.match(ns, new RegExp(`^${name}\\s+Active`, "m"));
    }
    const secrets = JSON.parse(await t.kubectlOk("get", "secrets", "-n", NS, "-o", "json"));
    assert.equal(secrets.kind, "List");
    const names = secrets.items.map((s: { metadata: { name: string } }) => s.metadata.name).sort();
    assert.deepEqual(names, [
      "api-keys",
      "db-credentials",
      "redis-credentials",
      "tls-certificates",
    ]);
    const ip = await t.kubectlOk(
      "get",
      "service",
      "tracktion-lb",
      "-n",
      NS,
      "-o",
      "jsonpath={.status.loadBalancer.ingress[0].ip}",
    );
    assert.match(ip, /^[0-9.]+$/);
    const crt = await t.kubectlOk(
      "get",
      "secret",
      "tls-certificates",
      "-n",
      NS,
      "-o",
      "jsonpath={.data.tls\\.crt}",
    );
    const pem = new TextDecoder().decode(Uint8Array.from(atob(crt), (c) => c.charCodeAt(0)));
    const check = await new Deno.Command("openssl", {
      args: ["x509", "-checkend", "2592000", "-noout"],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const writer = check.stdin.getWriter();
    await writer.write(new TextEncoder().encode(pem));
    await writer.close();
    assert.equal((await check.status).code, 0, "the seeded certificate is valid for 30 more days");
    const labelled = await t.kubectlOk(
      "get",
      "secrets",
      "-n",
      NS,
      "-l",
      "app=tracktion",
      "-o",
      "name",
    );
    assert.equal(labelled.trim().split("\n").length, 4);
    const none = await t.kubectl("get", "secrets", "-n", NS, "-l", "app=nothing");
    assert.equal(none.code, 0);
    assert.match(none.stderr, /No resources found in tracktion-dev namespace/);
    const missing = await t.kubectl("get", "configmap", "nope", "-n", NS);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /configmaps "nope" not found/);
    const version = JSON.parse(await t.kubectlOk("version", "-o", "json"));
    assert.equal(version.serverVersion.minor, "32");
    const top = await t.kubectlOk("top", "nodes");
    assert.match(top, /sandbox-node-1\s+\d+m\s+\d+%/);
    const rbac = await t.kubectlOk("get", "rolebindings,clusterrolebindings", "-n", NS);
    assert.match(rbac, /tracktion/);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl apply (client-side and --server-side), rollout status, scale and delete drive a Deployment", async () => {
  const t = await withSandbox();
  try {
    const file = await tempFile(
      deploymentYaml({ name: "web", namespace: NS, version: "1.0.0", replicas: 3 }),
    );
    assert.match(
      await t.kubectlOk("apply", "-f", file),
      /deployment.apps\/web created\nservice\/web created/,
    );
    assert.match(await t.kubectlOk("apply", "-f", file), /deployment.apps\/web unchanged/);
    const rollout = await t.kubectlOk(
      "rollout",
      "status",
      "deployment/web",
      "-n",
      NS,
      "--timeout=60s",
    );
    assert.match(rollout, /deployment "web" successfully rolled out/);
    const dep = JSON.parse(await t.kubectlOk("get", "deployment", "web", "-n", NS, "-o", "json"));
    assert.equal(dep.status.readyReplicas, 3);
    assert.equal(dep.status.observedGeneration, dep.metadata.generation);
    const pods = await t.kubectlOk("get", "pods", "-n", NS, "-l", "service=web");
    assert.equal(pods.match(/1\/1\s+Running/g)?.length, 3);

    await Deno.writeTextFile(
      file,
      deploymentYaml({ name: "web", namespace: NS, version: "1.1.0", replicas: 3 }),
    );
    assert.match(await t.kubectlOk("apply", "-f", file), /deployment.apps\/web configured/);
    await t.kubectlOk("rollout", "status", "deployment/web", "-n", NS, "--timeout=60s");
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
    const rs = JSON.parse(await t.kubectlOk("get", "rs", "-n", NS, "-o", "json"));
    assert.equal(rs.items.length, 2, "old and new ReplicaSet");
    const revision = await t.kubectlOk(
      "get",
      "deploy",
      "web",
      "-n",
      NS,
      "-o",
      "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    );
    assert.equal(revision, "2");

    await t.kubectlOk("scale", "deployment/web", "-n", NS, "--replicas=5");
    await t.kubectlOk(
      "wait",
      "--for=jsonpath={.status.readyReplicas}=5",
      "deployment/web",
      "-n",
      NS,
      "--timeout=60s",
    );
    assert.equal(
      await t.kubectlOk("get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.replicas}"),
      "5",
    );

    const ssaFile = await tempFile(
      deploymentYaml({ name: "web", namespace: NS, version: "1.2.0", replicas: 5 }),
    );
    assert.match(await t.kubectlOk("apply", "--server-side", "-f", ssaFile), /serverside-applied/);
    await t.kubectlOk(
      "wait",
      "--for=condition=Available",
      "deployment/web",
      "-n",
      NS,
      "--timeout=60s",
    );
    const managers = JSON.parse(
      await t.kubectlOk("get", "deploy", "web", "-n", NS, "-o", "json", "--show-managed-fields"),
    )
      .metadata.managedFields.map((m: { manager: string; operation: string }) =>
        `${m.manager}/${m.operation}`
      );
    assert.ok(managers.includes("kubectl/Apply"), `managers: ${managers}`);

    assert.match(
      await t.kubectlOk("delete", "deployment", "web", "-n", NS),
      /deployment.apps "web" deleted/,
    );
    await waitFor(
      "pods of web gone",
      async () =>
        (await t.kubectlOk("get", "pods", "-n", NS, "-l", "service=web", "-o", "name")).trim() ===
          "",
    );
    assert.equal(
      (await t.kubectlOk("get", "rs", "-n", NS, "-o", "name")).trim(),
      "",
      "ReplicaSets are garbage-collected",
    );
    await Deno.remove(file);
    await Deno.remove(ssaFile);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl patch: default strategic, --type merge and --type json change the stored object", async () => {
  const t = await withSandbox();
  try {
    const file = await tempFile(deploymentYaml({ name: "api", namespace: NS, version: "1.0.0" }));
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk(
      "patch",
      "deployment",
      "api",
      "-n",
      NS,
      "-p",
      JSON.stringify({
        spec: {
          template: {
            spec: { containers: [{ name: "app", env: [{ name: "FEATURE", value: "on" }] }] },
          },
        },
      }),
    );
    const env = JSON.parse(
      await t.kubectlOk(
        "get",
        "deploy",
        "api",
        "-n",
        NS,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env}",
      ),
    );
    assert.deepEqual(
      env,
      [{ name: "LOG_LEVEL", value: "info" }, { name: "FEATURE", value: "on" }],
      "containers and env merge by name",
    );
    await t.kubectlOk(
      "patch",
      "service",
      "api",
      "-n",
      NS,
      "-p",
      '{"spec":{"selector":{"slot":"green"}}}',
    );
    assert.equal(
      await t.kubectlOk("get", "svc", "api", "-n", NS, "-o", "jsonpath={.spec.selector.slot}"),
      "green",
    );
    await t.kubectlOk(
      "patch",
      "deployment",
      "api",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      '{"metadata":{"labels":{"team":"audio"}}}',
    );
    assert.equal(
      await t.kubectlOk("get", "deploy", "api", "-n", NS, "-o", "jsonpath={.metadata.labels.team}"),
      "audio",
    );
    await t.kubectlOk(
      "patch",
      "deployment",
      "api",
      "-n",
      NS,
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/spec/replicas","value":4}]',
    );
    assert.equal(
      await t.kubectlOk("get", "deploy", "api", "-n", NS, "-o", "jsonpath={.spec.replicas}"),
      "4",
    );
    const bad = await t.kubectl(
      "patch",
      "deployment",
      "api",
      "-n",
      NS,
      "--type",
      "json",
      "-p",
      '[{"op":"remove","path":"/spec/nothing"}]',
    );
    assert.notEqual(bad.code, 0);

    const route = await tempFile(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ${NS}}
spec:
  parentRefs: [{name: tracktion-gateway}]
  rules:
  - backendRefs: [{name: api-blue, port: 80, weight: 95}, {name: api-green, port: 80, weight: 5}]
`);
    await t.kubectlOk("apply", "-f", route);
    const smp = await t.kubectl(
      "patch",
      "httproute",
      "api",
      "-n",
      NS,
      "-p",
      '{"spec":{"hostnames":["a.local"]}}',
    );
    assert.notEqual(smp.code, 0);
    assert.match(smp.stderr, /strategic-merge-patch\+json is not supported|unknown format/);
    await t.kubectlOk(
      "patch",
      "httproute",
      "api",
      "-n",
      NS,
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":20}]',
    );
    assert.equal(
      await t.kubectlOk(
        "get",
        "httproute",
        "api",
        "-n",
        NS,
        "-o",
        "jsonpath={.spec.rules[0].backendRefs[1].weight}",
      ),
      "20",
    );
    await Deno.remove(file);
    await Deno.remove(route);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl wait --for=condition=complete follows a Job, and invalid manifests are refused with 422", async () => {
  const t = await withSandbox();
  try {
    const job = await tempFile(`apiVersion: batch/v1
kind: Job
metadata: {name: smoke, namespace: ${NS}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: smoke, image: registry.local/smoke:1.0.0}]
`);
    await t.kubectlOk("apply", "-f", job);
    await t.kubectlOk("wait", "--for=condition=complete", "job/smoke", "-n", NS, "--timeout=60s");
    const table = await t.kubectlOk("get", "jobs", "-n", NS);
    assert.match(table, /smoke\s+Complete\s+1\/1/);
    const events = await t.kubectlOk("get", "events", "-n", NS);
    assert.match(events, /Completed/);
    const invalid = await tempFile(`apiVersion: batch/v1
kind: Job
metadata: {name: broken, namespace: ${NS}}
spec:
  template:
    spec:
      containers: [{name: x, image: registry.local/x:1}]
`);
    const r = await t.kubectl("apply", "-f", invalid);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is invalid: spec.template.spec.restartPolicy/);
    assert.equal(
      (await t.kubectl("get", "job", "broken", "-n", NS)).code,
      1,
      "nothing was created",
    );
    await Deno.remove(job);
    await Deno.remove(invalid);
  } finally {
    await t.close();
  }
});
