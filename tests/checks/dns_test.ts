import assert from "node:assert/strict";
import dgram from "node:dgram";
import { dnsResolves } from "../../checks/dns.ts";
import { fakeContext } from "./_support.ts";

/**
 * A tiny authoritative DNS responder on 127.0.0.1 (UDP): answers A queries from a
 * table, NXDOMAIN for unknown names, and never answers names in `silent`.
 */
async function startDns(
  table: Record<string, string[]>,
  silent: string[] = [],
): Promise<{ port: number; stop(): Promise<void> }> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    const labels: string[] = [];
    let i = 12;
    while (msg[i]! !== 0) {
      const len = msg[i]!;
      labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + len)));
      i += len + 1;
    }
    const questionEnd = i + 5;
    const qtype = (msg[i + 1]! << 8) | msg[i + 2]!;
    const name = labels.join(".").toLowerCase();
    if (silent.includes(name)) return;
    const addresses = qtype === 1 ? table[name] ?? [] : [];
    const known = name in table;
    const header = new Uint8Array(12);
    header.set(msg.subarray(0, 2)); // id
    header[2] = 0x84 | (msg[2]! & 0x01); // QR, AA, RD copied
    header[3] = known ? 0x00 : 0x03; // NOERROR / NXDOMAIN
    header[5] = 1; // QDCOUNT
    header[7] = addresses.length; // ANCOUNT
    const answers = addresses.map((ip) => {
      const a = new Uint8Array(16);
      a.set([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
      a.set(ip.split(".").map(Number), 12);
      return a;
    });
    const reply = new Uint8Array(12 + (questionEnd - 12) + answers.length * 16);
    reply.set(header);
    reply.set(msg.subarray(12, questionEnd), 12);
    answers.forEach((a, n) => reply.set(a, questionEnd + n * 16));
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  return {
    port,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

Deno.test("dnsResolves() against a local DNS responder", async (t) => {
  const dns = await startDns({
    "tracktion.test": ["10.1.2.3", "10.1.2.4"],
    "empty.tracktion.test": [],
  }, ["slow.tracktion.test"]);
  const nameServer = { ipAddr: "127.0.0.1", port: dns.port };
  try {
    await t.step("passes with the answers as evidence", async () => {
      const outcome = await dnsResolves("tracktion.test", { nameServer, expect: ["10.1.2.4"] })
        .run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
      assert.deepEqual(outcome.evidence?.answers, ["10.1.2.3", "10.1.2.4"]);
      assert.equal(outcome.evidence?.nameServer, `127.0.0.1:${dns.port}`);
    });
    await t.step("fails when an expected address is missing", async () => {
      const outcome = await dnsResolves("tracktion.test", { nameServer, expect: ["10.9.9.9"] })
        .run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.deepEqual(outcome.evidence?.missing, ["10.9.9.9"]);
    });
    await t.step("fails on NXDOMAIN", async () => {
      const outcome = await dnsResolves("nope.tracktion.test", { nameServer }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /Cannot resolve nope.tracktion.test \(A\)/);
    });
    await t.step("fails on a name with no records", async () => {
      const outcome = await dnsResolves("empty.tracktion.test", { nameServer }).run(fakeContext());
      assert.equal(outcome.ok, false);
    });
    await t.step("fails on a server that does not answer, within the deadline", async () => {
      const t0 = Date.now();
      const outcome = await dnsResolves("slow.tracktion.test", { nameServer, timeoutMs: 500 })
        .run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.ok(Date.now() - t0 < 10_000);
    });
  } finally {
    await dns.stop();
  }
});
