// lib/clock: the virtual clock fires timers in order, one at a time, only when nothing
// holds it; cancelled timers never fire; sleeps abort; timeout signals abort with a
// TimeoutError; only unreferenced timers never move it; a scaled clock runs N times faster.
import assert from "node:assert/strict";
import { realClock, scaledClock, virtualClock } from "../../lib/clock/mod.ts";

const START = Date.UTC(2026, 0, 1);

/** Real event-loop turns, for letting a virtual clock do what it would. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

Deno.test("virtual clock: timers fire in due order (ties in the order they were set), one at a time", async () => {
  const clock = virtualClock({ startMs: START });
  const fired: string[] = [];
  clock.schedule(30, () => fired.push(`c@${clock.now() - START}`));
  clock.schedule(10, () => fired.push(`a@${clock.now() - START}`));
  clock.schedule(20, () => fired.push(`b1@${clock.now() - START}`));
  clock.schedule(20, () => {
    fired.push(`b2@${clock.now() - START}`);
    // A timer set while firing, due before the next one: it goes first.
    clock.schedule(5, () => fired.push(`b3@${clock.now() - START}`));
  });
  await clock.sleep(40);
  assert.deepEqual(fired, ["a@10", "b1@20", "b2@20", "b3@25", "c@30"]);
  assert.equal(clock.now(), START + 40);
  assert.equal(clock.fired, 6);
  assert.equal(clock.pending(), 0);
});

Deno.test("virtual clock: a hold stops every jump until it is released", async () => {
  const clock = virtualClock({ startMs: START });
  let woke = false;
  void clock.sleep(60_000).then(() => woke = true);
  const release = clock.hold("a request in flight");
  await turns(50);
  assert.equal(woke, false);
  assert.equal(clock.now(), START);
  assert.deepEqual(clock.held(), ["a request in flight"]);
  release();
  release(); // twice is harmless
  await turns(50);
  assert.equal(woke, true);
  assert.equal(clock.now(), START + 60_000);
  assert.deepEqual(clock.held(), []);
});

Deno.test("virtual clock: track holds it while the work is pending, also when it fails", async () => {
  const clock = virtualClock({ startMs: START });
  const work = Promise.withResolvers<string>();
  const tracked = clock.track("work", work.promise);
  let woke = false;
  void clock.sleep(1_000).then(() => woke = true);
  await turns(30);
  assert.equal(woke, false);
  work.reject(new Error("it failed"));
  await assert.rejects(tracked, /it failed/);
  await turns(30);
  assert.equal(woke, true);
});

Deno.test("virtual clock: a cancelled timer never fires nor moves the clock", async () => {
  const clock = virtualClock({ startMs: START });
  let fired = false;
  const cancel = clock.schedule(3_600_000, () => fired = true);
  cancel();
  await clock.sleep(10);
  await turns(30);
  assert.equal(fired, false);
  assert.equal(clock.now(), START + 10);
  assert.equal(clock.pending(), 0);
});

Deno.test("virtual clock: an aborted sleep rejects with the signal's reason at once, and does not move the clock", async () => {
  const clock = virtualClock({ startMs: START });
  const controller = new AbortController();
  const sleeping = clock.sleep(3_600_000, { signal: controller.signal });
  controller.abort(new Error("stop waiting"));
  await assert.rejects(sleeping, /stop waiting/);
  const already = new AbortController();
  already.abort(new Error("already"));
  await assert.rejects(clock.sleep(1, { signal: already.signal }), /already/);
  await turns(30);
  assert.equal(clock.now(), START);
});

Deno.test("virtual clock: a timeout signal aborts with a TimeoutError when its time comes", async () => {
  const clock = virtualClock({ startMs: START });
  const signal = clock.timeout(5_000);
  assert.equal(signal.aborted, false);
  await clock.sleep(4_999);
  assert.equal(signal.aborted, false);
  await clock.sleep(1);
  await turns(5);
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
});

Deno.test("virtual clock: unreferenced timers alone never move it (no runaway)", async () => {
  const clock = virtualClock({ startMs: START });
  const signal = clock.timeout(1_000); // unreferenced, like AbortSignal.timeout's
  await turns(100);
  assert.equal(signal.aborted, false);
  assert.equal(clock.now(), START);
  assert.equal(clock.fired, 0);
  // With a referenced timer beyond it, both fire in order.
  await clock.sleep(2_000);
  assert.equal(signal.aborted, true);
  assert.equal(clock.now(), START + 2_000);
});

Deno.test("virtual clock: dispose cancels everything", async () => {
  const clock = virtualClock({ startMs: START });
  let fired = false;
  clock.schedule(10, () => fired = true);
  clock.dispose();
  await turns(30);
  assert.equal(fired, false);
  assert.equal(clock.pending(), 0);
});

Deno.test("scaled clock: target time runs N times faster than real time, stamps stay real", async () => {
  const scale = 50;
  const clock = scaledClock(scale);
  assert.equal(clock.kind, "scaled");
  assert.equal(clock.scale, scale);
  const t0 = performance.now();
  const stamp = clock.now();
  await clock.sleep(2_000); // 40 real ms
  const real = performance.now() - t0;
  // Timers never fire early; the clock's own measure agrees with the real time scaled.
  assert.ok(real >= 2_000 / scale - 1, `a 2 s target sleep took ${real} real ms`);
  assert.ok(clock.since(stamp) >= 2_000 - scale, `since says ${clock.since(stamp)}`);
  assert.ok(Math.abs(clock.now() - Date.now()) < 1_000, "stamps are real time");
  const offset = scaledClock(10, 60_000);
  assert.ok(offset.now() - Date.now() >= 59_000, "the offset moves stamps");
  assert.throws(() => scaledClock(0), RangeError);
  assert.throws(() => scaledClock(Infinity), RangeError);
});

Deno.test("real clock: holds are free, timeouts abort, cancelled timers do not fire", async () => {
  assert.equal(realClock.kind, "real");
  assert.equal(realClock.scale, 1);
  realClock.hold("nothing")();
  assert.equal(await realClock.track("x", Promise.resolve(7)), 7);
  let fired = false;
  realClock.schedule(5, () => fired = true)();
  const signal = realClock.timeout(10);
  await realClock.sleep(30);
  assert.equal(fired, false);
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
});
