/**
 * `Deadlines`: what the controllers and the kubelet tell the control loop during a pass —
 * the earliest moment (in target milliseconds from now) at which something changes by
 * itself (a pod becomes Ready, a crash back-off ends, a progress deadline passes, a Job's
 * pod finishes, a reconcile back-off ends). The loop sleeps until then or until the store
 * changes, so an idle cluster sets no timer at all.
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { EventRecorder } from "./events.ts";

/**
 * The earliest deadline reported since the last {@linkcode Deadlines.reset}.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * const d = new Deadlines();
 * d.in(5_000);
 * d.in(1_000);
 * d.in(Number.NaN); // ignored
 * console.assert(d.next === 1_000);
 * d.reset();
 * console.assert(d.next === undefined);
 * ```
 */
export class Deadlines {
  #next = Infinity;

  /**
   * Something changes by itself `ms` target milliseconds from now (negative: at once;
   * not a number or infinite: ignored).
   *
   * @param ms Target ms from now.
   */
  in(ms: number): void {
    if (Number.isNaN(ms) || ms === Infinity) return;
    const at = Math.max(0, Math.ceil(ms));
    if (at < this.#next) this.#next = at;
  }

  /** The earliest deadline (target ms from when it was reported), or undefined. */
  get next(): number | undefined {
    return this.#next === Infinity ? undefined : this.#next;
  }

  /** Forget every deadline (at the start of a pass). */
  reset(): void {
    this.#next = Infinity;
  }
}

/**
 * What a controller is built with: the cluster's clock, the event recorder, where a
 * failure's first line goes (default stderr), and where to report its next deadline.
 *
 * @example
 * ```ts
 * import { type ControllerDeps, Deadlines } from "./deadlines.ts";
 * import { Api } from "./api.ts";
 * import { Store } from "./store.ts";
 * import { EventRecorder } from "./events.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const clock = virtualClock({ startMs: 0 });
 * const api = new Api(new Store(), { clock });
 * const deps: ControllerDeps = { clock, events: new EventRecorder(api), deadlines: new Deadlines() };
 * console.assert(deps.clock.kind === "virtual");
 * ```
 */
export interface ControllerDeps {
  /** The cluster's clock. */
  readonly clock: Clock;
  /** Records Events. */
  readonly events: EventRecorder;
  /** Where a failure's first line goes (default stderr). */
  readonly log?: (line: string) => void;
  /** Where the controller reports when it next has work without a store change. */
  readonly deadlines?: Deadlines;
}
