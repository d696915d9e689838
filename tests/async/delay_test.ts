import assert from "node:assert/strict";
import { delay } from "../../lib/async/delay.ts";

Deno.test("delay() resolves after about the time asked", async () => {
  const started = performance.now();
  const result = await delay(50);
  const took = performance.now() - started;
  assert.equal(result, undefined);
  assert.ok(took >= 45, `resolved after ${took} ms`);
});

Deno.test("delay() with 0 or a negative time resolves on the next timer turn", async () => {
  let later = false;
  const waiting = delay(-5).then(() => later);
  later = true;
  assert.equal(await waiting, true, "resolved asynchronously, not synchronously");
  await delay(0);
});

Deno.test("delay() rejects with signal.reason when the signal aborts, and clears its timer", async () => {
  const controller = new AbortController();
  const reason = new Error("stopped by the test");
  const started = performance.now();
  const waiting = delay(60_000, { signal: controller.signal });
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(waiting, (error) => error === reason);
  assert.ok(performance.now() - started < 5_000, "did not wait out the 60 s");
  // The test sanitizer fails this test if the 60 s timer were still pending.
});

Deno.test("delay() rejects at once, with no timer, for an already aborted signal", async () => {
  const controller = new AbortController();
  controller.abort();
  const error = await delay(60_000, { signal: controller.signal }).then(
    () => assert.fail("resolved"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, "AbortError");
  assert.equal(error, controller.signal.reason);
});

Deno.test("delay() rejects with a timeout signal's TimeoutError", async () => {
  await assert.rejects(
    delay(60_000, { signal: AbortSignal.timeout(10) }),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
});

Deno.test("delay() resolves and stops listening when the signal never aborts", async () => {
  const controller = new AbortController();
  const listening = new Set<unknown>();
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type: string, fn: unknown, o?: unknown) => {
    listening.add(fn);
    add(type, fn as EventListener, o as AddEventListenerOptions);
  };
  signal.removeEventListener = (type: string, fn: unknown, o?: unknown) => {
    listening.delete(fn);
    remove(type, fn as EventListener, o as EventListenerOptions);
  };
  const waiting = delay(5, { signal });
  assert.equal(listening.size, 1, "listens while waiting");
  await waiting;
  assert.equal(listening.size, 0, "the abort listener is removed once the wait is over");
  controller.abort(new Error("too late")); // changes nothing: nothing rejects
  await delay(1);
});

Deno.test("delay() with persistent: false does not keep the process alive", async () => {
  const code = `import { delay } from ${
    JSON.stringify(new URL("../../lib/async/delay.ts", import.meta.url).href)
  };
delay(60_000, { persistent: false }).then(() => console.log("waited"));
console.log("exiting");`;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "exiting");
  assert.ok(performance.now() - started < 30_000);
});
