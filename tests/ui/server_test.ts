// The dashboard over real HTTP (startDashboard on a free port, fetch and a raw socket as the
// clients): every path and method refused without the token (401, the stream and the
// decision too; 404s only behind the token), the token as a query turned into a cookie and
// redirected away, a Host that is not the dashboard's refused, no CORS anywhere; decisions:
// the cookie alone refused (nothing written), the page's header accepted and written as
// `decide` writes it, bad input and runs with nothing to decide refused; a finished run of a
// real rehearsal served as its HTML report, verified.
import assert from "node:assert/strict";
import { cookieName, CSRF_HEADER, csrfValue, startDashboard } from "../../lib/ui/mod.ts";
import { Rehearsal } from "../deploy/_deploy.ts";

function line(seq: number, type: string, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ seq, ts: `2026-01-01T00:00:0${seq}.000Z`, type, ...extra })}\n`;
}

async function pausedRun(runs: string, id: string) {
  await Deno.mkdir(`${runs}/${id}`, { recursive: true });
  await Deno.writeTextFile(
    `${runs}/${id}/events.jsonl`,
    line(1, "run.started", {
      runId: id,
      pipeline: "deploy",
      environment: "production",
      who: { user: "ada", host: "elsewhere" },
    }) + line(2, "stage.paused", { stage: "canary-5" }),
  );
}

/** One request over a raw socket, so that its Host header is exactly `host`. */
async function rawGet(port: number, host: string, path: string, token: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
  ));
  const text = await new Response(conn.readable).text();
  return text.split("\r\n")[0]!;
}

Deno.test({
  name: "the dashboard refuses every request without its token, and takes it three ways",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const runs = await Deno.makeTempDir();
    await pausedRun(runs, "r1");
    const d = await startDashboard({ runsDir: runs, user: "release-manager" });
    try {
      const paths = [
        "/",
        "/api/runs",
        "/runs/r1",
        "/runs/r1/events",
        "/runs/nope",
        "/nope",
        "/?environment=x",
      ];
      for (const path of paths) {
        for (
          const headers of [{}, { authorization: "Bearer wrong" }, {
            cookie: `${cookieName(d.port)}=wrong`,
          }]
        ) {
          const r = await fetch(`${d.origin}${path}`, { headers });
          assert.equal(r.status, 401, `${path} ${JSON.stringify(headers)}`);
          assert.equal(r.headers.get("access-control-allow-origin"), null);
          assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer/);
          await r.body?.cancel();
        }
      }
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
        const r = await fetch(`${d.origin}/runs/r1/decision`, {
          method,
          headers: { origin: "http://evil.example", "content-type": "application/json" },
          ...(method === "POST" ? { body: '{"action":"abort"}' } : {}),
        });
        assert.equal(r.status, 401, method);
        assert.equal(r.headers.get("access-control-allow-origin"), null);
        await r.body?.cancel();
      }
      assert.equal(await Deno.stat(`${runs}/r1/decision.json`).catch(() => null), null);

      // ?token= once: a cookie (HttpOnly, SameSite=Strict), and the address without the token.
      const first = await fetch(`${d.origin}/?environment=production&token=${d.token}`, {
        redirect: "manual",
      });
      assert.equal(first.status, 303);
      assert.equal(first.headers.get("location"), "/?environment=production");
      const setCookie = first.headers.get("set-cookie") ?? "";
      assert.match(
        setCookie,
        new RegExp(`^${cookieName(d.port)}=${d.token}; HttpOnly; SameSite=Strict; Path=/$`),
      );
      const cookie = setCookie.split(";")[0]!;
      const list = await fetch(`${d.origin}/?environment=production`, { headers: { cookie } });
      assert.equal(list.status, 200);
      const html = await list.text();
      assert.match(html, /data-run="r1" data-status="killed"/);
      assert.match(list.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
      assert.equal(list.headers.get("cache-control"), "no-store");
      assert.equal(list.headers.get("access-control-allow-origin"), null);
      assert.doesNotMatch(html, new RegExp(d.token), "the page does not carry the token");
      const none = await fetch(`${d.origin}/api/runs?environment=staging`, { headers: { cookie } });
      assert.deepEqual(await none.json(), []);

      const stream = await fetch(`${d.origin}/runs/r1/events`, {
        headers: { authorization: `Bearer ${d.token}` },
      });
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
      await stream.body?.cancel();

      const nope = await fetch(`${d.origin}/runs/nope`, { headers: { cookie } });
      assert.equal(nope.status, 404);
      await nope.body?.cancel();

      // Another name for the same socket (DNS rebinding) is refused, token or not.
      assert.match(await rawGet(d.port, "evil.example", "/api/runs", d.token), / 421 /);
      assert.match(await rawGet(d.port, `127.0.0.1:${d.port}`, "/api/runs", d.token), / 200 /);
      assert.match(await rawGet(d.port, `localhost:${d.port}`, "/api/runs", d.token), / 200 /);
    } finally {
      await d.stop();
      await Deno.remove(runs, { recursive: true });
    }
  },
});

Deno.test({
  name: "a decision needs the token in a header, and is written as decide writes it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const runs = await Deno.makeTempDir();
    await pausedRun(runs, "r1");
    await Deno.mkdir(`${runs}/done`);
    await Deno.writeTextFile(
      `${runs}/done/events.jsonl`,
      line(1, "run.started", { runId: "done" }),
    );
    await Deno.writeTextFile(`${runs}/done/report.json`, "{}");
    await Deno.mkdir(`${runs}/busy`);
    await Deno.writeTextFile(
      `${runs}/busy/events.jsonl`,
      line(1, "run.started", { runId: "busy" }),
    );
    const d = await startDashboard({ runsDir: runs, user: "release-manager" });
    const cookie = `${cookieName(d.port)}=${d.token}`;
    const post = async (path: string, body: string, headers: Record<string, string>) => {
      const r = await fetch(`${d.origin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      return { status: r.status, body: await r.json().catch(() => null) };
    };
    try {
      const page = { cookie, [CSRF_HEADER]: csrfValue(d.token) };
      assert.equal((await post("/runs/r1/decision", '{"action":"abort"}', { cookie })).status, 403);
      assert.equal(
        (await post("/runs/r1/decision", '{"action":"abort"}', {
          ...page,
          origin: "http://evil.example",
        }))
          .status,
        403,
      );
      assert.equal(await Deno.stat(`${runs}/r1/decision.json`).catch(() => null), null);

      for (
        const body of ["", "nope", '{"action":"maybe"}', "{}", `{"action":"${"x".repeat(5000)}"}`]
      ) {
        const r = await post("/runs/r1/decision", body, page);
        assert.equal(r.status, 400, body);
        assert.match(r.body.error, /action/);
      }
      assert.equal((await post("/runs/nope/decision", '{"action":"abort"}', page)).status, 404);
      const done = await post("/runs/done/decision", '{"action":"abort"}', page);
      assert.deepEqual([done.status, done.body.error], [
        409,
        'Run "done" has finished: there is nothing to decide',
      ]);
      const busy = await post("/runs/busy/decision", '{"action":"promote"}', page);
      assert.deepEqual([busy.status, busy.body.error], [
        409,
        'Run "busy" has no stage waiting for a decision',
      ]);
      assert.equal(await Deno.stat(`${runs}/r1/decision.json`).catch(() => null), null);

      const ok = await post("/runs/r1/decision", '{"action":"abort"}', page);
      assert.equal(ok.status, 200);
      assert.equal(
        ok.body.message,
        'abort recorded for stage "canary-5" of run r1 (by release-manager)',
      );
      const written = JSON.parse(await Deno.readTextFile(`${runs}/r1/decision.json`));
      assert.deepEqual([written.action, written.by, written.method], [
        "abort",
        "release-manager",
        "command",
      ]);
      const bearer = await post("/runs/r1/decision", '{"action":"promote"}', {
        authorization: `Bearer ${d.token}`,
      });
      assert.equal(bearer.status, 200);
      const get = await fetch(`${d.origin}/runs/r1/decision`, { headers: { cookie } });
      assert.equal(get.status, 405);
      await get.body?.cancel();
    } finally {
      await d.stop();
      await Deno.remove(runs, { recursive: true });
    }
  },
});

Deno.test({
  name: "a finished run of a real rehearsal is served as its HTML report, its journal verified",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await Rehearsal.create();
    try {
      const run = await r.deploy("staging", "v1.2.4");
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const id = String(run.report.runId);
      const d = await startDashboard({ runsDir: `${r.dir}/runs`, user: "ana" });
      try {
        const page = await fetch(`${d.origin}/runs/${id}`, {
          headers: { authorization: `Bearer ${d.token}` },
        });
        assert.equal(page.status, 200);
        const html = await page.text();
        assert.match(html, /^<!doctype html>/);
        assert.match(html, /id="timeline-chart"/);
        assert.match(html, /✓ journal chain: \d+ events, chain verified/);
        assert.match(html, /✓ report against journal: \d+ fields agree/);
        assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
        const list = await (await fetch(`${d.origin}/api/runs`, {
          headers: { authorization: `Bearer ${d.token}` },
        })).json();
        assert.deepEqual(list.map((x: { id: string; status: string }) => [x.id, x.status]), [[
          id,
          "succeeded",
        ]]);
      } finally {
        await d.stop();
      }
    } finally {
      await r.remove();
    }
  },
});
