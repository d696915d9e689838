// The runner on a virtual clock: stages wait on the run's clock (ctx.sleep), retries and
// time limits are on it, parallel waits overlap, and real I/O holds it — with a clock whose
// holds are broken, the same run shows the jump the holds prevent.
import assert from "node:assert/strict";
import { type Clock, virtualClock } from "../../lib/clock/mod.ts";
import { runFixture, stageOf } from "./_run.ts";

const START = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

/** Runs the clock fixture in one mode on a fresh virtual clock; the run and its wall time. */
async function onVirtualClock(
  mode: string,
  o: { options?: Record<string, string>; clock?: Clock } = {},
) {
  const clock = o.clock ?? virtualClock({ startMs: START });
  const t0 = performance.now();
  const run = await runFixture("clock.ts", { options: { mode, ...o.options }, clock });
  return { run, wallMs: performance.now() - t0 };
}

Deno.test("virtual clock: a stage's ctx.sleep('1h') takes an hour of run time and no real hour", async () => {
  // The baseline: the same one-stage run whose stage sleeps 0 ms.
  const base = await onVirtualClock("zero");
  await base.run.cleanup();
  const { run, wallMs } = await onVirtualClock("hour");
  try {
    assert.equal(run.report.status, "succeeded");
    const hour = stageOf(run, "hour");
    assert.equal(hour.durationMs, HOUR);
    assert.equal(hour.attempts[0]!.durationMs, HOUR);
    assert.deepEqual(hour.output, { slept: HOUR });
    assert.equal(run.report.startedAt, new Date(START).toISOString());
    assert.equal(run.report.finishedAt, new Date(START + HOUR).toISOString());
    assert.equal(run.report.durationMs, HOUR);
    // An hour asleep costs about what sleeping 0 ms does: far less than the 36 s even a
    // 100x scaled clock would take.
    assert.ok(
      wallMs < base.wallMs + 2_000 && wallMs < HOUR / 100,
      `an hour's sleep took ${wallMs} ms of wall time; sleeping 0 ms took ${base.wallMs} ms`,
    );
    const journal = (await Deno.readTextFile(`${run.runDir}/events.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(journal[0].ts, new Date(START).toISOString());
    assert.equal(journal.at(-1).ts, new Date(START + HOUR).toISOString());
    const log = await Deno.readTextFile(`${run.runDir}/${hour.log}`);
    assert.match(log, /^2026-01-01T01:00:00\.000Z INFO slept 3600000 ms$/m);
  } finally {
    await run.cleanup();
  }
});

Deno.test("virtual clock: retries wait their backoff on the clock (10 m, then 20 m)", async () => {
  const { run } = await onVirtualClock("retry");
  try {
    const flaky = stageOf(run, "flaky");
    assert.equal(flaky.status, "succeeded");
    const starts = flaky.attempts.map((a) => Date.parse(a.startedAt));
    assert.deepEqual(starts.map((t) => t - START), [0, 600_000, 1_800_000]);
    assert.deepEqual(flaky.attempts.map((a) => a.durationMs), [0, 0, 0]);
    assert.equal(flaky.output, START + 1_800_000);
    assert.equal(flaky.durationMs, 1_800_000);
  } finally {
    await run.cleanup();
  }
});

Deno.test("virtual clock: a stage's 10 m time limit fires on the clock, and its hour's sleep is cancelled", async () => {
  const { run } = await onVirtualClock("timeout");
  try {
    const slow = stageOf(run, "slow");
    assert.equal(slow.status, "failed");
    assert.equal(slow.attempts[0]!.status, "timed_out");
    assert.match(slow.reason!, /timed out after 600000 ms/);
    assert.equal(slow.durationMs, 600_000);
    // The sleep the Worker asked for died with it: the run did not wait out the hour.
    assert.equal(run.report.durationMs, 600_000);
  } finally {
    await run.cleanup();
  }
});

Deno.test("virtual clock: two stages sleeping side by side take the longer sleep, not the sum", async () => {
  const { run } = await onVirtualClock("parallel");
  try {
    assert.equal(run.report.status, "succeeded");
    assert.equal(stageOf(run, "two-hours").durationMs, 2 * HOUR);
    assert.equal(stageOf(run, "three-hours").durationMs, 3 * HOUR);
    assert.equal(stageOf(run, "joined").output, START + 3 * HOUR);
    assert.equal(run.report.durationMs, 3 * HOUR);
  } finally {
    await run.cleanup();
  }
});

Deno.test("virtual clock: a sleep aborted by the stage's own signal stops waiting, on both sides", async () => {
  const { run } = await onVirtualClock("abort");
  try {
    assert.deepEqual(stageOf(run, "aborted").output, {
      how: "aborted: no longer wanted",
      elapsed: 120_000,
    });
    // The hour's timer on the main thread was cancelled too: the run ends at 2 minutes.
    assert.equal(run.report.durationMs, 120_000);
  } finally {
    await run.cleanup();
  }
});

/** A server that answers `/slow` after a real 200 ms. */
function slowServer() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await new Promise((r) => setTimeout(r, 200));
    return new Response("slow answer");
  });
  return { port: String(server.addr.port), close: () => server.shutdown() };
}

/** A virtual clock whose holds do nothing: what the runner would be without them. */
function withoutHolds(): Clock {
  const clock = virtualClock({ startMs: START });
  return {
    kind: clock.kind,
    scale: clock.scale,
    now: () => clock.now(),
    since: (s) => clock.since(s),
    sleep: (ms, o) => clock.sleep(ms, o),
    schedule: (ms, fn) => clock.schedule(ms, fn),
    timeout: (ms) => clock.timeout(ms),
    hold: () => () => {},
    track: (_what, work) => work,
  };
}

Deno.test("virtual clock: a stage's real I/O is not jumped past (and is, without holds)", async () => {
  const server = slowServer();
  try {
    const options = { port: server.port, race: "60000" };
    const { run } = await onVirtualClock("io", { options });
    try {
      assert.equal(run.report.status, "succeeded");
      const io = stageOf(run, "io");
      const racer = stageOf(run, "racer");
      // The fetch took a real 200 ms and no run time, although an hour's sleep (and the
      // other stage's minute) were due: the clock was held while it was in flight.
      assert.deepEqual(io.output, { body: "slow answer", fetchedAt: 0, sleptTo: HOUR });
      // The racer's minute ends after the fetch (it is longer than the fetch's no time),
      // and before the hour.
      assert.equal(racer.output, START + 60_000);
      assert.equal(racer.durationMs, 60_000);
      assert.equal(io.durationMs, HOUR);
    } finally {
      await run.cleanup();
    }
    // The same run on a clock whose holds are missing: the clock jumps during the fetch.
    const broken = await onVirtualClock("io", { options, clock: withoutHolds() });
    try {
      const output = stageOf(broken.run, "io").output as { fetchedAt: number };
      // (At least the hour: on a busy machine later timers may fire during the fetch too.)
      assert.ok(
        output.fetchedAt >= HOUR,
        `without holds the hour passes during the fetch (fetched at ${output.fetchedAt})`,
      );
    } finally {
      await broken.run.cleanup();
    }
  } finally {
    await server.close();
  }
});

Deno.test("virtual clock: the same run twice (same start, same run id) writes the same journal and report bytes", async () => {
  const outputs: { journal: string; report: string; logs: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const run = await runFixture("clock.ts", {
      options: { mode: "mixed" },
      clock: virtualClock({ startMs: START }),
      runId: "determinism-1",
    });
    try {
      assert.equal(run.report.status, "succeeded");
      const logs = [];
      for (const s of run.report.stages.filter((s) => s.status !== "skipped")) {
        logs.push(await Deno.readTextFile(`${run.runDir}/${s.log}`).catch(() => "(no log)"));
      }
      outputs.push({
        journal: await Deno.readTextFile(`${run.runDir}/events.jsonl`),
        report: await Deno.readTextFile(run.reportPath),
        logs: logs.join("\n"),
      });
    } finally {
      await run.cleanup();
    }
  }
  const [a, b] = outputs as [typeof outputs[0], typeof outputs[0]];
  assert.ok(a.journal.split("\n").length > 15, "a journal worth comparing");
  assert.equal(a.journal, b.journal);
  assert.equal(a.report, b.report);
  assert.equal(a.logs, b.logs);
});
