/**
 * The run's clock as a stage's code sees it (`ctx.clock`, `ctx.now()`, `ctx.sleep()`):
 * its time follows what the main thread stamps on every message (on a virtual clock it
 * stands still while the stage works, as the main thread's does), and every wait is a
 * request to the main thread, which waits on the run's clock. `hold`/`track` count as
 * the stage's own real work.
 * @module
 */
import { type Clock, type ClockKind, realClock, type SleepOptions } from "../clock/clock.ts";
import { timeoutError } from "../clock/clock.ts";
import type { Activity } from "./worker_activity.ts";
import type { ClockInfo } from "./protocol.ts";

/** How the Worker asks the main thread to wait. */
export type SleepRequest = (
  ms: number,
  options: { readonly unref: boolean; readonly signal?: AbortSignal | undefined },
) => Promise<void>;

/**
 * The stage's view of the run's clock.
 *
 * @example
 * ```ts ignore
 * const clock = new StageClock({ kind: "virtual", scale: Infinity }, sleepRequest, activity);
 * clock.delivered(message.now); // for every message from the main thread
 * await clock.sleep(3_600_000);
 * ```
 */
export class StageClock implements Clock {
  readonly kind: ClockKind;
  readonly scale: number;
  #virtualNow = 0;
  #offset = 0;
  #sleep: SleepRequest;
  #activity: Activity;

  /**
   * @param info The run clock's kind and scale.
   * @param sleep Asks the main thread to wait.
   * @param activity Counts the stage's own real work (`hold`, `track`).
   */
  constructor(info: ClockInfo, sleep: SleepRequest, activity: Activity) {
    this.kind = info.kind;
    this.scale = info.scale;
    this.#sleep = sleep;
    this.#activity = activity;
  }

  /** The main thread posted a message at run-clock time `now`. */
  delivered(now: number): void {
    if (this.kind === "virtual") this.#virtualNow = now;
    else this.#offset = now - realClock.now();
  }

  now(): number {
    return this.kind === "virtual" ? this.#virtualNow : realClock.now() + this.#offset;
  }

  since(stamp: number): number {
    const elapsed = this.now() - stamp;
    return this.kind === "virtual" ? elapsed : elapsed * this.scale;
  }

  sleep(ms: number, options: SleepOptions = {}): Promise<void> {
    return this.#sleep(ms, { unref: false, signal: options.signal });
  }

  schedule(ms: number, fn: () => void): () => void {
    const cancel = new AbortController();
    this.#sleep(ms, { unref: false, signal: cancel.signal }).then(fn, () => {});
    return () => cancel.abort();
  }

  timeout(ms: number): AbortSignal {
    const controller = new AbortController();
    this.#sleep(ms, { unref: true }).then(() => controller.abort(timeoutError(ms)), () => {});
    return controller.signal;
  }

  hold(_what: string): () => void {
    return this.#activity.started();
  }

  track<T>(_what: string, work: Promise<T>): Promise<T> {
    return this.#activity.track(work);
  }
}
