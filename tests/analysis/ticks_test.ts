/**
 * Shared look times: one timer per moment, whoever waits for it.
 * @module
 */
import assert from "node:assert/strict";
import { SharedTicks } from "../../lib/analysis/ticks.ts";
import { virtualClock } from "../../lib/clock/mod.ts";

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
  const ticks = new SharedTicks(clock);
  assert.equal(await ticks.at(40_000, new AbortController().signal), true);
  assert.equal(clock.pending(), 0);
  clock.dispose();
});
