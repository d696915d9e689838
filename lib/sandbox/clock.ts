/**
 * The sandbox's time helpers on top of the shared {@linkcode Clock} (`lib/clock/`):
 * Kubernetes timestamps (`kubeTime`), "now" as one (`kubeNow`), and target milliseconds
 * elapsed since one (`sinceKube`). Every timer and timestamp of the sandbox goes through
 * the clock it was started with; nothing here reads wall time.
 * @module
 */
import type { Clock } from "../clock/mod.ts";

/**
 * Kubernetes `metav1.Time`: RFC 3339 with seconds precision.
 *
 * @param date The moment (callers pass `new Date(clock.now())`).
 * @returns E.g. `2026-01-01T00:00:00Z`.
 *
 * @example
 * ```ts
 * import { kubeTime } from "./clock.ts";
 * console.assert(kubeTime(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 750))) === "2026-01-01T00:00:00Z");
 * ```
 */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * The clock's now as a Kubernetes timestamp.
 *
 * @param clock The sandbox's clock.
 * @returns `kubeTime(new Date(clock.now()))`.
 *
 * @example
 * ```ts
 * import { kubeNow } from "./clock.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * console.assert(kubeNow(virtualClock({ startMs: 0 })) === "1970-01-01T00:00:00Z");
 * ```
 */
export function kubeNow(clock: Clock): string {
  return kubeTime(new Date(clock.now()));
}

/**
 * Target milliseconds elapsed since a timestamp taken from the same clock (epoch ms or a
 * Kubernetes/ISO timestamp). An unparseable timestamp counts as "just now" (0).
 *
 * @param clock The sandbox's clock.
 * @param stamp Epoch ms from `clock.now()`, or an ISO timestamp written from it.
 * @returns Target ms (never negative).
 *
 * @example
 * ```ts
 * import { sinceKube } from "./clock.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const clock = virtualClock({ startMs: 60_000 });
 * console.assert(sinceKube(clock, "1970-01-01T00:00:00Z") === 60_000);
 * ```
 */
export function sinceKube(clock: Clock, stamp: number | string): number {
  const at = typeof stamp === "string" ? Date.parse(stamp) : stamp;
  if (!Number.isFinite(at)) return 0;
  return Math.max(0, clock.since(at));
}

/**
 * What `measurements.ts` still needs of the old sandbox clock, until it takes a
 * {@linkcode Clock} only (it accepts both today).
 *
 * @deprecated Take a `Clock` from `lib/clock/` instead.
 *
 * @example
 * ```ts
 * import type { SandboxClock } from "./clock.ts";
 * const legacy: SandboxClock = { timeScale: 60, toRealMs: (ms) => ms / 60 };
 * console.assert(legacy.toRealMs(60_000) === 1000);
 * ```
 */
export interface SandboxClock {
  /** Target ms per real ms. */
  readonly timeScale: number;
  /** Real ms for a target duration. */
  toRealMs(sandboxMs: number): number;
}

/**
 * A monotonic "now" in target milliseconds since this call (for backoffs and other
 * durations that must mean the same on a real, scaled or virtual clock).
 *
 * @param clock The sandbox's clock.
 * @returns A function giving target ms elapsed since `targetNow` was called.
 *
 * @example
 * ```ts
 * import { targetNow } from "./clock.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const clock = virtualClock({ startMs: 5_000 });
 * const now = targetNow(clock);
 * await clock.sleep(250);
 * console.assert(now() === 250);
 * ```
 */
export function targetNow(clock: Clock): () => number {
  const origin = clock.now();
  return () => clock.since(origin);
}
