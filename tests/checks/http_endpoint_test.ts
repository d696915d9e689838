import assert from "node:assert/strict";
import { httpEndpoint } from "../../checks/http_endpoint.ts";
import { fakeContext, freePort, serve } from "./_support.ts";

Deno.test("httpEndpoint() checks status, body and latency", async (t) => {
  const api = serve(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/api/v1/user") {
      return req.headers.get("authorization") === "Bearer real"
        ? Response.json({ id: 1 })
        : Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    if (path === "/slow") await new Promise((r) => setTimeout(r, 300));
    return Response.json({ status: "ok" });
  });
  try {
    await t.step("a bad token is refused (API authentication)", async () => {
      const outcome = await httpEndpoint(`${api.url}/api/v1/user`, {
        headers: { authorization: "Bearer test-token" },
        expectStatus: [401, 403],
        bodyMatches: /unauthorized|invalid/i,
        maxLatencyMs: 30_000,
      }).run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(outcome.evidence?.status, 401);
    });
    await t.step("an API that lets a bad token in fails", async () => {
      const outcome = await httpEndpoint(`${api.url}/api/v1/user`, {
        headers: { authorization: "Bearer real" },
        expectStatus: [401, 403],
      }).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /answered HTTP 200, expected 401 or 403/);
    });
    await t.step("external API says ok", async () => {
      const ok = await httpEndpoint(`${api.url}/health`, {
        bodyMatches: /"ok"/,
        maxLatencyMs: 30_000,
      })
        .run(fakeContext());
      assert.equal(ok.ok, true, ok.message);
      const no = await httpEndpoint(`${api.url}/health`, { bodyMatches: /healthy/ })
        .run(fakeContext());
      assert.equal(no.ok, false);
      assert.match(no.message, /body does not match/);
    });
    await t.step("slow responses fail the latency bound", async () => {
      const outcome = await httpEndpoint(`${api.url}/slow`, { maxLatencyMs: 100 })
        .run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /limit 100 ms/);
    });
  } finally {
    await api.stop();
  }
});

Deno.test("httpEndpoint() fails on a refused connection", async () => {
  const outcome = await httpEndpoint(`http://127.0.0.1:${freePort()}/`).run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.match(outcome.message, /connection refused/);
});
