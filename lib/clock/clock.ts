/**
 * The one clock the runner and the sandbox share: the {@linkcode Clock} interface and its
 * real and scaled kinds. Durations given to a clock are always *target time* (the time a
 * production cluster would see: a 15-minute canary is `900_000`); the clock decides how
 * much real time that is. Only this folder reads wall time or sets timers.
 * @module
 */

/**
 * Which clock: `real` (target time is real time), `scaled` (N target ms per real ms), or
 * `virtual` (jumps to the next due timer whenever all work is waiting).
 *
 * @example
 * ```ts
 * import type { ClockKind } from "./clock.ts";
 * const kind: ClockKind = "virtual";
 * ```
 */
export type ClockKind = "real" | "scaled" | "virtual";

/**
 * Ends a {@linkcode Clock.hold}: the work it marked is no longer in flight. Calling it
 * more than once is harmless.
 *
 * @example
 * ```ts
 * import { realClock, type Release } from "./clock.ts";
 * const release: Release = realClock.hold("a request");
 * release();
 * ```
 */
export type Release = () => void;

/**
 * Options of {@linkcode Clock.sleep}.
 *
 * @example
 * ```ts
 * import type { SleepOptions } from "./clock.ts";
 * const o: SleepOptions = { signal: new AbortController().signal };
 * ```
 */
export interface SleepOptions {
  /** Cuts the wait short: the promise rejects with `signal.reason` (at once when aborted). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Options of {@linkcode Clock.schedule}.
 *
 * @example
 * ```ts
 * import { realClock, type ScheduleOptions } from "./clock.ts";
 * const o: ScheduleOptions = { persistent: false };
 * realClock.schedule(10, () => {}, o)();
 * ```
 */
export interface ScheduleOptions {
  /** Whether the timer keeps the process (and a virtual clock) going. Default true. */
  readonly persistent?: boolean;
}

/**
 * Time, timers and in-flight work. Everything that waits or stamps takes one of these.
 *
 * @example
 * ```ts
 * import { scaledClock } from "./clock.ts";
 * const clock = scaledClock(1000);
 * const t = clock.now();
 * await clock.sleep(500); // half a real millisecond
 * console.assert(clock.since(t) >= 500);
 * ```
 */
export interface Clock {
  /** Which kind of clock this is. */
  readonly kind: ClockKind;
  /** Target milliseconds per real millisecond (1, N, or `Infinity` when virtual). */
  readonly scale: number;
  /** Epoch milliseconds to stamp records with (real time unless virtual). */
  now(): number;
  /** Target milliseconds elapsed since a stamp taken with {@linkcode Clock.now}. */
  since(stamp: number): number;
  /** Resolves after `ms` of target time; rejects with the signal's reason on abort. */
  sleep(ms: number, options?: SleepOptions): Promise<void>;
  /**
   * Calls `fn` after `ms` of target time; the returned function cancels it. A timer with
   * `persistent: false` neither keeps the process alive nor, on a virtual clock, makes time
   * move on its own (like an unref'd timer: it fires only if other timers carry time past it).
   */
  schedule(ms: number, fn: () => void, options?: ScheduleOptions): () => void;
  /** A signal that aborts (with a `TimeoutError`) after `ms` of target time. */
  timeout(ms: number): AbortSignal;
  /** Marks real work in flight (I/O, a Worker running): a virtual clock does not jump. */
  hold(what: string): Release;
  /** Holds the clock while `work` is pending, and returns its result. */
  track<T>(what: string, work: Promise<T>): Promise<T>;
}

/** The longest single `setTimeout` (a 32-bit signed int); longer waits are chained. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * The reason a {@linkcode Clock.timeout} signal aborts with, as `AbortSignal.timeout`'s.
 *
 * @param ms The limit that passed (target ms).
 * @returns A `TimeoutError` DOMException.
 *
 * @example
 * ```ts
 * import { timeoutError } from "./clock.ts";
 * console.assert(timeoutError(5).name === "TimeoutError");
 * ```
 */
export function timeoutError(ms: number): DOMException {
  return new DOMException(`timed out after ${ms} ms`, "TimeoutError");
}

/** A clock whose target time runs `scale` times faster than real time. */
class WallClock implements Clock {
  readonly kind: "real" | "scaled";
  readonly scale: number;
  #offset: number;

  constructor(scale: number, offsetMs: number) {
    if (!(scale > 0) || !Number.isFinite(scale)) {
      throw new RangeError(`Cannot use time scale ${scale}: must be a positive number`);
    }
    this.scale = scale;
    this.kind = scale === 1 ? "real" : "scaled";
    this.#offset = offsetMs;
  }

  now(): number {
    return Date.now() + this.#offset;
  }

  since(stamp: number): number {
    return (this.now() - stamp) * this.scale;
  }

  schedule(ms: number, fn: () => void, options: ScheduleOptions = {}): () => void {
    const persistent = options.persistent ?? true;
    const end = Date.now() + Math.max(0, ms) / this.scale;
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      const left = end - Date.now();
      timer = left > MAX_TIMEOUT ? setTimeout(arm, MAX_TIMEOUT) : setTimeout(fn, Math.max(0, left));
      if (!persistent) Deno.unrefTimer(timer);
    };
    arm();
    return () => clearTimeout(timer);
  }

  sleep(ms: number, options: SleepOptions = {}): Promise<void> {
    return sleepOn(this, ms, options);
  }

  timeout(ms: number): AbortSignal {
    const controller = new AbortController();
    // An unreferenced timer, like AbortSignal.timeout's: it never keeps the process alive.
    this.schedule(ms, () => controller.abort(timeoutError(ms)), { persistent: false });
    return controller.signal;
  }

  hold(_what: string): Release {
    return () => {};
  }

  track<T>(_what: string, work: Promise<T>): Promise<T> {
    return work;
  }
}

/**
 * `sleep` on any clock's `schedule`: resolves after `ms`, rejects with the signal's reason.
 *
 * @param clock The clock to wait on.
 * @param ms Target milliseconds.
 * @param options The abort signal.
 * @returns A promise that resolves after the wait.
 *
 * @example
 * ```ts
 * import { realClock, sleepOn } from "./clock.ts";
 * await sleepOn(realClock, 1);
 * ```
 */
export function sleepOn(clock: Clock, ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.schedule(ms, () => {
      signal?.removeEventListener("abort", abort);
      resolve();
    });
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/**
 * A clock running `scale` target milliseconds per real millisecond; timestamps stay
 * real (plus `offsetMs`, so a sandbox's saved times never lie in the future).
 *
 * @param scale Target ms per real ms (> 0).
 * @param offsetMs Added to every timestamp (default 0).
 * @returns The clock.
 * @throws {RangeError} When `scale` is not a positive finite number.
 *
 * @example
 * ```ts
 * import { scaledClock } from "./clock.ts";
 * const clock = scaledClock(60);
 * console.assert(clock.kind === "scaled" && clock.scale === 60);
 * ```
 */
export function scaledClock(scale: number, offsetMs = 0): Clock {
  return new WallClock(scale, offsetMs);
}

/**
 * Real time: what production runs on.
 *
 * @example
 * ```ts
 * import { realClock } from "./clock.ts";
 * console.assert(realClock.kind === "real" && Math.abs(realClock.now() - Date.now()) < 1000);
 * ```
 */
export const realClock: Clock = new WallClock(1, 0);
