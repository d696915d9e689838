/**
 * The Kubernetes client over an in-process transport (what `simulate` uses) answers as it
 * does over HTTP: the same objects, the same errors, the same writes — client-node builds
 * the requests either way; only the socket is left out.
 * @module
 */
import assert from "node:assert/strict";
import { testDeployment, withCluster } from "./_helpers.ts";

const NS = "tracktion-dev";
const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const NAMESPACE = { apiVersion: "v1", kind: "Namespace" };

Deno.test("the in-process transport gives what HTTP gives: reads, writes, errors, credentials", async () => {
  await withCluster(async ({ sandbox, k, capability }) => {
    let sent = 0;
    const inProcess = capability({
      transport: (request) => {
        sent++;
        return sandbox.handle(request);
      },
    });
    assert.deepEqual(await inProcess.version(), await k.version());
    assert.equal(sent, 1, "the request went through the transport, not a socket");

    const [a, b] = [await k.get(NAMESPACE, null, NS), await inProcess.get(NAMESPACE, null, NS)];
    assert.deepEqual(b, a);
    assert.equal(await inProcess.get(DEPLOYMENT, NS, "missing"), null, "a 404 is null");

    const created = await inProcess.apply(testDeployment(NS, "via-transport"));
    assert.equal(created.metadata.generation, 1);
    const seen = await k.get(DEPLOYMENT, NS, "via-transport");
    assert.equal(seen?.metadata.uid, created.metadata.uid, "written to the same cluster");

    const names = (await inProcess.list(DEPLOYMENT, NS)).map((d) => d.metadata.name).sort();
    assert.deepEqual(names, (await k.list(DEPLOYMENT, NS)).map((d) => d.metadata.name).sort());

    // An error reads the same: the API's Status, not a transport failure.
    const bad = { ...testDeployment(NS, "x"), apiVersion: "apps/v9" };
    const viaHttp = await k.apply(bad).then(() => "applied", (e: Error) => e.message);
    const viaTransport = await inProcess.apply(bad).then(() => "applied", (e: Error) => e.message);
    assert.notEqual(viaTransport, "applied");
    assert.equal(viaTransport, viaHttp);

    // A wrong token is refused in the process as over HTTP (authentication is the server's).
    const refused = capability({
      transport: (request) => {
        const headers = new Headers(request.headers);
        headers.set("authorization", "Bearer wrong");
        return sandbox.handle(new Request(request, { headers }));
      },
    });
    await assert.rejects(() => refused.get(NAMESPACE, null, NS), /401|Unauthorized|authenticat/i);
  });
});
