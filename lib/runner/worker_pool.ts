/**
 * Stage Workers. Each stage runs in a Deno Worker whose permissions are exactly its
 * grant. A Worker that finished a stage cleanly may serve a later stage with the
 * *same* grant (the security boundary is the permission set; reuse saves the start-up
 * cost); a Worker that was aborted, timed out or crashed is terminated, never reused.
 * @module
 */
import type { CheckReport, RunRequest, WorkerMessage } from "./protocol.ts";
import { grantKey, type StageGrant, workerPermissions } from "./permissions.ts";

/** Why a stage's attempt failed. */
export class StageRunError extends Error {
  /** The kind of failure. */
  readonly kind: "error" | "denied" | "timeout" | "interrupted" | "crash" | "check";

  /** @param message What happened. @param kind The kind of failure. */
  constructor(message: string, kind: StageRunError["kind"]) {
    super(message);
    this.name = "StageRunError";
    this.kind = kind;
  }
}

/** What the pool reports back while a stage runs. */
export interface StageHooks {
  /** A line for the stage's log. */
  log(level: "info" | "warn" | "notice", message: string): void;
  /** A check finished. */
  check(report: CheckReport): void;
  /** A call on a proxied resource; its result goes back to the stage. */
  call(resource: string, method: string, args: readonly unknown[]): Promise<unknown>;
}

const RUNTIME_URL = new URL("./worker_runtime.ts", import.meta.url).href;

/**
 * A pool of stage Workers for one pipeline module.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool(new URL("./pipelines/deploy.ts", import.meta.url).href);
 * const output = await pool.run(grant, request, hooks, { timeoutMs: 60_000 });
 * pool.close();
 * ```
 */
export class WorkerPool {
  #entry: string;
  #idle = new Map<string, Worker[]>();
  #live = new Set<Worker>();
  #reuse: boolean;

  /**
   * @param pipelineUrl The pipeline module's URL (its default export is the definition).
   * @param options `reuse: false` gives every stage a fresh Worker.
   */
  constructor(pipelineUrl: string, options: { reuse?: boolean } = {}) {
    const source = `import definition from ${JSON.stringify(pipelineUrl)};\n` +
      `import { serveStages } from ${JSON.stringify(RUNTIME_URL)};\n` +
      `serveStages(definition);\n`;
    this.#entry = `data:application/javascript;base64,${btoa(source)}`;
    this.#reuse = options.reuse ?? true;
  }

  /** How many Workers are alive (running or idle). */
  get size(): number {
    return this.#live.size;
  }

  #acquire(grant: StageGrant, name: string): Worker {
    const idle = this.#idle.get(grantKey(grant));
    const reused = idle?.pop();
    if (reused) return reused;
    const worker = new Worker(this.#entry, {
      type: "module",
      name,
      deno: { permissions: workerPermissions(grant) },
    });
    this.#live.add(worker);
    return worker;
  }

  #release(grant: StageGrant, worker: Worker): void {
    worker.onmessage = null;
    worker.onerror = null;
    if (!this.#reuse) return this.#discard(worker);
    const key = grantKey(grant);
    const idle = this.#idle.get(key) ?? [];
    idle.push(worker);
    this.#idle.set(key, idle);
  }

  #discard(worker: Worker): void {
    worker.terminate();
    this.#live.delete(worker);
  }

  /**
   * Runs one attempt of a stage in a Worker with exactly `grant`.
   *
   * @returns The stage's output.
   * @throws {StageRunError} When the stage failed, was denied a permission, timed out,
   * was interrupted, or its Worker crashed.
   */
  run(
    grant: StageGrant,
    request: RunRequest,
    hooks: StageHooks,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const worker = this.#acquire(grant, `stage:${request.stageId}`);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void, keep: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (keep) this.#release(grant, worker);
        else this.#discard(worker);
        fn();
      };
      const stop = (message: string, kind: StageRunError["kind"]) =>
        finish(() => reject(new StageRunError(message, kind)), false);
      const onAbort = () => stop(`stage "${request.stageId}" was interrupted`, "interrupted");
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(
        () => stop(`stage "${request.stageId}" timed out after ${options.timeoutMs} ms`, "timeout"),
        options.timeoutMs,
      );
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });

      worker.onerror = (e) => {
        e.preventDefault();
        stop(`stage "${request.stageId}" crashed: ${e.message}`, "crash");
      };
      worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
        const msg = e.data;
        switch (msg.type) {
          case "log":
            return hooks.log(msg.level, msg.message);
          case "check":
            return hooks.check(msg.report);
          case "call":
            hooks.call(msg.resource, msg.method, msg.args).then(
              (value) => {
                if (!settled) {
                  worker.postMessage({ type: "callResult", id: msg.id, ok: true, value });
                }
              },
              (err) => {
                if (!settled) {
                  worker.postMessage({
                    type: "callResult",
                    id: msg.id,
                    ok: false,
                    error: err instanceof Error ? err.message : String(err),
                  });
                }
              },
            );
            return;
          case "done":
            return finish(() => resolve(msg.output), true);
          case "error":
            return finish(
              () =>
                reject(
                  new StageRunError(
                    msg.message,
                    msg.denied ? "denied" : msg.name === "CheckFailed" ? "check" : "error",
                  ),
                ),
              true,
            );
        }
      };
      worker.postMessage(request);
    });
  }

  /** Terminates every Worker. */
  close(): void {
    for (const w of this.#live) w.terminate();
    this.#live.clear();
    this.#idle.clear();
  }
}
