import assert from "node:assert/strict";
import { findSensitiveData, noSensitiveData, securityHeaders } from "../../checks/security.ts";
import { fakeContext, serve } from "./_support.ts";

Deno.test("securityHeaders() passes when the headers are present and acceptable", async () => {
  const svc = serve(() =>
    new Response("ok", {
      headers: {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'self'",
      },
    })
  );
  try {
    const outcome = await securityHeaders(`${svc.url}/health`).run(fakeContext());
    assert.equal(outcome.ok, true, outcome.message);
    // HSTS only applies to https URLs.
    assert.deepEqual(outcome.evidence?.notApplicable, ["Strict-Transport-Security"]);
  } finally {
    await svc.stop();
  }
});

Deno.test("securityHeaders() fails on missing and unacceptable headers, naming them", async () => {
  const svc = serve(() =>
    new Response("ok", {
      headers: { "X-Content-Type-Options": "sniff-away", "X-Frame-Options": "DENY" },
    })
  );
  try {
    const outcome = await securityHeaders(svc.url).run(fakeContext());
    assert.equal(outcome.ok, false);
    assert.match(
      outcome.message,
      /missing Content-Security-Policy; unacceptable X-Content-Type-Options/,
    );
    assert.deepEqual(outcome.evidence?.missing, ["Content-Security-Policy"]);
    const custom = await securityHeaders(svc.url, { rules: [{ name: "X-Frame-Options" }] })
      .run(fakeContext());
    assert.equal(custom.ok, true, custom.message);
  } finally {
    await svc.stop();
  }
});

Deno.test("findSensitiveData() reports kinds and positions, never the matched text", () => {
  const text = [
    '{"status":"healthy",',
    ' "db":"postgresql://tracktion:s3cr3tpw@db:5432/tracktion",',
    ' "auth_token":"abc"}',
    "-----BEGIN RSA PRIVATE KEY-----",
  ].join("\n");
  const findings = findSensitiveData(text);
  assert.deepEqual(findings.map((f) => f.kind), [
    "connection string",
    "token",
    "private key",
  ]);
  assert.deepEqual(findings[0], { kind: "connection string", line: 2, column: 8 });
  assert.ok(!JSON.stringify(findings).includes("s3cr3tpw"));
  assert.deepEqual(findSensitiveData('{"status":"healthy","version":"1.2.4"}'), []);
});

Deno.test("noSensitiveData() passes on clean health output and fails on a leak", async () => {
  let body: unknown = { status: "healthy", version: "1.2.4", uptime: 42 };
  const svc = serve(() => Response.json(body));
  try {
    const clean = await noSensitiveData(`${svc.url}/health`).run(fakeContext());
    assert.equal(clean.ok, true, clean.message);
    body = { status: "healthy", config: { redis_url: "redis://:hunter2x@cache:6379/0" } };
    const leak = await noSensitiveData(`${svc.url}/health`).run(fakeContext());
    assert.equal(leak.ok, false);
    assert.match(leak.message, /connection string/);
    assert.ok(!JSON.stringify(leak).includes("hunter2x"));
    body = { status: "healthy", password: "x" };
    const pw = await noSensitiveData(`${svc.url}/health`).run(fakeContext());
    assert.equal(pw.ok, false);
    assert.match(pw.message, /password/);
  } finally {
    await svc.stop();
  }
});
