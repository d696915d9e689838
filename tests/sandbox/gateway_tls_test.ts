/**
 * The sandbox's gateway: a real TLS listener at the address its Gateway publishes, presenting
 * the namespace's TLS Secret (signed by the sandbox's CA, naming the public host), the edge in
 * front of the load balancer (through the API server's service proxy and at the listener),
 * and the deploy's own TLS check against it — which passes there and fails on certificates
 * made here with openssl that are expired, near expiry, or for another host.
 */
import assert from "node:assert/strict";
import { Store } from "../../lib/sandbox/store.ts";
import { Api } from "../../lib/sandbox/api.ts";
import { findResource, type KObject, RESOURCE_TYPES } from "../../lib/sandbox/resources.ts";
import { type SandboxSeed, seedCluster } from "../../lib/sandbox/seed.ts";
import { GATEWAYS, SANDBOX_CA_CONFIGMAP } from "../../lib/sandbox/gateway_seed.ts";
import { GatewayListeners } from "../../lib/sandbox/gateway_listener.ts";
import { GATEWAY_PORT, gatewayAddress } from "../../lib/sandbox/gateway_address.ts";
import { virtualClock } from "../../lib/clock/mod.ts";
import { tlsCertificate } from "../../checks/tls.ts";
import { fakeContext } from "../checks/_support.ts";

const NS = "shop";
const HOST = "api.shop.example";
const SECRETS = findResource("", "v1", "secrets")!;
const CONFIGMAPS = findResource("", "v1", "configmaps")!;

const SEED: SandboxSeed = {
  namespaces: [{
    name: NS,
    labels: { app: "shop" },
    secrets: [
      { name: "api-keys", data: { "web-api-key": "s3cret-key" } },
      { name: "tls-certificates", tls: { commonName: "shop.local", dnsNames: [HOST] } },
    ],
    loadBalancers: [{
      name: "shop-lb",
      selector: { app: "shop" },
      ports: [{ name: "http", port: 80, targetPort: 8000 }],
    }],
    gateway: {
      name: "shop",
      hostname: HOST,
      tlsSecret: "tls-certificates",
      service: "shop-lb",
      apiKeySecrets: ["api-keys"],
      rateLimit: 4,
    },
  }],
};

/** A cluster seeded with the gateway, its listeners, and a real backend standing for the pods. */
async function gatewayCluster() {
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => Response.json({ status: "healthy", path: new URL(req.url).pathname }),
  );
  const store = new Store();
  const clock = virtualClock({ startMs: Date.now() });
  const api = new Api(store, { clock });
  api.registerTypes([...RESOURCE_TYPES, GATEWAYS]);
  await seedCluster(api, SEED);
  const scope = crypto.randomUUID();
  const gateways = new GatewayListeners(api, {
    clock,
    scope,
    servicePort: (_ns, service) => service === "shop-lb" ? backend.addr.port : undefined,
  });
  gateways.start();
  const gateway = () => store.peek(GATEWAYS, NS, "shop") as KObject;
  const published = () => {
    const g = gateway() as {
      spec: { listeners: { port: number }[] };
      status: { addresses: { value: string }[] };
    };
    return { address: g.status.addresses[0]!.value, port: g.spec.listeners[0]!.port };
  };
  const ca = String(
    (store.peek(CONFIGMAPS, NS, SANDBOX_CA_CONFIGMAP)?.data as Record<string, string>)["ca.crt"],
  );
  const setCertificate = async (cert: string, key: string) => {
    const secret = structuredClone(store.peek(SECRETS, NS, "tls-certificates")!);
    secret.data = { "tls.crt": btoa(cert), "tls.key": btoa(key) };
    api.update(SECRETS, NS, "tls-certificates", secret, { manager: "test" });
    await gateways.reloaded();
  };
  return {
    api,
    scope,
    store,
    gateway,
    published,
    ca,
    setCertificate,
    async close() {
      await gateways.stop();
      await backend.shutdown();
    },
  };
}

/** One HTTP/1.1 request over TLS to `address:port`, verified for `host` with `ca`. */
async function httpsGet(
  at: { address: string; port: number },
  path: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const tcp = await Deno.connect({ hostname: at.address, port: at.port });
  const conn = await Deno.startTls(tcp, { hostname: HOST, caCerts: [ca] });
  try {
    const all: Record<string, string> = { host: HOST, connection: "close", ...headers };
    const lines = [`GET ${path} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const text = await new Response(conn.readable).text();
    const [head = "", ...rest] = text.split("\r\n\r\n");
    const [statusLine = "", ...headerLines] = head.split("\r\n");
    const out = new Headers();
    for (const line of headerLines) {
      const i = line.indexOf(":");
      out.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    let body = rest.join("\r\n\r\n");
    if (out.get("transfer-encoding") === "chunked") {
      let decoded = "";
      while (body.length) {
        const end = body.indexOf("\r\n");
        const size = parseInt(body.slice(0, end), 16);
        if (!size) break;
        decoded += body.slice(end + 2, end + 2 + size);
        body = body.slice(end + 2 + size + 2);
      }
      body = decoded;
    }
    return { status: Number(statusLine.split(" ")[1]), headers: out, body };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A CA and a leaf for `names`, valid from `start` to `end` (openssl ca's YYMMDDHHMMSSZ). */
async function makeCertificate(dir: string, names: string[], start: string, end: string) {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "30",
    "-subj",
    "/CN=Test CA",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    `/CN=${names[0]}`,
  ], dir);
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `dir = ${dir}`,
      "database = $dir/index.txt",
      "new_certs_dir = $dir",
      "serial = $dir/serial",
      "default_md = sha256",
      "policy = any",
      "copy_extensions = none",
      "x509_extensions = leaf",
      "[any]",
      "commonName = supplied",
      "[leaf]",
      `subjectAltName = ${names.map((n) => `DNS:${n}`).join(",")}`,
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${dir}/serial`, "1000\n");
  await openssl([
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.crt",
    "-keyfile",
    "ca.key",
    "-in",
    "leaf.csr",
    "-out",
    "leaf.crt",
    "-startdate",
    start,
    "-enddate",
    end,
    "-notext",
  ], dir);
  return {
    ca: await Deno.readTextFile(`${dir}/ca.crt`),
    cert: await Deno.readTextFile(`${dir}/leaf.crt`),
    key: await Deno.readTextFile(`${dir}/leaf.key`),
  };
}

/** openssl's `YYMMDDHHMMSSZ` for `days` from now. */
function stamp(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
}

function check(at: { address: string; port: number }, ca: string) {
  return tlsCertificate(at.address, {
    name: "TLS certificate",
    port: at.port,
    servername: HOST,
    minValidDays: 30,
    ca,
    timeoutMs: 10_000,
  });
}

Deno.test("the Gateway publishes its TLS listener; the deploy's TLS check passes for the public host", async () => {
  const c = await gatewayCluster();
  try {
    const gw = c.gateway() as { status: { conditions: { type: string; status: string }[] } };
    assert.deepEqual(
      gw.status.conditions.map((x) => [x.type, x.status]),
      [["Accepted", "True"], ["Programmed", "True"]],
    );
    const at = c.published();
    assert.deepEqual(at, { address: gatewayAddress(NS, c.scope), port: GATEWAY_PORT });
    const o = await check(at, c.ca).run(fakeContext());
    assert.equal(o.ok, true, o.message);
    assert.equal(o.evidence?.trusted, true);
    assert.equal(o.evidence?.hostMatches, true);
    assert.ok((o.evidence?.daysLeft as number) >= 364);
    // Not trusted without the sandbox's CA (public roots only), however valid the name.
    const untrusted = await tlsCertificate(at.address, { port: at.port, servername: HOST })
      .run(fakeContext());
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.message, /is not trusted/);
    // Verified for another name, the same certificate fails.
    const other = await tlsCertificate(at.address, {
      port: at.port,
      servername: "api.other.example",
      ca: c.ca,
    })
      .run(fakeContext());
    assert.equal(other.ok, false);
    assert.match(
      other.message,
      /not valid for api\.other\.example \(it names DNS:shop\.local, DNS:api\.shop\.example\)/,
    );
    // The listener serves its host; a request for another gets no route.
    assert.equal((await httpsGet(at, "/health", c.ca)).status, 200);
    const wrongHost = await httpsGet(at, "/health", c.ca, { host: "www.other.example" });
    assert.equal(wrongHost.status, 404);
  } finally {
    await c.close();
  }
});

Deno.test("at the TLS listener the edge refuses no token or a wrong one, takes the Secret's key live, then 429", async () => {
  const c = await gatewayCluster();
  try {
    const at = c.published();
    const none = await httpsGet(at, "/api/v1/user", c.ca);
    assert.equal(none.status, 401);
    assert.deepEqual(JSON.parse(none.body), { error: "unauthorized" });
    assert.equal(
      none.headers.get("strict-transport-security"),
      "max-age=31536000; includeSubDomains",
    );
    const wrong = await httpsGet(at, "/api/v1/user", c.ca, { authorization: "Bearer test-token" });
    assert.deepEqual([wrong.status, JSON.parse(wrong.body)], [401, { error: "invalid token" }]);
    const ok = await httpsGet(at, "/api/v1/user", c.ca, { authorization: "Bearer s3cret-key" });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).path, "/api/v1/user");
    assert.equal(ok.headers.get("ratelimit-limit"), "4");
    assert.equal(ok.headers.get("ratelimit-remaining"), "1");
    // The key rotated in its Secret: the old one is refused at once.
    const keys = structuredClone(c.store.peek(SECRETS, NS, "api-keys")!);
    keys.data = { "web-api-key": btoa("n3w-key") };
    c.api.update(SECRETS, NS, "api-keys", keys, { manager: "test" });
    const old = await httpsGet(at, "/api/v1/user", c.ca, { authorization: "Bearer s3cret-key" });
    assert.equal(old.status, 401);
    const limited = await httpsGet(at, "/api/v1/user", c.ca, { authorization: "Bearer n3w-key" });
    assert.equal(limited.status, 429, "5th request of a window of 4");
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
  } finally {
    await c.close();
  }
});

Deno.test("the TLS check fails on the listener when its Secret holds an expired, near-expiry or another host's certificate", async () => {
  const c = await gatewayCluster();
  const dir = await Deno.makeTempDir({ prefix: "gateway-tls-" });
  try {
    const at = c.published();
    const cases: [string, string[], string, string, RegExp][] = [
      ["expired", [HOST], stamp(-40), stamp(-1), /expires .* \(-\d+ days left, 30 required\)/],
      ["near expiry", [HOST], stamp(-1), stamp(10), /expires .* \(\d+ days left, 30 required\)/],
      [
        "another host",
        ["www.other.example"],
        stamp(-1),
        stamp(300),
        /is not valid for api\.shop\.example/,
      ],
    ];
    for (const [what, names, start, end, message] of cases) {
      const sub = `${dir}/${what.replace(" ", "-")}`;
      await Deno.mkdir(sub);
      const made = await makeCertificate(sub, names, start, end);
      await c.setCertificate(made.cert, made.key);
      assert.deepEqual(c.published(), at, `${what}: reloaded on the same address and port`);
      const o = await check(at, made.ca).run(fakeContext());
      assert.equal(o.ok, false, `${what}: ${o.message}`);
      assert.match(o.message, message, what);
    }
    // Its certificate back (signed by the sandbox's CA): it passes again.
    const good = await makeCertificate(`${dir}`, [HOST], stamp(-1), stamp(90));
    await c.setCertificate(good.cert, good.key);
    const o = await check(at, good.ca).run(fakeContext());
    assert.equal(o.ok, true, o.message);
    // A Secret without a certificate: the listener is not programmed, and says why.
    await c.setCertificate("", "");
    const gw = c.gateway() as {
      status: { conditions: { type: string; status: string; message: string }[] };
    };
    const programmed = gw.status.conditions.find((x) => x.type === "Programmed");
    assert.equal(programmed?.status, "False");
    assert.match(String(programmed?.message), /tls-certificates holds no tls\.crt and tls\.key/);
  } finally {
    await c.close();
    await Deno.remove(dir, { recursive: true });
  }
});
