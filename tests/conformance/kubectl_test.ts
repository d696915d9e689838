/**
 * The conformance scenarios driven by the real `kubectl` (v1.32 on PATH): its own requests,
 * content types and error handling. An API error's code and reason are read from the Status
 * body kubectl logs at `-v=8`; watches from a resourceVersion go through `kubectl get --raw`
 * (`kubectl get --watch` has no resourceVersion flag).
 * @module
 */
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

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function kubectl(ctx: ScenarioContext, args: string[], stdin?: string): Promise<Run> {
  const child = new Deno.Command("kubectl", {
    args: [...ctx.kubectlArgs, "-n", NS, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function ok(ctx: ScenarioContext, args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(ctx, args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function json(ctx: ScenarioContext, args: string[]) {
  return JSON.parse(await ok(ctx, [...args, "-o", "json"]));
}

/** The API's Status for a refused kubectl run (`-v=8` logs the server's response object). */
async function refusal(ctx: ScenarioContext, args: string[], stdin?: string): Promise<Refusal> {
  const r = await kubectl(ctx, ["-v=8", ...args], stdin);
  if (r.code === 0) throw new Error(`kubectl ${args.join(" ")} succeeded; expected a refusal`);
  const status = loggedStatus(r.stderr);
  if (!status) throw new Error(`kubectl ${args.join(" ")}: no Status in its log: ${r.stderr}`);
  return { code: status.code, reason: status.reason };
}

/** The last Status object among `-v=8`'s logged response bodies. */
function loggedStatus(log: string): { code: number; reason: string } | undefined {
  const bodies = [...log.matchAll(/"Response Body" body=("(?:[^"\\]|\\.)*")/g)]
    .map((m) => JSON.parse(m[1]!) as string);
  const objects = [...log.matchAll(/server response object: %s\[(\{[\s\S]*?\n\})\]/g)]
    .map((m) => m[1]!);
  return [...bodies, ...objects].map((text) => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }).filter((o) => o?.kind === "Status").at(-1);
}

/** Spawn kubectl and hand each complete stdout chunk to `take` until it returns true. */
async function stream(
  ctx: ScenarioContext,
  args: string[],
  take: (text: string) => boolean | Promise<boolean>,
): Promise<void> {
  const child = new Deno.Command("kubectl", {
    args: [...ctx.kubectlArgs, "-n", NS, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      if (await take(text)) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // already ended
    }
    await child.status;
  }
}

/** The complete JSON lines of a stream read so far. */
function lines(text: string): Record<string, unknown>[] {
  return text.split("\n").slice(0, -1).filter((l) => l.trim()).map((l) => JSON.parse(l));
}

type Event = { type: string; object: { metadata: { name: string }; data?: { n?: string } } };
const triple = (e: Event) => [e.type, e.object.metadata.name, e.object.data?.n];

async function rawWatch(ctx: ScenarioContext, rv: string, count: number): Promise<Event[]> {
  let events: Event[] = [];
  const path = `/api/v1/namespaces/${NS}/configmaps?watch=true&labelSelector=suite%3Dwatch` +
    `&resourceVersion=${rv}`;
  await stream(ctx, ["get", "--raw", path], (text) => {
    events = lines(text) as unknown as Event[];
    return events.length >= count;
  });
  return events;
}

function configMap(name: string, data: Record<string, string>, labels = {}) {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: NS, labels },
    data,
  });
}

async function deleteWith(ctx: ScenarioContext, name: string, cascade: string) {
  await ok(ctx, ["create", "-f", "-"], JSON.stringify(deployment(name)));
  const owner = await json(ctx, ["get", "deployment", name]);
  const select = ["-l", `app=${name}`];
  await settle(
    async () => (await json(ctx, ["get", "pods", ...select])).items.length,
    (n) => n === 1,
  );
  await ok(ctx, ["delete", "deployment", name, `--cascade=${cascade}`]);
  const read = async () => {
    const rs = (await json(ctx, ["get", "replicasets", ...select])).items;
    return {
      owner: (await refusal(ctx, ["get", "deployment", name])).code,
      replicaSets: rs.length,
      pods: (await json(ctx, ["get", "pods", ...select])).items.length,
      ownerRefsLeft:
        rs.filter((r: { metadata: { ownerReferences?: { uid: string }[] } }) =>
          (r.metadata.ownerReferences ?? []).some((o) => o.uid === owner.metadata.uid)
        ).length,
    };
  };
  return await settle(read, (o) => o.owner === 404 && o.ownerRefsLeft === 0);
}

/**
 * kubectl's implementation of every scenario.
 *
 * @example
 * ```ts ignore
 * import { KUBECTL } from "./kubectl_test.ts";
 * console.log(Object.keys(KUBECTL).length); // one per scenario of _scenarios.ts
 * ```
 */
export const KUBECTL: Implementations = {
  async "create"(ctx) {
    const created = JSON.parse(
      await ok(ctx, ["create", "-o", "json", "-f", "-"], configMap("conf-a", { a: "1" })),
    );
    return {
      data: created.data,
      uid: typeof created.metadata.uid === "string",
      resourceVersion: typeof created.metadata.resourceVersion === "string",
      again: await refusal(ctx, ["create", "-f", "-"], configMap("conf-a", { a: "1" })),
    };
  },
  async "get"(ctx) {
    return {
      data: (await json(ctx, ["get", "configmap", "conf-a"])).data,
      missing: await refusal(ctx, ["get", "configmap", "conf-missing"]),
    };
  },
  async "list with label and field selectors"(ctx) {
    for (const [name, tier] of [["conf-l1", "web"], ["conf-l2", "web"], ["conf-l3", "db"]]) {
      await ok(ctx, ["create", "-f", "-"], configMap(name!, { k: name! }, { suite: "list", tier }));
    }
    const list = async (...args: string[]) =>
      names((await json(ctx, ["get", "configmaps", ...args])).items);
    return {
      equality: await list("-l", "suite=list,tier=web"),
      inequality: await list("-l", "suite=list,tier!=web"),
      set: await list("-l", "suite=list,tier in (db,cache)"),
      field: await list("-l", "suite=list", "--field-selector", "metadata.name!=conf-l1"),
    };
  },
  async "watch from now"(ctx) {
    await ok(ctx, ["create", "-f", "-"], configMap("conf-w", { n: "0" }, { suite: "watch" }));
    let events: Event[] = [];
    let patched = false;
    await stream(
      ctx,
      ["get", "configmaps", "-l", "suite=watch", "--watch", "--output-watch-events", "-o", "json"],
      async (text) => {
        events = lines(text) as unknown as Event[];
        if (events.length === 1 && !patched) {
          patched = true;
          await ok(ctx, [
            "patch",
            "configmap",
            "conf-w",
            "--type=merge",
            "-p",
            '{"data":{"n":"1"}}',
          ]);
        }
        return events.length >= 2;
      },
    );
    return { events: events.map(triple) };
  },
  async "watch from a resourceVersion"(ctx) {
    // kubectl get -o json prints a List of its own, without the list's resourceVersion.
    const path = `/api/v1/namespaces/${NS}/configmaps?labelSelector=suite%3Dwatch`;
    const rv = JSON.parse(await ok(ctx, ["get", "--raw", path])).metadata.resourceVersion;
    await ok(ctx, ["patch", "configmap", "conf-w", "--type=merge", "-p", '{"data":{"n":"2"}}']);
    await ok(ctx, ["create", "-f", "-"], configMap("conf-w2", { n: "9" }, { suite: "watch" }));
    return { events: (await rawWatch(ctx, rv, 2)).map(triple) };
  },
  async "watch from an expired resourceVersion"(ctx) {
    const [event] = await rawWatch(ctx, "1", 1);
    const status = event?.object as unknown as { code: number; reason: string } | undefined;
    return { error: { code: status?.code, reason: status?.reason } };
  },
  async "JSON patch"(ctx) {
    await ok(ctx, ["create", "-f", "-"], configMap("conf-p", { a: "1", b: "2" }));
    const ops = [
      { op: "test", path: "/data/a", value: "1" },
      { op: "replace", path: "/data/b", value: "3" },
      { op: "add", path: "/data/c", value: "4" },
    ];
    const patch = ["patch", "configmap", "conf-p", "--type=json", "-p"];
    const patched = JSON.parse(await ok(ctx, [...patch, JSON.stringify(ops), "-o", "json"]));
    const failing = JSON.stringify([{ op: "test", path: "/data/a", value: "9" }]);
    return { data: patched.data, failedTest: await refusal(ctx, [...patch, failing]) };
  },
  async "merge patch"(ctx) {
    const body = { data: { a: null, d: "5" }, metadata: { labels: { merged: "yes" } } };
    const patched = JSON.parse(
      await ok(ctx, [
        "patch",
        "configmap",
        "conf-p",
        "--type=merge",
        "-p",
        JSON.stringify(body),
        "-o",
        "json",
      ]),
    );
    return { data: patched.data, labels: patched.metadata.labels };
  },
  async "strategic merge patch"(ctx) {
    await ok(ctx, ["create", "-f", "-"], JSON.stringify(deployment("web")));
    const body = {
      spec: {
        template: { spec: { containers: [{ name: "app", env: [{ name: "B", value: "2" }] }] } },
      },
    };
    const d = JSON.parse(
      await ok(ctx, ["patch", "deployment", "web", "-p", JSON.stringify(body), "-o", "json"]),
    );
    const c = d.spec.template.spec.containers[0];
    return {
      image: c.image,
      env: c.env.map((e: { name: string; value: string }) => `${e.name}=${e.value}`).sort(),
    };
  },
  async "apply"(ctx) {
    const applied = JSON.parse(
      await ok(
        ctx,
        [
          "apply",
          "--server-side",
          "--field-manager=alpha",
          "--show-managed-fields",
          "-o",
          "json",
          "-f",
          "-",
        ],
        configMap("conf-s", { x: "1" }),
      ),
    );
    return {
      data: applied.data,
      managers: applied.metadata.managedFields.map((f: { manager: string; operation: string }) => [
        f.manager,
        f.operation,
      ]),
    };
  },
  async "apply with a conflict, then forced"(ctx) {
    const args = ["apply", "--server-side", "--field-manager=beta", "-f", "-"];
    const r = await kubectl(ctx, ["-v=8", ...args], configMap("conf-s", { x: "2" }));
    const conflict = {
      code: loggedStatus(r.stderr)?.code ?? r.code,
      manager: /conflict with "([^"]+)"/.exec(r.stderr)?.[1],
      fields: [...r.stderr.matchAll(/^- (\.\S+)$|: (\.data\.\S+)$/gm)].map((m) => m[1] ?? m[2]),
    };
    const forced = JSON.parse(
      await ok(
        ctx,
        [...args, "--force-conflicts", "--show-managed-fields", "-o", "json"],
        configMap("conf-s", { x: "2" }),
      ),
    );
    return {
      conflict,
      forced: forced.data,
      ownerOfX: forced.metadata.managedFields
        .filter((f: { fieldsV1?: { "f:data"?: Record<string, unknown> } }) =>
          f.fieldsV1?.["f:data"]?.["f:x"] !== undefined
        )
        .map((f: { manager: string }) => f.manager),
    };
  },
  async "stale update"(ctx) {
    const first = await json(ctx, ["get", "configmap", "conf-a"]);
    await ok(ctx, ["replace", "-f", "-"], JSON.stringify({ ...first, data: { a: "2" } }));
    const stale = await refusal(
      ctx,
      ["replace", "-f", "-"],
      JSON.stringify({ ...first, data: { a: "3" } }),
    );
    return { stale, kept: (await json(ctx, ["get", "configmap", "conf-a"])).data };
  },
  async "status subresource"(ctx) {
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "svc-s", namespace: NS },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8000 }] },
    };
    await ok(ctx, ["create", "-f", "-"], JSON.stringify(svc));
    const viaStatus = {
      status: { loadBalancer: { ingress: [{ ip: "10.9.9.9" }] } },
      spec: { publishNotReadyAddresses: true },
    };
    const merge = ["patch", "service", "svc-s", "--type=merge", "-p"];
    await ok(ctx, [...merge, JSON.stringify(viaStatus), "--subresource=status"]);
    const main = { status: { loadBalancer: { ingress: [{ ip: "10.8.8.8" }] } } };
    await ok(ctx, [...merge, JSON.stringify(main)]);
    const s = await json(ctx, ["get", "service", "svc-s"]);
    return {
      ingress: s.status.loadBalancer.ingress[0].ip,
      specIgnoredByStatus: s.spec.publishNotReadyAddresses ?? false,
      statusIgnoredByMain: s.status.loadBalancer.ingress[0].ip,
    };
  },
  async "scale subresource"(ctx) {
    const scale = await json(ctx, ["get", "deployment", "web", "--subresource=scale"]);
    await ok(ctx, ["scale", "deployment", "web", "--replicas=3"]);
    return {
      replicas: scale.spec.replicas,
      selector: scale.status.selector,
      after: (await json(ctx, ["get", "deployment", "web"])).spec.replicas,
    };
  },
  "delete with foreground propagation": (ctx) => deleteWith(ctx, "del-fg", "foreground"),
  "delete with background propagation": (ctx) => deleteWith(ctx, "del-bg", "background"),
  "delete with orphan propagation": {
    run: (ctx) => deleteWith(ctx, "del-or", "orphan"),
  },
  "delete's answer by propagation policy": {
    async run(ctx) {
      const answers: Record<string, string | undefined> = {};
      for (
        const [policy, name] of [["Foreground", "conf-d-fg"], ["Orphan", "conf-d-or"], [
          "Background",
          "conf-d-bg",
        ]]
      ) {
        await ok(ctx, ["create", "-f", "-"], configMap(name!, { k: "v" }));
        const r = await kubectl(ctx, [
          "-v=8",
          "delete",
          "configmap",
          name!,
          `--cascade=${policy!.toLowerCase()}`,
          "--wait=false",
        ]);
        const bodies = [...r.stderr.matchAll(/"Response Body" body=("(?:[^"\\]|\\.)*")/g)]
          .map((m) => JSON.parse(JSON.parse(m[1]!)));
        answers[policy!] = bodies.at(-1)?.kind;
      }
      const left = await settle(
        async () =>
          (await json(ctx, ["get", "configmaps"])).items
            .filter((c: { metadata: { name: string } }) => c.metadata.name.startsWith("conf-d-"))
            .length,
        (n) => n === 0,
      );
      return { answers, gone: left === 0 };
    },
  },
  async "logs"(ctx) {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "logger", namespace: NS },
      spec: { containers: [{ name: "app", image: "registry.local/logger:1.0.0" }] },
    };
    await ok(ctx, ["create", "-f", "-"], JSON.stringify(pod));
    await ok(ctx, ["wait", "--for=condition=Ready", "pod/logger", "--timeout=30s"]);
    const messages = (text: string) =>
      text.trim().split("\n").map((l) => JSON.parse(l).message as string);
    return {
      messages: messages(await ok(ctx, ["logs", "logger"])),
      tail: messages(await ok(ctx, ["logs", "logger", "--tail=1"])),
      // kubectl logs -c checks the container itself; the API's answer is asked directly.
      badContainer: await refusal(ctx, [
        "get",
        "--raw",
        `/api/v1/namespaces/${NS}/pods/logger/log?container=nope`,
      ]),
    };
  },
  async "exec"(ctx) {
    const other = await kubectl(ctx, ["exec", "logger", "--", "ls"]);
    return {
      hostname: (await ok(ctx, ["exec", "logger", "--", "cat", "/etc/hostname"])).trim(),
      health: JSON.parse(
        await ok(ctx, ["exec", "logger", "--", "curl", "-s", "http://localhost:8000/health"]),
      ).status,
      other: {
        exit: other.code,
        notAvailable: other.stderr.includes("not available in the sandbox"),
      },
    };
  },
  async "port-forward"(ctx) {
    let result: { status: number; health: string } | undefined;
    await stream(ctx, ["port-forward", "pod/logger", ":8000"], async (text) => {
      const port = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(text)?.[1];
      if (!port) return false;
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      result = { status: response.status, health: (await response.json()).status };
      return true;
    });
    return result;
  },
};

runConformance("kubectl", KUBECTL, import.meta.url);
