import assert from "node:assert/strict";
import { type TestSandbox, withSandbox } from "./_helpers.ts";
import { decodeObject, encodeObject } from "../../lib/sandbox/protobuf/mod.ts";
import { unknownType } from "../../lib/sandbox/protobuf/schema.ts";

const NS = "tracktion-dev";
const PROTOBUF = "application/vnd.kubernetes.protobuf";

interface Exchange {
  method: string;
  path: string;
  requestType: string;
  responseType: string;
  status: number;
  body: Uint8Array;
}

/**
 * A recording proxy in front of the sandbox: kubectl talks to it through its own kubeconfig,
 * and every request's and answer's media type (and the request body) is kept, so the test
 * sees what went over the wire rather than what kubectl says it sent.
 */
async function recordingProxy(t: TestSandbox) {
  const exchanges: Exchange[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array();
    const answer = await fetch(`${t.sandbox.url}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.method === "GET" || req.method === "HEAD" ? null : body,
    });
    exchanges.push({
      method: req.method,
      path: url.pathname,
      requestType: req.headers.get("content-type") ?? "",
      responseType: answer.headers.get("content-type") ?? "",
      status: answer.status,
      body,
    });
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  });
  const kubeconfig = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  const original = await Deno.readTextFile(t.sandbox.kubeconfigPath);
  await Deno.writeTextFile(
    kubeconfig,
    original.replaceAll(t.sandbox.url, `http://127.0.0.1:${server.addr.port}`),
  );
  const cacheDir = await Deno.makeTempDir({ prefix: "kubectl-cache-" });
  const kubectl = async (...args: string[]) => {
    const out = await new Deno.Command("kubectl", {
      args: ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  };
  return {
    exchanges,
    kubectl,
    async close() {
      await server.shutdown();
      await Deno.remove(kubeconfig).catch(() => {});
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    },
  };
}

function posts(exchanges: Exchange[], resource: string): Exchange[] {
  return exchanges.filter((e) => e.method === "POST" && e.path.endsWith(`/${resource}`));
}

Deno.test("kubectl create's generators send protobuf, get protobuf back (objects, lists, errors), and the objects read back as given", async () => {
  const t = await withSandbox();
  const proxy = await recordingProxy(t);
  try {
    const ok = async (...args: string[]) => {
      const r = await proxy.kubectl(...args);
      assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(
      await ok("create", "configmap", "pb-cm", "--from-literal=a=b", "--from-literal=c=", "-n", NS),
      /configmap\/pb-cm created/,
    );
    await ok(
      "create",
      "secret",
      "generic",
      "pb-secret",
      "--from-literal=password=hunter2",
      "-n",
      NS,
    );
    await ok(
      "create",
      "deployment",
      "web",
      "--image=registry.local/web:1.2",
      "--replicas=3",
      "--port=8000",
      "-n",
      NS,
    );
    await ok("create", "job", "pb-job", "--image=busybox:1.36", "-n", NS, "--", "echo", "hello");
    await ok("create", "namespace", "pb-namespace");
    await ok("create", "service", "clusterip", "pb-svc", "--tcp=80:8000", "-n", NS);
    await ok(
      "run",
      "pb-pod",
      "--image=busybox:1.36",
      "--restart=Never",
      "--env=A=1",
      "--labels=x=y",
      "-n",
      NS,
    );

    // What went over the wire: every generator's POST was protobuf and was answered in protobuf.
    for (
      const resource of ["configmaps", "secrets", "deployments", "jobs", "namespaces", "services"]
    ) {
      const [post, ...more] = posts(proxy.exchanges, resource);
      assert.ok(post, `a POST to ${resource}`);
      assert.equal(more.length, 0);
      assert.equal(post.requestType, PROTOBUF, `${resource} request body`);
      assert.equal(post.responseType, PROTOBUF, `${resource} answer`);
      assert.equal(post.status, 201);
      // The bytes are the real Go encoding: they decode with our schema and no field lost.
      const decoded = decodeObject(post.body);
      assert.ok(typeof decoded.kind === "string");
    }
    const podPost = posts(proxy.exchanges, "pods")[0];
    assert.ok(podPost, "kubectl run POSTs the pod");
    assert.equal(podPost.status, 201);

    const get = async (...args: string[]) => JSON.parse(await ok("get", ...args, "-o", "json"));
    const cm = await get("configmap", "pb-cm", "-n", NS);
    assert.deepEqual(cm.data, { a: "b", c: "" });
    const secret = await get("secret", "pb-secret", "-n", NS);
    assert.equal(secret.type, "Opaque");
    assert.equal(atob(secret.data.password), "hunter2");
    const dep = await get("deployment", "web", "-n", NS);
    assert.equal(dep.spec.replicas, 3);
    assert.deepEqual(dep.spec.selector, { matchLabels: { app: "web" } });
    const container = dep.spec.template.spec.containers[0];
    assert.equal(container.image, "registry.local/web:1.2");
    assert.equal(container.ports[0].containerPort, 8000);
    const job = await get("job", "pb-job", "-n", NS);
    assert.deepEqual(job.spec.template.spec.containers[0].command, ["echo", "hello"]);
    assert.equal(job.spec.template.spec.restartPolicy, "Never");
    const ns = await get("namespace", "pb-namespace");
    assert.equal(ns.metadata.name, "pb-namespace");
    const svc = await get("service", "pb-svc", "-n", NS);
    assert.equal(svc.spec.type, "ClusterIP");
    assert.equal(svc.spec.ports[0].port, 80);
    assert.equal(svc.spec.ports[0].targetPort, 8000);
    assert.deepEqual(svc.spec.selector, { app: "pb-svc" });
    const pod = await get("pod", "pb-pod", "-n", NS);
    assert.equal(pod.spec.restartPolicy, "Never");
    assert.deepEqual(pod.spec.containers[0].env, [{ name: "A", value: "1" }]);
    assert.deepEqual(pod.metadata.labels, { x: "y" });

    // A list for a protobuf client is a protobuf PodList: `kubectl logs deployment/...` lists
    // the deployment's pods through client-go's typed client and decodes every pod's status.
    await ok("rollout", "status", "deployment/web", "-n", NS, "--timeout=60s");
    assert.match(await ok("logs", "deployment/web", "-n", NS, "--tail=1"), /"level"/);
    const podList = proxy.exchanges.find((e) =>
      e.method === "GET" && e.path === `/api/v1/namespaces/${NS}/pods`
    );
    assert.equal(podList?.responseType, PROTOBUF);

    // A failure answered to a protobuf client is a protobuf Status kubectl reads.
    const again = await proxy.kubectl(
      "create",
      "configmap",
      "pb-cm",
      "--from-literal=a=b",
      "-n",
      NS,
    );
    assert.equal(again.code, 1);
    assert.match(again.stderr, /configmaps "pb-cm" already exists/);
    const conflict = posts(proxy.exchanges, "configmaps")[1];
    assert.equal(conflict?.status, 409);
    assert.equal(conflict?.responseType, PROTOBUF);
  } finally {
    await proxy.close();
    await t.close();
  }
});

Deno.test("kubectl --v=8 shows the protobuf exchange; RBAC generators work; bad bodies get 400 and 415 over HTTP", async () => {
  const t = await withSandbox();
  try {
    const r = await t.kubectl(
      "create",
      "configmap",
      "pb-v8",
      "--from-literal=a=b",
      "-n",
      NS,
      "--v=8",
    );
    assert.equal(r.code, 0, r.stderr);
    const headerLines = r.stderr.split("\n").filter((l) => l.includes("Content-Type:"));
    // One request header and one response header, both protobuf.
    assert.equal(headerLines.filter((l) => l.includes(PROTOBUF)).length, 2, headerLines.join("\n"));

    await t.kubectlOk("create", "role", "pb-role", "--verb=get,list", "--resource=pods", "-n", NS);
    await t.kubectlOk(
      "create",
      "rolebinding",
      "pb-rb",
      "--role=pb-role",
      "--serviceaccount=tracktion-dev:default",
      "-n",
      NS,
    );
    await t.kubectlOk(
      "create",
      "clusterrole",
      "pb-cr",
      "--verb=get",
      "--non-resource-url=/healthz",
    );
    await t.kubectlOk(
      "create",
      "clusterrolebinding",
      "pb-crb",
      "--clusterrole=pb-cr",
      "--user=alice",
    );
    const role = JSON.parse(await t.kubectlOk("get", "role", "pb-role", "-n", NS, "-o", "json"));
    assert.deepEqual(role.rules, [{
      apiGroups: [""],
      resources: ["pods"],
      verbs: ["get", "list"],
    }]);
    const rb = JSON.parse(await t.kubectlOk("get", "rolebinding", "pb-rb", "-n", NS, "-o", "json"));
    assert.deepEqual(rb.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "pb-role",
    });
    assert.deepEqual(rb.subjects, [{ kind: "ServiceAccount", name: "default", namespace: NS }]);
    const crb = JSON.parse(await t.kubectlOk("get", "clusterrolebinding", "pb-crb", "-o", "json"));
    assert.deepEqual(crb.subjects, [{
      apiGroup: "rbac.authorization.k8s.io",
      kind: "User",
      name: "alice",
    }]);

    // Straight to the server: a truncated body is a 400, a kind without a schema a 415.
    const post = (body: Uint8Array<ArrayBuffer>) =>
      fetch(`${t.sandbox.url}/api/v1/namespaces/${NS}/configmaps`, {
        method: "POST",
        headers: { "content-type": PROTOBUF, accept: "application/json" },
        body,
      });
    const good = encodeObject({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "pb-raw" },
    });
    const truncated = await post(good.slice(0, good.length - 3));
    assert.equal(truncated.status, 400);
    assert.match((await truncated.json()).message, /couldn't decode the protobuf body/);
    // A well-formed envelope naming a kind the sandbox has no schema for.
    const envelope = unknownType();
    const pdb = Uint8Array.of(
      0x6b,
      0x38,
      0x73,
      0x00,
      ...envelope.encode(envelope.fromObject({
        typeMeta: { apiVersion: "policy/v1", kind: "PodDisruptionBudget" },
        raw: new Uint8Array(),
      })).finish(),
    );
    const unsupported = await post(pdb);
    assert.equal(unsupported.status, 415);
    const status = await unsupported.json();
    assert.equal(status.reason, "UnsupportedMediaType");
    assert.match(status.message, /no protobuf schema for policy\/v1 PodDisruptionBudget/);
    assert.equal(
      (await t.kubectl("get", "configmap", "pb-raw", "-n", NS)).code,
      1,
      "nothing created",
    );
  } finally {
    await t.close();
  }
});
