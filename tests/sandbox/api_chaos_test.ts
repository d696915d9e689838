// The sandbox's api-chaos scenario: its text, the fault mix by rate and by kind of request,
// only the Kubernetes API's paths, the same faults for the same seed, and the real kubectl
// reading its 5xx and 429 answers as a real API server's.
import assert from "node:assert/strict";
import { checkScenario, SCENARIOS, startSandbox } from "../../lib/sandbox/mod.ts";
import { type Sandbox } from "../../lib/sandbox/mod.ts";
import {
  jobFaultsOf,
  parseApiChaos,
  parseScenario,
  SLOW_ANSWER_MS,
  splitApiChaos,
} from "../../lib/sandbox/scenarios.ts";

async function withChaos(
  scenario: string,
  fn: (s: Sandbox) => Promise<void>,
  seed: string | number = 1,
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "api-chaos-test-" });
  const s = await startSandbox({
    stateDir,
    reset: true,
    timeScale: 240,
    trafficRate: 0,
    scenario,
    randomSeed: seed,
  });
  try {
    await fn(s);
  } finally {
    await s.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

/** A request as a Kubernetes client sends it: it names itself. */
function req(s: Sandbox, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { "user-agent": "test-client/1.0", ...(init.headers ?? {}) };
  return s.handle(new Request(`${s.url}${path}`, { ...init, headers }));
}

async function status(s: Sandbox, path: string, init: RequestInit = {}): Promise<number> {
  const res = await req(s, path, init);
  await res.body?.cancel();
  return res.status;
}

Deno.test("api-chaos: the scenario's text (default 5%, :rate, /faults) and what is refused", () => {
  assert.equal(checkScenario("api-chaos"), "api-chaos");
  assert.equal(checkScenario("api-chaos:30%"), "api-chaos:30%");
  assert.equal(
    checkScenario("canary-errors,api-chaos:100%/throttle+slow"),
    "canary-errors,api-chaos:100%/throttle+slow",
  );
  assert.ok("api-chaos" in SCENARIOS);
  assert.deepEqual(parseApiChaos("api-chaos"), { rate: 0.05 });
  assert.deepEqual(splitApiChaos("api-chaos:30%/throttle+slow").chaos, {
    rate: 0.3,
    faults: ["throttle", "slow"],
  });
  // the other faults are read as before, api-chaos left out of them
  assert.equal(parseScenario("canary-errors,api-chaos").length, 1);
  assert.deepEqual(jobFaultsOf("api-chaos,tests-fail"), [{ name: "tests-fail" }]);
  for (
    const [bad, why] of [
      ["api-chaos:0%", /rate of api-chaos is a percentage/],
      ["api-chaos:150%", /rate of api-chaos is a percentage/],
      ["api-chaos:5", /rate of api-chaos is a percentage/],
      ["api-chaos@4m", /takes a rate and fault kinds, not an onset/],
      ["api-chaos/bogus", /unknown api-chaos fault "bogus"/],
      ["api-chaos,api-chaos:30%", /given twice/],
    ] as const
  ) {
    assert.throws(() => checkScenario(bad), why, bad);
  }
  assert.throws(() => checkScenario("api-chaoss"), /unknown scenario "api-chaoss".*api-chaos/);
});

Deno.test({
  name: "api-chaos: faults come at the rate asked, each of its kind only on the requests it fits",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const n = 1_000;
    // every kind a read can get but slow (each slow answer takes 5 real s here: below)
    await withChaos("api-chaos:30%/internal+unavailable+throttle+timeout+conflict", async (s) => {
      const statuses = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const code = await status(s, "/api/v1/namespaces/default/configmaps");
        statuses.set(code, (statuses.get(code) ?? 0) + 1);
      }
      const stats = s.apiChaos!;
      assert.equal(stats.requests, n);
      const faulted = Object.values(stats.faults).reduce((a, b) => a + b, 0);
      // binomial(1000, 0.3): mean 300, sd 14.5; 5 sd either side
      const sd = Math.sqrt(n * 0.3 * 0.7);
      assert.ok(Math.abs(faulted - 300) < 5 * sd, `faulted ${faulted} of ${n}`);
      // a read is never answered 409 or 504 (nothing was written)
      assert.equal(stats.faults.conflict, 0);
      assert.equal(stats.faults.timeout, 0);
      for (const f of ["internal", "unavailable", "throttle"] as const) {
        assert.ok(stats.faults[f] > 0, `no ${f} among ${faulted}`);
      }
      assert.equal(statuses.get(200), n - faulted);
      assert.equal(statuses.get(429), stats.faults.throttle);
      assert.equal(statuses.get(500), stats.faults.internal);
      assert.equal(statuses.get(503), stats.faults.unavailable);
    });
    // slow: the answer comes, after SLOW_ANSWER_MS of the clock (at least 5 real s)
    await withChaos("api-chaos:100%/slow", async (s) => {
      const t0 = s.clock.now();
      const codes = await Promise.all(
        [1, 2, 3].map(() => status(s, "/api/v1/namespaces/default/configmaps")),
      );
      assert.deepEqual(codes, [200, 200, 200]);
      assert.ok(s.clock.since(t0) >= SLOW_ANSWER_MS, String(s.clock.since(t0)));
      assert.equal(s.apiChaos!.faults.slow, 3);
    });
    await withChaos("api-chaos:100%/conflict+timeout", async (s) => {
      const body = JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c", namespace: "default" },
        data: { a: "1" },
      });
      const headers = { "content-type": "application/json" };
      // POST: no conflict kind fits a create, only the 504 after the write
      assert.equal(
        await status(s, "/api/v1/namespaces/default/configmaps", { method: "POST", body, headers }),
        504,
      );
      // ... and it was written: the 504 came after
      assert.equal(
        await status(s, "/api/v1/namespaces/default/configmaps", { method: "POST", body, headers }),
        504,
      );
      const put = await req(s, "/api/v1/namespaces/default/configmaps/c", {
        method: "PUT",
        body,
        headers,
      });
      const putStatus = await put.json();
      assert.ok(put.status === 409 || put.status === 504, String(put.status));
      if (put.status === 409) {
        assert.equal(putStatus.kind, "Status");
        assert.equal(putStatus.reason, "Conflict");
        assert.match(putStatus.message, /configmaps "c": the object has been modified/);
      }
      // reads are not faulted by these kinds
      const got = await req(s, "/api/v1/namespaces/default/configmaps/c");
      assert.equal(got.status, 200);
      assert.equal((await got.json()).data.a, "1");
    });
  },
});

Deno.test({
  name:
    "api-chaos: only /api and /apis: health, version, OpenAPI, measurements, proxies and bare fetches go through",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:100%", async (s) => {
      for (const path of ["/healthz", "/readyz", "/version", "/openapi/v3"]) {
        assert.equal(await status(s, path), 200, path);
      }
      // the measurements (the sandbox's metrics source) answer as they would without chaos
      const m = await status(s, "/apis/sandbox.tracktion.dev/v1/namespaces/default/measurements");
      assert.notEqual(m, 429);
      // a proxied request's answer is the pod's (here: no such pod, the API's own 404/503)
      const proxied = await req(s, "/api/v1/namespaces/default/pods/nothing:80/proxy/health");
      await proxied.body?.cancel();
      assert.equal(s.apiChaos!.requests, 0, JSON.stringify(s.apiChaos));
      // a bare fetch (the rehearsal harness: Deno's own User-Agent) is not a client's, nor a
      // request handed in-process without one (the companions publishing their addresses)
      const bare = await fetch(`${s.url}/api/v1/namespaces`);
      assert.equal(bare.status, 200);
      await bare.body?.cancel();
      const anonymous = await s.handle(new Request(`${s.url}/api/v1/namespaces`));
      assert.equal(anonymous.status, 200);
      await anonymous.body?.cancel();
      assert.equal(s.apiChaos!.requests, 0);
      // every API path is: discovery too
      assert.notEqual(await status(s, "/api"), 200);
      assert.notEqual(await status(s, "/apis/apps/v1"), 200);
      assert.equal(s.apiChaos!.requests, 2);
    });
  },
});

Deno.test({
  name: "api-chaos: the same seed draws the same faults; another seed others",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const draw = async (seed: number) => {
      const codes: number[] = [];
      await withChaos("api-chaos:30%/internal+unavailable+throttle", async (s) => {
        for (let i = 0; i < 60; i++) codes.push(await status(s, "/api/v1/namespaces"));
      }, seed);
      return codes.join(",");
    };
    const [a, b, c] = [await draw(7), await draw(7), await draw(8)];
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a, /429|500|503/);
  },
});

Deno.test({
  name:
    "api-chaos: watches are dropped early, and one from a resourceVersion may answer 410 Expired",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:100%/watch-drop", async (s) => {
      // a watch stream ends by itself (after 0-2 events), long before its timeoutSeconds
      for (let i = 0; i < 5; i++) {
        const res = await req(s, "/api/v1/namespaces?watch=true&timeoutSeconds=1800");
        assert.equal(res.status, 200);
        const text = await res.text(); // ends: the stream was dropped
        assert.ok(text.split("\n").filter(Boolean).length <= 2, text);
      }
      assert.equal(s.apiChaos!.faults["watch-drop"], 5);
    });
    await withChaos("api-chaos:100%/watch-expired", async (s) => {
      const res = await req(s, "/api/v1/namespaces?watch=true&resourceVersion=1");
      const event = JSON.parse((await res.text()).trim());
      assert.equal(event.type, "ERROR");
      assert.equal(event.object.code, 410);
      assert.equal(event.object.reason, "Expired");
      // without a resourceVersion there is nothing to expire: the watch is served
      const fresh = await req(s, "/api/v1/namespaces?watch=true&timeoutSeconds=1");
      assert.equal(fresh.status, 200);
      await fresh.body?.cancel();
    });
  },
});

async function kubectl(s: Sandbox, ...args: string[]) {
  const cache = await Deno.makeTempDir({ prefix: "kubectl-cache-" });
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", s.kubeconfigPath, "--cache-dir", cache, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(cache, { recursive: true }).catch(() => {});
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test({
  name:
    "api-chaos: the real kubectl reads its 5xx as a server's Status and retries its 429 after Retry-After",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const path = "/api/v1/namespaces/kube-system/configmaps";
    await withChaos("api-chaos:100%/internal", async (s) => {
      const r = await kubectl(s, "get", "--raw", path);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /Error from server \(InternalError\): Internal error occurred: api-chaos/,
      );
    });
    await withChaos("api-chaos:100%/unavailable", async (s) => {
      const r = await kubectl(s, "get", "--raw", path);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Error from server \(ServiceUnavailable\)/);
    });
    // seed 1's first draws throttle the first request: kubectl waits as told and goes on
    await withChaos("api-chaos:60%/throttle", async (s) => {
      const r = await kubectl(s, "get", "--raw", path, "-v=4");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Got a Retry-After [123]s response for attempt 1/);
      assert.equal(JSON.parse(r.stdout).kind, "ConfigMapList");
      assert.ok(s.apiChaos!.faults.throttle >= 1);
    });
  },
});

Deno.test({
  name: "api-chaos: a bystander's reads (Sandbox.inspect) are never faulted nor counted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withChaos("api-chaos:100%/internal+unavailable", async (s) => {
      const path = "/api/v1/namespaces/default/configmaps";
      // The client's requests all fail at 100%.
      const faulted = await status(s, path);
      assert.ok(faulted === 500 || faulted === 503, String(faulted));
      const seen = s.apiChaos!.requests;
      const token = (await Deno.readTextFile(s.kubeconfigPath)).match(/token: (\S+)/)![1]!;
      for (let i = 0; i < 20; i++) {
        const res = await s.inspect(
          new Request(`${s.url}${path}`, { headers: { authorization: `Bearer ${token}` } }),
        );
        assert.equal(res.status, 200);
        assert.equal((await res.json()).kind, "ConfigMapList");
      }
      assert.equal(s.apiChaos!.requests, seen, "inspect's requests are not the client's");
      // Authentication still holds for a bystander: a wrong token is refused.
      const wrong = await s.inspect(
        new Request(`${s.url}${path}`, { headers: { authorization: "Bearer not-the-token" } }),
      );
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
    });
  },
});
