/**
 * A real-time watchdog over one rehearsal's phases (sandbox start, connect, the run, the
 * inspector's final reads, closing): a phase that takes longer than its limit of real time
 * is stuck — on a virtual clock most often because something holds the clock forever, or
 * because work waits on a timer that a hold keeps from firing. The watchdog names the phase,
 * what holds the clock ({@linkcode VirtualClock.held}), the timers still pending and the
 * clock's time, and abandons the rehearsal (its signal aborts with a {@linkcode StuckError})
 * so a simulation reports the seed instead of sitting idle.
 * @module
 */
import { type Clock, realClock, type VirtualClock } from "../clock/mod.ts";

/**
 * Where a rehearsal was stuck: thrown (as the abandon signal's reason) by the rehearsal.
 *
 * @example
 * ```ts
 * import { StuckError } from "./watchdog.ts";
 * const e = new StuckError({ phase: "closing", where: "", limitMs: 1000, clockAtMs: 0, held: ["x"], pending: 0 });
 * console.assert(e.message.includes("closing") && e.message.includes("x"));
 * ```
 */
export class StuckError extends Error {
  /** The phase's name, what held the clock, the timers pending. */
  readonly stuck: StuckPhase;

  /**
   * The error for a run stuck in a phase.
   *
   * @param stuck Where the rehearsal was stuck, and what held it.
   */
  constructor(stuck: StuckPhase) {
    super(describeStuck(stuck));
    this.name = "StuckError";
    this.stuck = stuck;
  }
}

/**
 * A phase that went over its limit, and the clock's state then.
 *
 * @example
 * ```ts
 * import type { StuckPhase } from "./watchdog.ts";
 * const s: StuckPhase = { phase: "run", where: "", limitMs: 1, clockAtMs: 0, held: null, pending: null };
 * ```
 */
export interface StuckPhase {
  /** The rehearsal's phase (`rehearse`'s `onPhase` names). */
  readonly phase: string;
  /** Finer detail of the phase (e.g. the inspector's step), "" when none. */
  readonly where: string;
  /** The phase's limit of real time (ms). */
  readonly limitMs: number;
  /** The clock's time when the limit passed (epoch ms). */
  readonly clockAtMs: number;
  /** What held the clock (null: not a virtual clock). */
  readonly held: readonly string[] | null;
  /** Persistent or not, timers not fired or cancelled (null: not a virtual clock). */
  readonly pending: number | null;
}

/**
 * The message of a stuck phase.
 *
 * @param s The stuck phase.
 * @returns E.g. `stuck for 120 s (real) in "closing the sandbox": clock at ..., held by [...]`.
 *
 * @example
 * ```ts
 * import { describeStuck } from "./watchdog.ts";
 * const m = describeStuck({ phase: "run", where: "", limitMs: 2000, clockAtMs: 0, held: [], pending: 3 });
 * console.assert(m.includes("nothing holds the clock") && m.includes("3 timers"));
 * ```
 */
export function describeStuck(s: StuckPhase): string {
  const held = s.held === null
    ? ""
    : s.held.length === 0
    ? ", nothing holds the clock"
    : `, the clock held by ${s.held.map((h) => JSON.stringify(h)).join(", ")}`;
  const pending = s.pending === null ? "" : `, ${s.pending} timers pending`;
  return `the rehearsal was stuck for ${
    (s.limitMs / 1000).toFixed(0)
  } s of real time in "${s.phase}"${s.where ? ` (${s.where})` : ""}: clock at ${
    new Date(s.clockAtMs).toISOString()
  }${held}${pending}; rerun the seed with --replay to see it alone`;
}

function isVirtual(clock: Clock): clock is VirtualClock {
  return clock.kind === "virtual" && typeof (clock as VirtualClock).held === "function";
}

/**
 * A watchdog of one rehearsal.
 *
 * @example
 * ```ts
 * import type { Watchdog } from "./watchdog.ts";
 * const f = (w: Watchdog) => w.phase("run");
 * ```
 */
export interface Watchdog {
  /** Aborts (with a {@linkcode StuckError}) when a phase goes over its limit. */
  readonly signal: AbortSignal;
  /** A new phase begins: its limit starts now. */
  phase(name: string): void;
  /** The phase in progress and how long it has taken (real ms). */
  current(): { readonly phase: string; readonly realMs: number };
  /** Stops watching (the rehearsal ended). */
  stop(): void;
}

/**
 * Watches one rehearsal on `clock`: every phase gets `limitMs` of real time.
 *
 * @param clock The rehearsal's clock (its holds and timers are named when stuck).
 * @param limitMs Real ms a phase may take.
 * @param where Finer detail of the phase when stuck (e.g. the inspector's step).
 * @returns The watchdog (call `stop()` when the rehearsal ends).
 *
 * @example
 * ```ts
 * import { virtualClock } from "../clock/mod.ts";
 * import { watchRehearsal } from "./watchdog.ts";
 * const clock = virtualClock({ startMs: 0 });
 * const release = clock.hold("a write that never ends");
 * const dog = watchRehearsal(clock, 10);
 * dog.phase("closing the sandbox");
 * await new Promise((r) => dog.signal.addEventListener("abort", r));
 * console.assert(String(dog.signal.reason).includes("a write that never ends"));
 * release();
 * ```
 */
export function watchRehearsal(clock: Clock, limitMs: number, where?: () => string): Watchdog {
  const controller = new AbortController();
  let name = "starting";
  let startedAt = realClock.now();
  let cancel = () => {};
  const arm = () => {
    cancel();
    cancel = realClock.schedule(limitMs, () => {
      controller.abort(
        new StuckError({
          phase: name,
          where: where?.() ?? "",
          limitMs,
          clockAtMs: clock.now(),
          held: isVirtual(clock) ? clock.held() : null,
          pending: isVirtual(clock) ? clock.pending() : null,
        }),
      );
    });
  };
  return {
    signal: controller.signal,
    phase(next) {
      if (controller.signal.aborted) return;
      name = next;
      startedAt = realClock.now();
      arm();
    },
    current: () => ({ phase: name, realMs: realClock.since(startedAt) }),
    stop: () => cancel(),
  };
}
