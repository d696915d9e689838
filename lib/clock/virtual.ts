/**
 * The virtual clock: a discrete-event scheduler. Time stands still while any work is in
 * flight (a {@linkcode Clock.hold}); when all is quiet it jumps to the earliest due timer
 * and fires it — one timer at a time, each cascade left to settle before the next — so a
 * 15-minute canary takes as long as its work does, and the same inputs give the same
 * order of events.
 * @module
 */
import { setImmediate } from "node:timers";
import {
  type Clock,
  type Release,
  type ScheduleOptions,
  sleepOn,
  type SleepOptions,
  timeoutError,
} from "./clock.ts";

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
  readonly persistent: boolean;
  cancelled: boolean;
  fired: boolean;
}

/**
 * Options of {@linkcode virtualClock}.
 *
 * @example
 * ```ts
 * import type { VirtualClockOptions } from "./virtual.ts";
 * const o: VirtualClockOptions = { startMs: Date.UTC(2026, 0, 1) };
 * ```
 */
export interface VirtualClockOptions {
  /** Where time starts (epoch ms). Default: the real time now. */
  readonly startMs?: number;
  /**
   * Real event-loop turns of silence (no hold, release or new timer) before the clock
   * jumps: lets promise chains and immediate callbacks settle. Default 3.
   */
  readonly quietTurns?: number;
}

function before(a: Timer, b: Timer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** A binary min-heap of timers by (due, seq). */
class TimerHeap {
  readonly items: Timer[] = [];

  push(t: Timer): void {
    const h = this.items;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peek(): Timer | undefined {
    while (this.items[0]?.cancelled) this.pop();
    return this.items[0];
  }

  pop(): Timer | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The virtual {@linkcode Clock}, with what a test or a simulator needs to see inside it.
 *
 * @example
 * ```ts
 * import { virtualClock } from "./virtual.ts";
 * const clock = virtualClock({ startMs: 0 });
 * await clock.sleep(3_600_000); // an hour, at once
 * console.assert(clock.now() === 3_600_000);
 * ```
 */
export interface VirtualClock extends Clock {
  /** Always `virtual`. */
  readonly kind: "virtual";
  /** What holds the clock now (the `what` of each open hold). */
  held(): string[];
  /** Timers not yet fired or cancelled. */
  pending(): number;
  /** Timers fired so far. */
  readonly fired: number;
  /** Cancels every timer (the clock is done with). */
  dispose(): void;
}

class Virtual implements VirtualClock {
  readonly kind = "virtual" as const;
  readonly scale = Infinity;
  fired = 0;
  #now: number;
  #seq = 0;
  #heap = new TimerHeap();
  #holds = new Map<number, string>();
  #holdSeq = 0;
  #activity = 0;
  #seen = -1;
  #turns = 0;
  #quietTurns: number;
  #kicked = false;
  #disposed = false;
  /** Persistent timers neither fired nor cancelled: time moves on its own only for them. */
  #live = 0;

  constructor(o: VirtualClockOptions) {
    this.#now = o.startMs ?? Date.now();
    this.#quietTurns = Math.max(1, o.quietTurns ?? 3);
  }

  now(): number {
    return this.#now;
  }

  since(stamp: number): number {
    return this.#now - stamp;
  }

  schedule(ms: number, fn: () => void, options: ScheduleOptions = {}): () => void {
    const persistent = options.persistent ?? true;
    const t: Timer = {
      due: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0),
      seq: this.#seq++,
      fn,
      persistent,
      cancelled: false,
      fired: false,
    };
    if (this.#disposed) return () => {};
    this.#heap.push(t);
    if (persistent) this.#live++;
    this.#activity++;
    this.#kick();
    return () => {
      if (t.cancelled || t.fired) return;
      t.cancelled = true;
      if (t.persistent) this.#live--;
    };
  }

  sleep(ms: number, options: SleepOptions = {}): Promise<void> {
    return sleepOn(this, ms, options);
  }

  timeout(ms: number): AbortSignal {
    const controller = new AbortController();
    this.schedule(ms, () => controller.abort(timeoutError(ms)), { persistent: false });
    return controller.signal;
  }

  hold(what: string): Release {
    const id = this.#holdSeq++;
    this.#holds.set(id, what);
    this.#activity++;
    return () => {
      if (!this.#holds.delete(id)) return;
      this.#activity++;
      this.#kick();
    };
  }

  async track<T>(what: string, work: Promise<T>): Promise<T> {
    const release = this.hold(what);
    try {
      return await work;
    } finally {
      release();
    }
  }

  held(): string[] {
    return [...this.#holds.values()];
  }

  pending(): number {
    return this.#heap.items.filter((t) => !t.cancelled).length;
  }

  dispose(): void {
    this.#disposed = true;
    for (const t of this.#heap.items) t.cancelled = true;
    this.#heap.items.length = 0;
    this.#live = 0;
  }

  #kick(): void {
    if (this.#kicked || this.#disposed) return;
    this.#kicked = true;
    setImmediate(() => {
      this.#kicked = false;
      this.#step();
    });
  }

  /** One real turn: wait for silence, then fire the earliest timer. */
  #step(): void {
    if (this.#holds.size > 0 || this.#disposed) return; // a release kicks again
    const next = this.#heap.peek();
    if (!next) return; // a new timer kicks again
    if (this.#live === 0) return; // only unref'd timers left: time stands still
    if (this.#activity !== this.#seen) {
      this.#seen = this.#activity;
      this.#turns = 0;
      this.#kick();
      return;
    }
    if (++this.#turns < this.#quietTurns) {
      this.#kick();
      return;
    }
    this.#heap.pop();
    next.fired = true;
    if (next.persistent) this.#live--;
    this.#turns = 0;
    this.#now = Math.max(this.#now, next.due);
    this.fired++;
    this.#activity++;
    try {
      next.fn();
    } finally {
      this.#kick();
    }
  }
}

/**
 * A virtual clock starting at `startMs`.
 *
 * @param options Where time starts, and how many quiet turns make "all is waiting".
 * @returns The clock.
 *
 * @example
 * ```ts
 * import { virtualClock } from "./virtual.ts";
 * const clock = virtualClock({ startMs: 0 });
 * const order: number[] = [];
 * clock.schedule(20, () => order.push(2));
 * clock.schedule(10, () => order.push(1));
 * await clock.sleep(30);
 * console.assert(order.join() === "1,2");
 * ```
 */
export function virtualClock(options: VirtualClockOptions = {}): VirtualClock {
  return new Virtual(options);
}
