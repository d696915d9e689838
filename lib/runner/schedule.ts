/**
 * Scheduling: which stage may start, wait, or is skipped (and why), and the loop that
 * starts stages as their needs settle, up to the run's concurrency, with Workers
 * started ahead for the stages that come next.
 * @module
 */
import {
  type EngineContext,
  failuresIn,
  runFailure,
  SETTLED_OK,
  watchedBy,
} from "./engine_context.ts";
import type { StageState } from "./recorder.ts";

/** What to do with a pending stage now. */
export type Decision =
  | { readonly run: true }
  | { readonly run: false; readonly wait: true }
  | {
    readonly run: false;
    readonly wait: false;
    readonly reason: string;
    readonly satisfied: boolean;
  };

const WAIT: Decision = { run: false, wait: true };
const RUN: Decision = { run: true };
const skip = (reason: string, satisfied = false): Decision => ({
  run: false,
  wait: false,
  reason,
  satisfied,
});

/** An ordinary stage: its needs, the interrupt, fail-fast, its `when`. */
function decideNormal(ctx: EngineContext, s: StageState): Decision {
  const needs = s.spec.needs.map((id) => ctx.states.get(id)!);
  const blocker = needs.find((n) => n.settled && !SETTLED_OK.has(n.record.status) && !n.satisfied);
  if (blocker) {
    const status = blocker.record.status;
    return skip(
      `needs "${blocker.spec.id}", which ${status === "skipped" ? "was skipped" : status}`,
    );
  }
  if (ctx.o.signal.aborted) return skip("not started: the run was interrupted");
  const failure = runFailure(ctx);
  if (failure !== undefined) return skip(`not started: ${failure}`);
  const first = ctx.recorder.firstFailure;
  if (ctx.stop.signal.aborted && first) return skip(`not started: stage "${first}" failed`);
  if (needs.some((n) => !n.settled)) return WAIT;
  if (s.spec.when && !s.spec.when.condition) return skip(s.spec.when.reason, true);
  return RUN;
}

/**
 * Whether a pending stage runs now, waits, or is skipped. A handler (`onFailure`,
 * `finally`) waits for every stage it watches; `onFailure` runs only after a failure.
 *
 * @param ctx The run.
 * @param s The pending stage.
 * @returns What to do with it.
 */
export function decide(ctx: EngineContext, s: StageState): Decision {
  const spec = s.spec;
  if (spec.kind === "normal") return decideNormal(ctx, s);
  const watched = watchedBy(ctx, s);
  if ([...watched, ...spec.needs].some((id) => !ctx.states.get(id)!.settled)) return WAIT;
  if (spec.kind === "onFailure" && failuresIn(ctx, watched).length === 0 && !ctx.o.signal.aborted) {
    return skip("no failure in the stages it watches", true);
  }
  if (spec.when && !spec.when.condition) return skip(spec.when.reason, true);
  return RUN;
}

/** Whether a pending stage is worth a Worker started ahead of time. */
function wantsPrestart(ctx: EngineContext, s: StageState, running: ReadonlyMap<string, unknown>) {
  const spec = s.spec;
  if (spec.kind !== "normal" || spec.approval) return false;
  if (spec.run === undefined && spec.checks.length === 0) return false;
  if (spec.when && !spec.when.condition) return false;
  // Every need settled well or running: the stage can start next.
  return spec.needs.every((n) => {
    const dep = ctx.states.get(n)!;
    return running.has(n) || (dep.settled && (SETTLED_OK.has(dep.record.status) || dep.satisfied));
  });
}

/**
 * Runs every stage to its end: starts each when {@linkcode decide} says so (up to the
 * run's concurrency), skips the rest with their reason.
 *
 * @param ctx The run.
 * @param execute Runs one stage to its end (its record settled).
 */
export async function runSchedule(
  ctx: EngineContext,
  execute: (s: StageState) => Promise<void>,
): Promise<void> {
  const { o, pool, recorder } = ctx;
  const pending = new Set(ctx.states.keys());
  const running = new Map<string, Promise<void>>();
  const prestarted = new Set<string>();
  const prepareNext = () => {
    let budget = (o.prestart ?? o.concurrency) - pool.waiting;
    for (const id of pending) {
      if (budget <= 0) return;
      if (prestarted.has(id) || !wantsPrestart(ctx, ctx.states.get(id)!, running)) continue;
      prestarted.add(id);
      void pool.prepare(id, o.grants.get(id)!);
      budget--;
    }
  };
  while (pending.size > 0 || running.size > 0) {
    let progressed = false;
    for (const id of [...pending]) {
      if (running.size >= o.concurrency) break;
      const s = ctx.states.get(id)!;
      const d = decide(ctx, s);
      if (!d.run && d.wait) continue;
      pending.delete(id);
      progressed = true;
      if (!d.run) {
        s.satisfied = d.satisfied;
        pool.forget(id);
        await recorder.settle(s, "skipped", d.reason);
        continue;
      }
      const p = execute(s).catch(async (err) => {
        if (!s.settled) {
          await recorder.settle(s, "failed", `runner error: ${(err as Error).message}`);
        }
      }).finally(() => running.delete(id));
      running.set(id, p);
    }
    if (running.size > 0 && (!progressed || running.size >= o.concurrency)) {
      if (!ctx.stop.signal.aborted) prepareNext();
      await Promise.race(running.values());
    } else if (running.size === 0 && !progressed) {
      for (const id of pending) {
        await recorder.settle(
          ctx.states.get(id)!,
          "skipped",
          "not started: its prerequisites never settled",
        );
      }
      pending.clear();
    }
  }
}
