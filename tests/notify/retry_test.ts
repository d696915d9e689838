// The delivery retry of lib/notify/retry.ts against real local HTTP servers: what is retried
// (5xx, 429, timeouts, a rate-limited 403) and what is not (a caller's 4xx), Retry-After
// honoured, the backoff's growth and jitter, and a timeout counted as a failed attempt.
// Waits are on a real clock that records what it was asked to wait (no fake timers).
import assert from "node:assert/strict";
import { backoffDelay, DEFAULT_RETRY, deliver } from "../../lib/notify/retry.ts";
import { type Clock, realClock } from "../../lib/clock/mod.ts";

/** The real clock, recording each sleep it is asked for (target ms). */
function recordingClock(): Clock & { slept: number[] } {
  const slept: number[] = [];
  return {
    kind: realClock.kind,
    scale: realClock.scale,
    slept,
    now: () => realClock.now(),
    since: (t) => realClock.since(t),
    sleep: (ms, o) => {
      slept.push(ms);
      return realClock.sleep(Math.min(ms, 20), o); // the wait is recorded; the test needn't sit it out
    },
    schedule: (ms, fn, o) => realClock.schedule(ms, fn, o),
    timeout: (ms) => realClock.timeout(ms),
    hold: (w) => realClock.hold(w),
    track: (w, p) => realClock.track(w, p),
  };
}

/** A server answering the n-th request (1-based) with `respond(n)`. */
function server(respond: (n: number) => Response | Promise<Response>) {
  let n = 0;
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.text();
    return await respond(++n);
  });
  return { url: `http://127.0.0.1:${s.addr.port}/x`, count: () => n, close: () => s.shutdown() };
}

const POST = { method: "POST", body: "{}" } as const;

Deno.test("deliver(): a 5xx is retried with growing, jittered waits until it arrives", async () => {
  const s = server((n) => new Response(n < 4 ? "busy" : "ok", { status: n < 4 ? 503 : 200 }));
  const clock = recordingClock();
  try {
    const d = await deliver(s.url, POST, { clock, random: () => 0.5 });
    assert.equal(d.ok, true);
    assert.equal(d.attempts, 4);
    assert.equal(s.count(), 4);
    // base 1 s doubling, each at 3/4 of its full value with random 0.5 (equal jitter)
    assert.deepEqual(clock.slept, [750, 1_500, 3_000]);
  } finally {
    await s.close();
  }
});

Deno.test("deliver(): one that never succeeds gives up after the policy's attempts, with the last error", async () => {
  const s = server(() => new Response("down for maintenance", { status: 502 }));
  try {
    const d = await deliver(s.url, POST, { clock: recordingClock() });
    assert.equal(d.ok, false);
    assert.equal(d.attempts, DEFAULT_RETRY.attempts);
    assert.equal(s.count(), DEFAULT_RETRY.attempts);
    assert.equal(d.error, "HTTP 502: down for maintenance");
  } finally {
    await s.close();
  }
});

Deno.test("deliver(): a caller's 4xx is not retried; a rate-limited 403 and a 429 are, after Retry-After", async () => {
  for (const status of [400, 401, 404, 422]) {
    const s = server(() => new Response("no", { status }));
    try {
      const d = await deliver(s.url, POST, { clock: recordingClock() });
      assert.equal(d.attempts, 1, `${status}`);
      assert.equal(s.count(), 1);
      assert.match(d.error!, new RegExp(`^HTTP ${status}`));
    } finally {
      await s.close();
    }
  }
  const plain403 = server(() => new Response("Resource not accessible", { status: 403 }));
  try {
    assert.equal((await deliver(plain403.url, POST, { clock: recordingClock() })).attempts, 1);
  } finally {
    await plain403.close();
  }
  // GitHub's secondary rate limit: a 403 with Retry-After (seconds).
  for (
    const [status, headers] of [[403, { "retry-after": "7" }], [429, {
      "retry-after": "7",
    }]] as const
  ) {
    const s = server((n) =>
      n === 1
        ? new Response("You have exceeded a secondary rate limit", { status, headers })
        : new Response("ok")
    );
    const clock = recordingClock();
    try {
      const d = await deliver(s.url, POST, { clock, random: () => 0 });
      assert.equal(d.ok, true, `${status}`);
      assert.equal(d.attempts, 2);
      assert.deepEqual(clock.slept, [7_000], "Retry-After, not the 500 ms backoff");
    } finally {
      await s.close();
    }
  }
  // The primary limit: x-ratelimit-remaining 0 with its reset time.
  const reset = String(Math.ceil(Date.now() / 1000) + 30);
  const limited = server((n) =>
    n === 1
      ? new Response("API rate limit exceeded", {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
      })
      : new Response("ok")
  );
  const clock = recordingClock();
  try {
    const t0 = Date.now();
    const d = await deliver(limited.url, POST, { clock, random: () => 0 });
    const t1 = Date.now();
    assert.equal(d.attempts, 2);
    // until the reset, as seen at some moment between t0 and t1
    const until = Number(reset) * 1000;
    assert.ok(clock.slept[0]! >= until - t1 && clock.slept[0]! <= until - t0, `${clock.slept}`);
  } finally {
    await limited.close();
  }
});

Deno.test("deliver(): a Retry-After beyond the policy's limit is not waited for, and says so", async () => {
  const s = server(() =>
    new Response("later", { status: 503, headers: { "retry-after": "3600" } })
  );
  const clock = recordingClock();
  try {
    const d = await deliver(s.url, POST, { clock });
    assert.equal(d.ok, false);
    assert.equal(d.attempts, 1);
    assert.deepEqual(clock.slept, []);
    assert.match(d.error!, /HTTP 503: later \(asked to retry after 3600000 ms: not waited\)/);
  } finally {
    await s.close();
  }
});

Deno.test("deliver(): a timeout is a failed attempt, retried, and reported as a timeout", async () => {
  // Never answers within the deadline (it holds each request until the server closes).
  const pending: (() => void)[] = [];
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.text();
    await new Promise<void>((resolve) => pending.push(resolve));
    return new Response("too late");
  });
  const timeoutMs = 200;
  try {
    const t0 = performance.now();
    const d = await deliver(`http://127.0.0.1:${s.addr.port}/x`, POST, {
      clock: recordingClock(),
      policy: { attempts: 3, timeoutMs },
    });
    const elapsed = performance.now() - t0;
    assert.equal(d.ok, false);
    assert.equal(d.attempts, 3);
    assert.equal(pending.length, 3, "each attempt reached the server");
    assert.equal(d.error, `timed out after ${timeoutMs} ms`);
    // each attempt waited its whole deadline (real time) before giving up
    assert.ok(elapsed >= 3 * timeoutMs, `${elapsed} ms`);
  } finally {
    for (const release of pending) release();
    await s.shutdown();
  }
});

Deno.test("backoffDelay(): doubles from the base, capped, between half and all of it", () => {
  const p = { baseDelayMs: 1_000, maxDelayMs: 5_000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, 0)), [
    500,
    1_000,
    2_000,
    2_500,
    2_500,
  ]);
  assert.deepEqual([1, 2, 3].map((a) => backoffDelay(a, p, 0.999999999)).map(Math.round), [
    1_000,
    2_000,
    4_000,
  ]);
});

Deno.test("deliver(): a cancelled delivery stops at once, between attempts too", async () => {
  const s = server(() => new Response("busy", { status: 503 }));
  const controller = new AbortController();
  try {
    const p = deliver(s.url, POST, { signal: controller.signal, policy: { baseDelayMs: 60_000 } });
    while (s.count() === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error("interrupted"));
    await assert.rejects(p, /interrupted/);
    assert.equal(s.count(), 1);
  } finally {
    await s.close();
  }
});
