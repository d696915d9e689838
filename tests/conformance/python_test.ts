/**
 * The conformance scenarios driven by Kubernetes' official Python client (Debian's
 * `python3-kubernetes`, 22.6, under /usr/bin/python3): one Python program per scenario,
 * printing its observation as JSON. Its own spellings: `watch=True`, a dict patch sent as a
 * strategic merge patch, a list as a JSON patch, `kubernetes.stream` for exec and
 * port-forward (WebSocket, `v4.channel.k8s.io`).
 * @module
 */
import { type Implementations, NS, runConformance, type ScenarioContext } from "./_scenarios.ts";

const PYTHON = "/usr/bin/python3";

const PRELUDE = `
import json, sys, time
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream, portforward
config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
api = client.ApiClient()
NS = "${NS}"
out = None
def refusal(call):
    try:
        call()
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        return {"code": e.status, "reason": body.get("reason")}
    raise AssertionError("expected the call to be refused")
def names(items):
    return sorted(i.metadata.name for i in items)
def settle(read, done, timeout=20):
    deadline = time.time() + timeout
    value = read()
    while not done(value) and time.time() < deadline:
        time.sleep(0.05)
        value = read()
    return value
# A dict body is sent as JSON only for JSON content types: an apply's YAML body (JSON is YAML)
# goes as text.
def raw_patch(path, content_type, body, query=None):
    return api.call_api(path, "PATCH", query_params=query or [],
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body if "json" in content_type else json.dumps(body),
        auth_settings=["BearerToken"], response_type="object",
        _return_http_data_only=True)
def cm(name, data, labels=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)
def deployment(name):
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels={"app": name}),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": name}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": name}),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="app", image="registry.local/" + name + ":1.0.0",
                    ports=[client.V1ContainerPort(container_port=8000)],
                    env=[client.V1EnvVar(name="A", value="1")])]))))
def watch_events(count, on_event=None, **kwargs):
    events = []
    w = watch.Watch()
    for e in w.stream(core.list_namespaced_config_map, NS, label_selector="suite=watch",
                      timeout_seconds=60, **kwargs):
        events.append([e["type"], e["object"].metadata.name, e["object"].data["n"]])
        if on_event:
            on_event(e)
        if len(events) >= count:
            w.stop()
            break
    return events
def delete_with(name, policy):
    owner = apps.create_namespaced_deployment(NS, deployment(name))
    sel = "app=" + name
    settle(lambda: len(core.list_namespaced_pod(NS, label_selector=sel).items), lambda n: n == 1)
    apps.delete_namespaced_deployment(name, NS, propagation_policy=policy)
    def read():
        rs = apps.list_namespaced_replica_set(NS, label_selector=sel).items
        return {
            "owner": refusal(lambda: apps.read_namespaced_deployment(name, NS))["code"],
            "replicaSets": len(rs),
            "pods": len(core.list_namespaced_pod(NS, label_selector=sel).items),
            "ownerRefsLeft": len([r for r in rs if any(
                o.uid == owner.metadata.uid for o in (r.metadata.owner_references or []))]),
        }
    return settle(read, lambda o: o["owner"] == 404 and o["ownerRefsLeft"] == 0)
def run(command):
    resp = stream(core.connect_get_namespaced_pod_exec, "logger", NS, command=command,
                  container="app", stderr=True, stdin=False, stdout=True, tty=False,
                  _preload_content=False)
    resp.run_forever(timeout=30)
    result = {"out": resp.read_stdout(), "err": resp.read_stderr(), "exit": resp.returncode}
    resp.close()
    return result
`;

/** Runs one scenario's Python program against the sandbox; returns its `out`. */
async function python(ctx: ScenarioContext, program: string): Promise<unknown> {
  const file = await Deno.makeTempFile({ suffix: ".py" });
  try {
    await Deno.writeTextFile(file, PRELUDE + program + "\nprint(json.dumps(out))\n");
    const result = await new Deno.Command(PYTHON, {
      args: [file, ctx.kubeconfig],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(result.stdout);
    if (result.code !== 0) {
      throw new Error(
        `python failed (${result.code}):\n${new TextDecoder().decode(result.stderr)}`,
      );
    }
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "null");
  } finally {
    await Deno.remove(file);
  }
}

const py = (program: string) => (ctx: ScenarioContext) => python(ctx, program);

/**
 * The Python client's implementation of every scenario.
 *
 * @example
 * ```ts ignore
 * import { PYTHON_CLIENT } from "./python_test.ts";
 * console.log(Object.keys(PYTHON_CLIENT).length); // one per scenario of _scenarios.ts
 * ```
 */
export const PYTHON_CLIENT: Implementations = {
  "create": py(`
c = core.create_namespaced_config_map(NS, cm("conf-a", {"a": "1"}))
out = {"data": c.data, "uid": isinstance(c.metadata.uid, str),
       "resourceVersion": isinstance(c.metadata.resource_version, str),
       "again": refusal(lambda: core.create_namespaced_config_map(NS, cm("conf-a", {"a": "1"})))}
`),
  "get": py(`
out = {"data": core.read_namespaced_config_map("conf-a", NS).data,
       "missing": refusal(lambda: core.read_namespaced_config_map("conf-missing", NS))}
`),
  "list with label and field selectors": py(`
for name, tier in [("conf-l1", "web"), ("conf-l2", "web"), ("conf-l3", "db")]:
    core.create_namespaced_config_map(NS, cm(name, {"k": name}, {"suite": "list", "tier": tier}))
ls = lambda **kw: names(core.list_namespaced_config_map(NS, **kw).items)
out = {"equality": ls(label_selector="suite=list,tier=web"),
       "inequality": ls(label_selector="suite=list,tier!=web"),
       "set": ls(label_selector="suite=list,tier in (db,cache)"),
       "field": ls(label_selector="suite=list", field_selector="metadata.name!=conf-l1")}
`),
  "watch from now": py(`
core.create_namespaced_config_map(NS, cm("conf-w", {"n": "0"}, {"suite": "watch"}))
def on_event(e):
    if e["type"] == "ADDED":
        core.patch_namespaced_config_map("conf-w", NS, {"data": {"n": "1"}})
out = {"events": watch_events(2, on_event)}
`),
  "watch from a resourceVersion": py(`
rv = core.list_namespaced_config_map(NS, label_selector="suite=watch").metadata.resource_version
core.patch_namespaced_config_map("conf-w", NS, {"data": {"n": "2"}})
core.create_namespaced_config_map(NS, cm("conf-w2", {"n": "9"}, {"suite": "watch"}))
out = {"events": watch_events(2, resource_version=rv)}
`),
  "watch from an expired resourceVersion": py(`
try:
    watch_events(1, resource_version="1")
    out = {"error": None}
except ApiException as e:
    # The client raises the ERROR event's Status as ApiException(code, "Reason: message").
    out = {"error": {"code": e.status, "reason": e.reason.split(":")[0]}}
`),
  "JSON patch": py(`
core.create_namespaced_config_map(NS, cm("conf-p", {"a": "1", "b": "2"}))
p = core.patch_namespaced_config_map("conf-p", NS, [
    {"op": "test", "path": "/data/a", "value": "1"},
    {"op": "replace", "path": "/data/b", "value": "3"},
    {"op": "add", "path": "/data/c", "value": "4"}])
out = {"data": p.data, "failedTest": refusal(lambda: core.patch_namespaced_config_map(
    "conf-p", NS, [{"op": "test", "path": "/data/a", "value": "9"}]))}
`),
  "merge patch": py(`
p = raw_patch("/api/v1/namespaces/" + NS + "/configmaps/conf-p", "application/merge-patch+json",
    {"data": {"a": None, "d": "5"}, "metadata": {"labels": {"merged": "yes"}}})
out = {"data": p["data"], "labels": p["metadata"]["labels"]}
`),
  "strategic merge patch": py(`
apps.create_namespaced_deployment(NS, deployment("web"))
d = apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
    "containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}]}}}})
c = d.spec.template.spec.containers[0]
out = {"image": c.image, "env": sorted(e.name + "=" + e.value for e in c.env)}
`),
  "apply": py(`
a = raw_patch("/api/v1/namespaces/" + NS + "/configmaps/conf-s", "application/apply-patch+yaml",
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf-s"}, "data": {"x": "1"}},
    [("fieldManager", "alpha")])
out = {"data": a["data"], "managers": [[f["manager"], f["operation"]]
                                       for f in a["metadata"]["managedFields"]]}
`),
  "apply with a conflict, then forced": py(`
body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf-s"},
        "data": {"x": "2"}}
path = "/api/v1/namespaces/" + NS + "/configmaps/conf-s"
try:
    raw_patch(path, "application/apply-patch+yaml", body, [("fieldManager", "beta")])
    conflict = None
except ApiException as e:
    causes = json.loads(e.body)["details"]["causes"]
    manager = causes[0]["message"].split('"')[1]
    conflict = {"code": e.status, "manager": manager, "fields": [c["field"] for c in causes]}
f = raw_patch(path, "application/apply-patch+yaml", body,
              [("fieldManager", "beta"), ("force", "true")])
out = {"conflict": conflict, "forced": f["data"],
       "ownerOfX": [m["manager"] for m in f["metadata"]["managedFields"]
                    if "f:x" in m.get("fieldsV1", {}).get("f:data", {})]}
`),
  "stale update": py(`
first = core.read_namespaced_config_map("conf-a", NS)
first.data = {"a": "2"}
core.replace_namespaced_config_map("conf-a", NS, first)
first.data = {"a": "3"}
out = {"stale": refusal(lambda: core.replace_namespaced_config_map("conf-a", NS, first)),
       "kept": core.read_namespaced_config_map("conf-a", NS).data}
`),
  "status subresource": py(`
core.create_namespaced_service(NS, client.V1Service(
    metadata=client.V1ObjectMeta(name="svc-s"),
    spec=client.V1ServiceSpec(selector={"app": "web"},
                              ports=[client.V1ServicePort(port=80, target_port=8000)])))
core.patch_namespaced_service_status("svc-s", NS, {
    "status": {"loadBalancer": {"ingress": [{"ip": "10.9.9.9"}]}},
    "spec": {"publishNotReadyAddresses": True}})
core.patch_namespaced_service("svc-s", NS,
    {"status": {"loadBalancer": {"ingress": [{"ip": "10.8.8.8"}]}}})
s = core.read_namespaced_service("svc-s", NS)
ip = s.status.load_balancer.ingress[0].ip
out = {"ingress": ip, "specIgnoredByStatus": bool(s.spec.publish_not_ready_addresses),
       "statusIgnoredByMain": ip}
`),
  "scale subresource": py(`
scale = apps.read_namespaced_deployment_scale("web", NS)
apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 3}})
out = {"replicas": scale.spec.replicas, "selector": scale.status.selector,
       "after": apps.read_namespaced_deployment("web", NS).spec.replicas}
`),
  "delete with foreground propagation": py(`out = delete_with("del-fg", "Foreground")`),
  "delete with background propagation": py(`out = delete_with("del-bg", "Background")`),
  "delete with orphan propagation": {
    run: py(`out = delete_with("del-or", "Orphan")`),
  },
  "delete's answer by propagation policy": {
    run: py(`
answers = {}
for policy, name in [("Foreground", "conf-d-fg"), ("Orphan", "conf-d-or"), ("Background", "conf-d-bg")]:
    core.create_namespaced_config_map(NS, cm(name, {"k": "v"}))
    # The typed answer is a V1Status model; its kind is kept as the server sent it.
    answers[policy] = core.delete_namespaced_config_map(name, NS, propagation_policy=policy).kind
left = settle(lambda: len([c for c in core.list_namespaced_config_map(NS).items
                           if c.metadata.name.startswith("conf-d-")]), lambda n: n == 0)
out = {"answers": answers, "gone": left == 0}
`),
  },
  "logs": py(`
core.create_namespaced_pod(NS, client.V1Pod(
    metadata=client.V1ObjectMeta(name="logger"),
    spec=client.V1PodSpec(containers=[client.V1Container(
        name="app", image="registry.local/logger:1.0.0")])))
settle(lambda: core.read_namespaced_pod("logger", NS),
       lambda p: any(c.type == "Ready" and c.status == "True"
                     for c in (p.status.conditions or [])))
# The raw text: the client json.loads a log that is one JSON line and returns str(dict).
log = lambda **kw: core.read_namespaced_pod_log("logger", NS, _preload_content=False,
                                                **kw).data.decode()
messages = lambda text: [json.loads(l)["message"] for l in text.strip().splitlines()]
out = {"messages": messages(log()),
       "tail": messages(log(tail_lines=1)),
       "badContainer": refusal(lambda: core.read_namespaced_pod_log("logger", NS,
                                                                    container="nope"))}
`),
  "exec": py(`
other = run(["ls"])
out = {"hostname": run(["cat", "/etc/hostname"])["out"].strip(),
       "health": json.loads(run(["curl", "-s", "http://localhost:8000/health"])["out"])["status"],
       "other": {"exit": other["exit"], "notAvailable": "not available in the sandbox" in other["err"]}}
`),
  "port-forward": py(`
pf = portforward(core.connect_get_namespaced_pod_portforward, "logger", NS, ports="8000")
sock = pf.socket(8000)
sock.setblocking(True)
sock.sendall(b"GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
raw = b""
while True:
    head, _, body = raw.partition(b"\\r\\n\\r\\n")
    length = [int(l.split(b":")[1]) for l in head.split(b"\\r\\n")
              if l.lower().startswith(b"content-length:")]
    if length and len(body) >= length[0]:
        break
    chunk = sock.recv(65536)
    if not chunk:
        break
    raw += chunk
sock.close()
pf.close()
head, _, body = raw.partition(b"\\r\\n\\r\\n")
out = {"status": int(head.split(b" ")[1]), "health": json.loads(body)["status"]}
`),
};

runConformance("python client", PYTHON_CLIENT, import.meta.url);
