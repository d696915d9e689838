/**
 * The sandbox's clock: real timestamps, scaled durations.
 * @module
 */

/**
 * Sandbox time: timestamps stay real (so `kubectl` ages read right), durations are
 * scaled: one real second is `timeScale` sandbox seconds.
 *
 * @example
 * ```ts
 * import { SandboxClock } from "./clock.ts";
 * const clock = new SandboxClock(60);
 * console.assert(clock.toRealMs(60_000) === 1000);
 * ```
 */
export class SandboxClock {
  /** Sandbox seconds per real second. */
  readonly timeScale: number;

  /** @param timeScale Sandbox seconds per real second (> 0). */
  constructor(timeScale: number) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new RangeError(`Cannot use time scale ${timeScale}: must be a positive number`);
    }
    this.timeScale = timeScale;
  }

  /** Real milliseconds now. */
  nowMs(): number {
    return Date.now();
  }

  /** Sandbox milliseconds elapsed since a real timestamp (ms or ISO string). */
  sinceMs(realStart: number | string): number {
    const start = typeof realStart === "string" ? Date.parse(realStart) : realStart;
    return (Date.now() - start) * this.timeScale;
  }

  /** Real milliseconds for a sandbox duration. */
  toRealMs(sandboxMs: number): number {
    return sandboxMs / this.timeScale;
  }
}

/** Kubernetes `metav1.Time`: RFC 3339 with seconds precision. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * The API semantics on top of the {@linkcode Store}: create, update, patch (four types),
 * delete with cascading, get and list with selectors, as the real server answers them.
 */
