/**
 * Small asynchronous helpers shared by the engine, the analysis loop and the
 * Kubernetes layer: {@linkcode delay}, a wait an abort signal cuts short (std's shape),
 * and {@linkcode ambientClock}, the clock of the thread (the run's clock inside a stage's
 * Worker).
 *
 * ```ts
 * import { delay } from "./mod.ts";
 * await delay(1, { signal: AbortSignal.timeout(1_000) });
 * ```
 * @module
 */
export * from "./delay.ts";
export * from "./ambient.ts";
