/**
 * The per-phase watchdog of a simulation's runs: a phase that goes over its real-time limit
 * aborts the watchdog's signal with a StuckError naming the phase, the inspector's step,
 * what holds the virtual clock and the timers pending; a phase that ends in time (the next
 * begins) or a stopped watchdog never fires. And `simulate` itself: runs whose phases all
 * go over the limit are abandoned as `rehearsal-completes` violations, and the simulation
 * still ends (the run after a stuck one in another state folder).
 */
import assert from "node:assert/strict";
import { realClock, virtualClock } from "../../lib/clock/mod.ts";
import { simulate, STUCK, StuckError, watchRehearsal } from "../../lib/simulate/mod.ts";

const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));

Deno.test("a stuck phase is named with what holds the virtual clock", async () => {
  const clock = virtualClock({ startMs: Date.UTC(2026, 0, 1) });
  const release = clock.hold("kubernetes: apply");
  clock.schedule(60_000, () => {});
  const dog = watchRehearsal(clock, 20, () => "observer: stopping its watches");
  dog.phase("starting the sandbox");
  dog.phase("inspector done");
  try {
    const reason = await aborted(dog.signal);
    assert.ok(reason instanceof StuckError);
    assert.equal(reason.stuck.phase, "inspector done");
    assert.deepEqual(reason.stuck.held, ["kubernetes: apply"]);
    assert.equal(reason.stuck.pending, 1);
    assert.equal(reason.stuck.clockAtMs, Date.UTC(2026, 0, 1));
    assert.match(reason.message, /"inspector done" \(observer: stopping its watches\)/);
    assert.match(reason.message, /held by "kubernetes: apply", 1 timers pending/);
    assert.match(reason.message, /--replay/);
    dog.phase("closing the connection"); // after it fired: stays as it was
    assert.equal(dog.current().phase, "inspector done");
  } finally {
    release();
    dog.stop();
    clock.dispose();
  }
});

Deno.test("a watchdog stopped, or whose phase moved on, does not fire", async () => {
  const clock = virtualClock({ startMs: 0 });
  const stopped = watchRehearsal(clock, 1);
  stopped.phase("run");
  stopped.stop(); // in the same task: its timer cannot have fired yet
  // Each phase gets the whole limit: one that began later is not cut short by the first's.
  const moving = watchRehearsal(clock, 200);
  moving.phase("a");
  const t0 = realClock.now();
  await new Promise((resolve) => setTimeout(resolve, 150));
  moving.phase("b");
  const gap = realClock.since(t0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const sinceB = moving.current().realMs;
  // Only conclusive when the machine kept each wait under the limit.
  if (gap < 200 && sinceB < 200) assert.equal(moving.signal.aborted, false);
  moving.stop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stopped.signal.aborted, false);
  clock.dispose();
});

Deno.test({
  name: "runs stuck past the limit are violations and the simulation still ends",
  // Abandoned runs are left to close in the background (the point of abandoning them).
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "simulate-stuck-" });
    const FIXTURES = "tests/fixtures/simulate";
    try {
      const { results, summaries } = await simulate({
        pipelineFile: `${FIXTURES}/pipelines/good.ts`,
        environment: "small",
        environmentsDir: `${FIXTURES}/environments`,
        runs: 2,
        seed: "stuck",
        workDir: work,
        // No run does all its work in a millisecond: every run is stuck somewhere.
        phaseLimitMs: 1,
      });
      assert.equal(results.length, 2);
      for (const r of results) {
        assert.equal(r.status, STUCK);
        assert.deepEqual(r.violations.map((v) => v.invariant), ["rehearsal-completes"]);
        assert.match(r.violations[0]!.message, /stuck for 0 s of real time in "[a-z ]+"/);
      }
      const s = summaries.sequential!;
      assert.equal(s.runs, 2);
      assert.equal(s.violations.length, 2);
      assert.equal(s.healthy_runs + s.faulty_runs + s.late_faults, 0, "stuck runs not counted");
      const dirs = [];
      for await (const e of Deno.readDir(work)) dirs.push(e.name);
      assert.ok(dirs.includes("run") && dirs.includes("run-1"), `state folders: ${dirs}`);
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
