import assert from "node:assert/strict";
import { tlsCertificate } from "../../checks/tls.ts";
import { fakeContext, freePort } from "./_support.ts";

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A private CA and a leaf for localhost/127.0.0.1 valid `days` days, made with openssl. */
async function makeCertificates(dir: string, days: number) {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "365",
    "-subj",
    "/CN=Tracktion Test CA",
  ], dir);
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `leaf${days}.key`,
    "-out",
    `leaf${days}.csr`,
    "-subj",
    "/CN=localhost",
  ], dir);
  await Deno.writeTextFile(`${dir}/ext`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    `leaf${days}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `leaf${days}.pem`,
    "-days",
    String(days),
    "-extfile",
    "ext",
  ], dir);
  return {
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    cert: await Deno.readTextFile(`${dir}/leaf${days}.pem`),
    key: await Deno.readTextFile(`${dir}/leaf${days}.key`),
  };
}

function tlsServer(cert: string, key: string) {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const conns: Deno.TlsConn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      conn.handshake().catch(() => {});
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async stop() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed by the peer */ }
      }
      await accepting.catch(() => {});
    },
  };
}

Deno.test("tlsCertificate() judges trust, host name and days left", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "checks_tls_" });
  const good = await makeCertificates(dir, 90);
  const short = await makeCertificates(dir, 10);
  const server = tlsServer(good.cert, good.key);
  const expiring = tlsServer(short.cert, short.key);
  try {
    await t.step("a trusted certificate with 89+ days passes", async () => {
      const outcome = await tlsCertificate("localhost", { port: server.port, ca: good.ca })
        .run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(outcome.evidence?.trusted, true);
      assert.equal(outcome.evidence?.hostMatches, true);
      assert.ok((outcome.evidence?.daysLeft as number) >= 89);
      assert.match(String(outcome.evidence?.subject), /CN=localhost/);
    });
    await t.step("an untrusted chain fails unless allowed", async () => {
      const outcome = await tlsCertificate("localhost", { port: server.port }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /is not trusted/);
      const allowed = await tlsCertificate("localhost", {
        port: server.port,
        allowUntrusted: true,
      }).run(fakeContext());
      assert.equal(allowed.ok, true, allowed.message);
    });
    await t.step("a certificate for another name fails", async () => {
      const outcome = await tlsCertificate("localhost", {
        port: server.port,
        ca: good.ca,
        allowUntrusted: true,
        servername: "api.tracktion.com",
      }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /not valid for api.tracktion.com/);
    });
    await t.step("a certificate expiring within 30 days fails, with the date", async () => {
      const outcome = await tlsCertificate("127.0.0.1", { port: expiring.port, ca: short.ca })
        .run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /expires .* \(\d+ days left, 30 required\)/);
      assert.ok((outcome.evidence?.daysLeft as number) <= 10);
    });
  } finally {
    await server.stop();
    await expiring.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tlsCertificate() fails on a refused connection", async () => {
  const outcome = await tlsCertificate("127.0.0.1", { port: freePort(), timeoutMs: 5_000 })
    .run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /Cannot get the certificate of 127.0.0.1:\d+/);
});
