/**
 * Shared look times: one timer per moment, whoever waits for it.
 * @module
 */
import assert from "node:assert/strict";
import { SharedTicks } from "../../lib/analysis/ticks.ts";
import { type Clock, scaledClock, virtualClock } from "../../lib/clock/mod.ts";

Deno.test("waiters of one moment share one timer and wake in the order they asked", async () => {
  const clock = virtualClock({ startMs: 0 });
  const ticks = new SharedTicks(clock);
  const signal = new AbortController().signal;
  const order: string[] = [];
  const waits = ["a", "b", "c"].map((name) =>
    ticks.at(10_000, signal).then((ok) => order.push(`${name}:${ok}@${clock.now()}`))
  );
  const later = ticks.at(20_000, signal).then((ok) => order.push(`d:${ok}@${clock.now()}`));
  assert.equal(clock.pending(), 2); // two moments, two timers
  await Promise.all([...waits, later]);
  assert.deepEqual(order, ["a:true@10000", "b:true@10000", "c:true@10000", "d:true@20000"]);
  assert.equal(clock.fired, 2);
  clock.dispose();
});

Deno.test("an aborted waiter leaves; the last to leave cancels the moment's timer", async () => {
  const clock = virtualClock({ startMs: 0 });
  const ticks = new SharedTicks(clock);
  const one = new AbortController(), two = new AbortController();
  const a = ticks.at(5_000, one.signal);
  const b = ticks.at(5_000, two.signal);
  assert.equal(clock.pending(), 1);
  one.abort();
  assert.equal(await a, false);
  assert.equal(clock.pending(), 1); // b still waits
  two.abort();
  assert.equal(await b, false);
  assert.equal(clock.pending(), 0);
  assert.equal(clock.now(), 0); // nothing fired: time did not move
  assert.equal(await ticks.at(5_000, one.signal), false, "an aborted signal never waits");
  clock.dispose();
});

Deno.test("a moment already passed answers at once, without a timer", async () => {
  const clock = virtualClock({ startMs: 50_000 });
  const ticks = new SharedTicks(clock, 0); // counted from 0: 50 s have passed
  assert.equal(await ticks.at(40_000, new AbortController().signal), true);
  assert.equal(clock.pending(), 0);
  clock.dispose();
});

Deno.test("on a scaled clock a moment is target time since the beginning (now() is wall time)", async () => {
  const scaled = scaledClock(1000); // 1 real ms = 1 target second
  const waits: number[] = [];
  const clock: Clock = {
    ...scaled,
    kind: scaled.kind,
    scale: scaled.scale,
    now: () => scaled.now(),
    since: (t) => scaled.since(t),
    schedule: (ms, fn, o) => {
      waits.push(ms);
      return scaled.schedule(ms, fn, o);
    },
  };
  const ticks = new SharedTicks(clock);
  const signal = new AbortController().signal;
  for (const moment of [10_000, 20_000, 30_000]) {
    assert.equal(await ticks.at(moment, signal), true);
    assert.ok(clock.since(ticks.begin) >= moment, "woken at its moment, not before");
  }
  // Each look waits for what is left of one look (10 s), however late the one before woke:
  // never its moment counted from the wall clock's now (a drift growing by a look each time).
  assert.equal(waits.length, 3);
  for (const ms of waits) assert.ok(ms > 0 && ms <= 10_000, `waited ${ms} target ms`);
});
