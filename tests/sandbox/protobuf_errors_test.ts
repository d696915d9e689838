import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  decodeObject,
  encodeObject,
  kindType,
  ProtobufSyntaxError,
  ProtobufUnsupportedError,
} from "../../lib/sandbox/protobuf/mod.ts";
import { unknownType } from "../../lib/sandbox/protobuf/schema.ts";
import { encodeResponse, prefersProtobuf, readBody } from "../../lib/sandbox/body_codec.ts";
import { ApiError } from "../../lib/sandbox/errors.ts";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const CONFIG_MAP = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "web-config", namespace: "a", creationTimestamp: "2026-12-02T15:15:24Z" },
  data: { "app.yaml": "port: 8000\n" },
};
const SECRET = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "db" },
  type: "Opaque",
  data: { password: "aHVudGVyMg==" },
};
const NAMESPACE = {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "a" },
  spec: {},
  status: { phase: "Active" },
};
const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "a" },
  spec: { containers: [{ name: "c", image: "busybox", ports: [{ containerPort: 8000 }] }] },
  status: { phase: "Pending", qosClass: "BestEffort" },
};
const DEPLOYMENT = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "a", generation: 1 },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: POD.spec },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: 1 } },
  },
  status: {},
};

function envelope(fields: Record<string, unknown>): Uint8Array {
  const type = unknownType();
  const body = type.encode(type.fromObject(fields)).finish();
  return Uint8Array.of(0x6b, 0x38, 0x73, 0x00, ...body);
}

Deno.test("decodeObject() refuses malformed bodies with a ProtobufSyntaxError that says why", () => {
  const good = encodeObject(CONFIG_MAP);
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(), /does not start with the Kubernetes protobuf magic/],
    [
      new TextEncoder().encode('{"kind":"ConfigMap"}'),
      /does not start with the Kubernetes protobuf magic/,
    ],
    [Uint8Array.of(0x6b, 0x38, 0x73), /magic/],
    [good.slice(0, good.length - 7), /runtime\.Unknown envelope does not decode/],
    [envelope({ raw: new Uint8Array([1]) }), /names no kind/],
    [
      envelope({
        typeMeta: { apiVersion: "v1", kind: "ConfigMap" },
        raw: Uint8Array.of(0x0a, 0x05, 0x0a),
      }),
      /the ConfigMap message does not decode/,
    ],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => decodeObject(bytes), (e: unknown) => {
      assert.ok(e instanceof ProtobufSyntaxError, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("decodeObject() refuses what it cannot read faithfully: unknown kinds, unknown fields, encodings", () => {
  const policy = envelope({
    typeMeta: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
    raw: new Uint8Array(),
  });
  assert.throws(
    () => decodeObject(policy),
    /no protobuf schema for networking\.k8s\.io\/v1 NetworkPolicy/,
  );
  // A ConfigMap with a field number the schema does not define (99): it would be lost.
  const cm = kindType("v1", "ConfigMap")!;
  const writer = protobuf.Writer.create();
  cm.encode(cm.fromObject({ data: { a: "b" } }), writer);
  writer.uint32((99 << 3) | 2).string("future");
  const extra = envelope({
    typeMeta: { apiVersion: "v1", kind: "ConfigMap" },
    raw: writer.finish(),
  });
  assert.throws(() => decodeObject(extra), (e: unknown) => {
    assert.ok(e instanceof ProtobufUnsupportedError);
    assert.match(e.message, /fields the sandbox's protobuf schema does not define/);
    return true;
  });
  const gzip = envelope({
    typeMeta: { apiVersion: "v1", kind: "ConfigMap" },
    raw: new Uint8Array(),
    contentEncoding: "gzip",
  });
  assert.throws(() => decodeObject(gzip), /contentEncoding "gzip"/);
});

Deno.test("encodeObject() refuses a field or value the schema cannot carry, naming its path", () => {
  const pod = structuredClone(POD) as { spec: { containers: Record<string, unknown>[] } };
  pod.spec.containers[0]!.futureField = true;
  assert.throws(
    () => encodeObject(pod),
    /spec\.containers\[0\]\.futureField: not in the sandbox's protobuf schema/,
  );
  assert.throws(
    () => encodeObject({ apiVersion: "v1", kind: "Service", spec: { ports: [{ port: "80" }] } }),
    /spec\.ports\[0\]\.port: not a valid int32/,
  );
  assert.throws(
    () => encodeObject({ apiVersion: "apps/v1", kind: "Deployment", spec: { replicas: 2 ** 31 } }),
    /spec\.replicas: not a valid int32/,
  );
  assert.throws(
    () => encodeObject({ apiVersion: "v1", kind: "Secret", data: { k: "not base64!" } }),
    /data\[k\]: not a valid bytes/,
  );
  assert.throws(
    () =>
      encodeObject({ apiVersion: "v1", kind: "Pod", metadata: { creationTimestamp: "yesterday" } }),
    /metadata\.creationTimestamp: not an RFC 3339 time/,
  );
  assert.throws(
    () => encodeObject({ apiVersion: "v1", kind: "EventList", items: [] }),
    ProtobufUnsupportedError,
  );
});

function protobufRequest(body: Uint8Array<ArrayBuffer>): Request {
  return new Request("http://x/api/v1/namespaces/a/configmaps", {
    method: "POST",
    headers: { "content-type": PROTOBUF },
    body,
  });
}

Deno.test("readBody() decodes protobuf, answers 400 for a malformed body and 415 for a kind without a schema", async () => {
  const decoded = await readBody(protobufRequest(encodeObject(SECRET)));
  assert.deepEqual(decoded, SECRET);
  for (
    const [body, code, message] of [
      [Uint8Array.of(1, 2, 3, 4, 5), 400, /couldn't decode the protobuf body: .*magic/],
      [encodeObject(CONFIG_MAP).slice(0, 20), 400, /couldn't decode the protobuf body/],
      [
        Uint8Array.from(
          envelope({ typeMeta: { apiVersion: "policy/v1", kind: "PodDisruptionBudget" } }),
        ),
        415,
        /no protobuf schema for policy\/v1 PodDisruptionBudget/,
      ],
    ] as const
  ) {
    await assert.rejects(readBody(protobufRequest(Uint8Array.from(body))), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, code);
      assert.match(e.message, message);
      return true;
    });
  }
  const other = new Request("http://x", {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: "x",
  });
  await assert.rejects(readBody(other), (e: unknown) => e instanceof ApiError && e.code === 415);
});

Deno.test("prefersProtobuf() negotiates like the API server: q values, then order; Tables and watch streams are not plain protobuf", () => {
  assert.equal(prefersProtobuf(`${PROTOBUF},application/json`), true);
  assert.equal(prefersProtobuf(`${PROTOBUF}`), true);
  assert.equal(prefersProtobuf(`application/json,${PROTOBUF}`), false);
  assert.equal(prefersProtobuf(`application/json;q=0.5,${PROTOBUF};q=0.9`), true);
  assert.equal(prefersProtobuf(`${PROTOBUF};q=0,application/json`), false);
  assert.equal(prefersProtobuf(`${PROTOBUF};as=Table;v=v1;g=meta.k8s.io,application/json`), false);
  assert.equal(prefersProtobuf(`${PROTOBUF};stream=watch`), false);
  assert.equal(prefersProtobuf(""), false);
});

function apiRequest(path: string, accept = `${PROTOBUF},application/json`): Request {
  return new Request(`http://x${path}`, { headers: { accept } });
}

Deno.test("encodeResponse() answers protobuf for a supported kind or its list, keeping status and headers", async () => {
  const answer = Response.json(DEPLOYMENT, {
    status: 201,
    headers: { warning: '299 - "unknown field"' },
  });
  const r = await encodeResponse(apiRequest("/apis/apps/v1/namespaces/a/deployments"), answer);
  assert.equal(r.status, 201);
  assert.equal(r.headers.get("content-type"), PROTOBUF);
  assert.equal(r.headers.get("warning"), '299 - "unknown field"');
  assert.deepEqual(decodeObject(new Uint8Array(await r.arrayBuffer())), DEPLOYMENT);
  const list = { apiVersion: "v1", kind: "NamespaceList", metadata: { resourceVersion: "9" } };
  const listed = await encodeResponse(apiRequest("/api/v1/namespaces"), Response.json(list));
  assert.equal(listed.headers.get("content-type"), PROTOBUF);
  assert.deepEqual(decodeObject(new Uint8Array(await listed.arrayBuffer())), list);
});

Deno.test("encodeResponse() stays JSON for other kinds, unknown fields, JSON clients, watches and upgrades", async () => {
  const cases: [Request, Response][] = [
    [
      apiRequest("/api/v1/configmaps"),
      Response.json({ apiVersion: "v1", kind: "EventList", items: [] }),
    ],
    [
      apiRequest("/apis/networking.k8s.io/v1/networkpolicies"),
      Response.json({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }),
    ],
    [
      apiRequest("/api/v1/namespaces/a"),
      Response.json({ apiVersion: "v1", kind: "Namespace", extra: 1 }),
    ],
    [apiRequest("/api/v1/namespaces/a", "application/json"), Response.json(NAMESPACE)],
    [apiRequest("/api/v1/namespaces/a/pods/p/log"), Response.json(POD)],
    [apiRequest("/api/v1/namespaces/a/pods/p/proxy/health"), Response.json(POD)],
    [apiRequest("/api/v1/pods?watch=true"), Response.json(POD)],
    [
      apiRequest("/api/v1/namespaces/a"),
      new Response("not json", { headers: { "content-type": "application/json" } }),
    ],
  ];
  for (const [request, response] of cases) {
    const expected = await response.clone().text();
    const r = await encodeResponse(request, response);
    assert.match(r.headers.get("content-type") ?? "", /^application\/json/, request.url);
    assert.equal(await r.text(), expected, request.url);
  }
  const upgrade = new Response(null, {
    status: 200,
    headers: { "content-type": "application/json" },
  });
  assert.equal(await encodeResponse(apiRequest("/api/v1/namespaces/a"), upgrade), upgrade);
});
