/**
 * Small asynchronous helpers shared by the engine, the analysis loop and the
 * Kubernetes layer: {@linkcode delay}, a wait an abort signal cuts short (std's shape).
 *
 * ```ts
 * import { delay } from "./mod.ts";
 * await delay(1, { signal: AbortSignal.timeout(1_000) });
 * ```
 * @module
 */
export * from "./delay.ts";
