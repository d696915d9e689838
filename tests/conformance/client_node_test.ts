/**
 * The conformance scenarios driven by `@kubernetes/client-node` (its typed APIs, `Watch`,
 * `Exec` and `PortForward` over its own WebSocket client).
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { PassThrough } from "node:stream";
import {
  deployment,
  type Implementations,
  names,
  NS,
  type Refusal,
  runConformance,
  type ScenarioContext,
  settle,
} from "./_scenarios.ts";

const cache = new Map<string, ReturnType<typeof make>>();

function make(kubeconfig: string) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

function api(ctx: ScenarioContext) {
  const found = cache.get(ctx.kubeconfig) ?? make(ctx.kubeconfig);
  cache.set(ctx.kubeconfig, found);
  return found;
}

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const body = JSON.parse(String(error.body));
      return { code: error.code, reason: body.reason };
    }
    throw error;
  }
  throw new Error("expected the call to be refused");
}

const as = (strategy: string) => k8s.setHeaderOptions("Content-Type", strategy);
type Event = [string, string, string | undefined];

/** Watch ConfigMaps labelled suite=watch; `onEvent` returns true to stop. */
function watch(
  ctx: ScenarioContext,
  query: Record<string, string>,
  onEvent: (phase: string, obj: k8s.V1ConfigMap & k8s.V1Status) => boolean | Promise<boolean>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      controller?.abort();
      resolve();
    };
    new k8s.Watch(api(ctx).kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { labelSelector: "suite=watch", ...query },
      async (phase, obj) => {
        if (!stopped && await onEvent(phase, obj)) stop();
      },
      (error) => (error && !stopped ? reject(error) : stop()),
    ).then((c) => {
      controller = c;
      if (stopped) c.abort();
    }, reject);
  });
}

function event(phase: string, obj: k8s.V1ConfigMap): Event {
  return [phase, String(obj.metadata?.name), obj.data?.n];
}

async function deleteWith(ctx: ScenarioContext, name: string, propagationPolicy: string) {
  const { apps, core } = api(ctx);
  const owner = await apps.createNamespacedDeployment({
    namespace: NS,
    body: deployment(name) as k8s.V1Deployment,
  });
  const labelSelector = `app=${name}`;
  await settle(
    async () => (await core.listNamespacedPod({ namespace: NS, labelSelector })).items.length,
    (n) => n === 1,
  );
  await apps.deleteNamespacedDeployment({ name, namespace: NS, propagationPolicy });
  const read = async () => {
    const rs = (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector })).items;
    return {
      owner: (await refusal(apps.readNamespacedDeployment({ name, namespace: NS }))).code,
      replicaSets: rs.length,
      pods: (await core.listNamespacedPod({ namespace: NS, labelSelector })).items.length,
      ownerRefsLeft:
        rs.filter((r) =>
          (r.metadata?.ownerReferences ?? []).some((o) => o.uid === owner.metadata?.uid)
        ).length,
    };
  };
  return await settle(read, (o) => o.owner === 404 && o.ownerRefsLeft === 0);
}

/** Run a command in pod logger; its stdout, stderr and exit code (from the v5 status). */
async function exec(ctx: ScenarioContext, command: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  const status = await new Promise<k8s.V1Status>((resolve, reject) => {
    new k8s.Exec(api(ctx).kc)
      .exec(NS, "logger", "app", command, stdout, stderr, null, false, resolve)
      .catch(reject);
  });
  const exit = status.status === "Success"
    ? 0
    : Number(status.details?.causes?.find((c) => c.reason === "ExitCode")?.message ?? -1);
  return { out, err, exit };
}

/**
 * client-node's implementation of every scenario.
 *
 * @example
 * ```ts ignore
 * import { CLIENT_NODE } from "./client_node_test.ts";
 * console.log(Object.keys(CLIENT_NODE).length); // one per scenario of _scenarios.ts
 * ```
 */
export const CLIENT_NODE: Implementations = {
  async "create"(ctx) {
    const { core } = api(ctx);
    const body = { metadata: { name: "conf-a" }, data: { a: "1" } };
    const created = await core.createNamespacedConfigMap({ namespace: NS, body });
    return {
      data: created.data,
      uid: typeof created.metadata?.uid === "string",
      resourceVersion: typeof created.metadata?.resourceVersion === "string",
      again: await refusal(core.createNamespacedConfigMap({ namespace: NS, body })),
    };
  },
  async "get"(ctx) {
    const { core } = api(ctx);
    return {
      data: (await core.readNamespacedConfigMap({ name: "conf-a", namespace: NS })).data,
      missing: await refusal(core.readNamespacedConfigMap({ name: "conf-missing", namespace: NS })),
    };
  },
  async "list with label and field selectors"(ctx) {
    const { core } = api(ctx);
    for (const [name, tier] of [["conf-l1", "web"], ["conf-l2", "web"], ["conf-l3", "db"]]) {
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: name!, labels: { suite: "list", tier: tier! } } },
      });
    }
    const list = async (labelSelector: string, fieldSelector?: string) =>
      names(
        (await core.listNamespacedConfigMap({
          namespace: NS,
          labelSelector,
          ...(fieldSelector ? { fieldSelector } : {}),
        })).items,
      );
    return {
      equality: await list("suite=list,tier=web"),
      inequality: await list("suite=list,tier!=web"),
      set: await list("suite=list,tier in (db,cache)"),
      field: await list("suite=list", "metadata.name!=conf-l1"),
    };
  },
  async "watch from now"(ctx) {
    const { core } = api(ctx);
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: "conf-w", labels: { suite: "watch" } }, data: { n: "0" } },
    });
    const events: Event[] = [];
    await watch(ctx, {}, async (phase, obj) => {
      events.push(event(phase, obj));
      if (phase === "ADDED") {
        await core.patchNamespacedConfigMap(
          { name: "conf-w", namespace: NS, body: { data: { n: "1" } } },
          as(k8s.PatchStrategy.MergePatch),
        );
      }
      return events.length >= 2;
    });
    return { events };
  },
  async "watch from a resourceVersion"(ctx) {
    const { core } = api(ctx);
    const list = await core.listNamespacedConfigMap({
      namespace: NS,
      labelSelector: "suite=watch",
    });
    await core.patchNamespacedConfigMap(
      { name: "conf-w", namespace: NS, body: { data: { n: "2" } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: "conf-w2", labels: { suite: "watch" } }, data: { n: "9" } },
    });
    const events: Event[] = [];
    await watch(ctx, { resourceVersion: String(list.metadata?.resourceVersion) }, (phase, obj) => {
      events.push(event(phase, obj));
      return events.length >= 2;
    });
    return { events };
  },
  async "watch from an expired resourceVersion"(ctx) {
    let error: Refusal | undefined;
    await watch(ctx, { resourceVersion: "1" }, (phase, obj) => {
      if (phase === "ERROR") error = { code: Number(obj.code), reason: String(obj.reason) };
      return true;
    });
    return { error };
  },
  async "JSON patch"(ctx) {
    const { core } = api(ctx);
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: "conf-p" }, data: { a: "1", b: "2" } },
    });
    const patch = (body: unknown) =>
      core.patchNamespacedConfigMap(
        { name: "conf-p", namespace: NS, body },
        as(k8s.PatchStrategy.JsonPatch),
      );
    const patched = await patch([
      { op: "test", path: "/data/a", value: "1" },
      { op: "replace", path: "/data/b", value: "3" },
      { op: "add", path: "/data/c", value: "4" },
    ]);
    return {
      data: patched.data,
      failedTest: await refusal(patch([{ op: "test", path: "/data/a", value: "9" }])),
    };
  },
  async "merge patch"(ctx) {
    const patched = await api(ctx).core.patchNamespacedConfigMap({
      name: "conf-p",
      namespace: NS,
      body: { data: { a: null, d: "5" }, metadata: { labels: { merged: "yes" } } },
    }, as(k8s.PatchStrategy.MergePatch));
    return { data: patched.data, labels: patched.metadata?.labels };
  },
  async "strategic merge patch"(ctx) {
    const { apps } = api(ctx);
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment("web") as k8s.V1Deployment,
    });
    const d = await apps.patchNamespacedDeployment({
      name: "web",
      namespace: NS,
      body: {
        spec: {
          template: { spec: { containers: [{ name: "app", env: [{ name: "B", value: "2" }] }] } },
        },
      },
    }, as(k8s.PatchStrategy.StrategicMergePatch));
    const c = d.spec?.template.spec?.containers[0];
    return { image: c?.image, env: (c?.env ?? []).map((e) => `${e.name}=${e.value}`).sort() };
  },
  async "apply"(ctx) {
    const applied = await api(ctx).core.patchNamespacedConfigMap({
      name: "conf-s",
      namespace: NS,
      fieldManager: "alpha",
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "conf-s" }, data: { x: "1" } },
    }, as(k8s.PatchStrategy.ServerSideApply));
    return {
      data: applied.data,
      managers: (applied.metadata?.managedFields ?? []).map((f) => [f.manager, f.operation]),
    };
  },
  async "apply with a conflict, then forced"(ctx) {
    const { core } = api(ctx);
    const apply = (force: boolean) =>
      core.patchNamespacedConfigMap({
        name: "conf-s",
        namespace: NS,
        fieldManager: "beta",
        ...(force ? { force } : {}),
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "conf-s" },
          data: { x: "2" },
        },
      }, as(k8s.PatchStrategy.ServerSideApply));
    let conflict: unknown;
    try {
      await apply(false);
    } catch (error) {
      if (!(error instanceof k8s.ApiException)) throw error;
      const body = JSON.parse(String(error.body));
      const causes: { field: string; message: string }[] = body.details?.causes ?? [];
      conflict = {
        code: error.code,
        manager: /conflict with "([^"]+)"/.exec(causes[0]?.message ?? "")?.[1],
        fields: causes.map((c) => c.field),
      };
    }
    const forced = await apply(true);
    return {
      conflict,
      forced: forced.data,
      ownerOfX: (forced.metadata?.managedFields ?? [])
        .filter((f) => (f.fieldsV1 as { "f:data"?: Record<string, unknown> })?.["f:data"]?.["f:x"])
        .map((f) => f.manager),
    };
  },
  async "stale update"(ctx) {
    const { core } = api(ctx);
    const first = await core.readNamespacedConfigMap({ name: "conf-a", namespace: NS });
    const replace = (data: Record<string, string>) =>
      core.replaceNamespacedConfigMap({ name: "conf-a", namespace: NS, body: { ...first, data } });
    await replace({ a: "2" });
    return {
      stale: await refusal(replace({ a: "3" })),
      kept: (await core.readNamespacedConfigMap({ name: "conf-a", namespace: NS })).data,
    };
  },
  async "status subresource"(ctx) {
    const { core } = api(ctx);
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: "svc-s" },
        spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8000 }] },
      },
    });
    await core.patchNamespacedServiceStatus({
      name: "svc-s",
      namespace: NS,
      body: {
        status: { loadBalancer: { ingress: [{ ip: "10.9.9.9" }] } },
        spec: { publishNotReadyAddresses: true },
      },
    }, as(k8s.PatchStrategy.MergePatch));
    await core.patchNamespacedService({
      name: "svc-s",
      namespace: NS,
      body: { status: { loadBalancer: { ingress: [{ ip: "10.8.8.8" }] } } },
    }, as(k8s.PatchStrategy.MergePatch));
    const s = await core.readNamespacedService({ name: "svc-s", namespace: NS });
    const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
    return {
      ingress: ip,
      specIgnoredByStatus: s.spec?.publishNotReadyAddresses ?? false,
      statusIgnoredByMain: ip,
    };
  },
  async "scale subresource"(ctx) {
    const { apps } = api(ctx);
    const scale = await apps.readNamespacedDeploymentScale({ name: "web", namespace: NS });
    await apps.patchNamespacedDeploymentScale(
      { name: "web", namespace: NS, body: { spec: { replicas: 3 } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    return {
      replicas: scale.spec?.replicas,
      selector: scale.status?.selector,
      after: (await apps.readNamespacedDeployment({ name: "web", namespace: NS })).spec?.replicas,
    };
  },
  "delete with foreground propagation": (ctx) => deleteWith(ctx, "del-fg", "Foreground"),
  "delete with background propagation": (ctx) => deleteWith(ctx, "del-bg", "Background"),
  "delete with orphan propagation": {
    run: (ctx) => deleteWith(ctx, "del-or", "Orphan"),
  },
  "delete's answer by propagation policy": {
    async run(ctx) {
      const { core } = api(ctx);
      const answers: Record<string, string | undefined> = {};
      for (
        const [policy, name] of [["Foreground", "conf-d-fg"], ["Orphan", "conf-d-or"], [
          "Background",
          "conf-d-bg",
        ]]
      ) {
        await core.createNamespacedConfigMap({
          namespace: NS,
          body: { metadata: { name: name! } },
        });
        // The typed answer is a V1Status; its kind is kept as the server sent it.
        const answer = await core.deleteNamespacedConfigMap({
          name: name!,
          namespace: NS,
          propagationPolicy: policy!,
        });
        answers[policy!] = answer.kind;
      }
      const left = await settle(
        async () =>
          (await core.listNamespacedConfigMap({ namespace: NS })).items
            .filter((c) => c.metadata?.name?.startsWith("conf-d-")).length,
        (n) => n === 0,
      );
      return { answers, gone: left === 0 };
    },
  },
  async "logs"(ctx) {
    const { core } = api(ctx);
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: "logger" },
        spec: { containers: [{ name: "app", image: "registry.local/logger:1.0.0" }] },
      },
    });
    await settle(
      () => core.readNamespacedPod({ name: "logger", namespace: NS }),
      (p) => (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    );
    const messages = (text: string) =>
      text.trim().split("\n").map((l) => JSON.parse(l).message as string);
    const log = (query: { tailLines?: number; container?: string } = {}) =>
      core.readNamespacedPodLog({ name: "logger", namespace: NS, ...query });
    return {
      messages: messages(await log()),
      tail: messages(await log({ tailLines: 1 })),
      badContainer: await refusal(log({ container: "nope" })),
    };
  },
  async "exec"(ctx) {
    const other = await exec(ctx, ["ls"]);
    return {
      hostname: (await exec(ctx, ["cat", "/etc/hostname"])).out.trim(),
      health: JSON.parse((await exec(ctx, ["curl", "-s", "http://localhost:8000/health"])).out)
        .status,
      other: { exit: other.exit, notAvailable: other.err.includes("not available in the sandbox") },
    };
  },
  async "port-forward"(ctx) {
    const input = new PassThrough();
    const output = new PassThrough();
    let raw = "";
    const response = new Promise<string>((resolve) => {
      output.on("data", (c) => {
        raw += c;
        const [head, body = ""] = raw.split("\r\n\r\n");
        const length = Number(/content-length:\s*(\d+)/i.exec(head ?? "")?.[1] ?? NaN);
        if (body.length >= length) resolve(raw);
      });
    });
    const socket = await new k8s.PortForward(api(ctx).kc)
      .portForward(NS, "logger", [8000], output, null, input);
    input.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    const text = await response;
    (typeof socket === "function" ? socket() : socket)?.close();
    const [head, body = ""] = text.split("\r\n\r\n");
    return { status: Number(head?.split(" ")[1]), health: JSON.parse(body).status };
  },
};

runConformance("client-node", CLIENT_NODE, import.meta.url);
