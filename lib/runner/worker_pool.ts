/**
 * Stage Workers. Each attempt of a stage runs in a Worker of its own, whose permissions
 * are exactly the stage's grant, and that Worker is terminated when the attempt ends:
 * nothing a stage leaves behind (a timer, a listener, a global) can outlive it, and no
 * stage can act with another stage's grant. To keep that cheap, Workers are started
 * ahead of time (`prepare`), while earlier stages run, for the stages about to start;
 * a pre-started Worker has evaluated the runner's own Worker code and nothing of the
 * pipeline's: the pipeline module is imported when the stage is handed over.
 *
 * The main thread attributes every message of a Worker to the one stage it was handed
 * to, whatever the message says about itself: a call is served only while that stage's
 * attempt runs, and only for resources that stage declared. What a Worker says about a
 * failure (its error's name, message and typed fields) is redacted with the run's
 * redactor and bounded as it arrives, and so is any failed call answered to it. How one
 * attempt keeps the run's clock is `./worker_attempt.ts`.
 * @module
 */
import { isWorkerMessage, type RunRequest, type WorkerMessage } from "./protocol.ts";
import { grantKey, type StageGrant, workerPermissions } from "./permissions.ts";
import type { Redactor } from "../journal/redact.ts";
import { type Clock, realClock } from "../clock/clock.ts";
import { runAttempt, type StageHooks, StageRunError } from "./worker_attempt.ts";

export { type StageHooks, StageRunError };

/** A message as the runner quotes it (what cannot be serialized, by its type). */
function shown(data: unknown): string {
  try {
    return JSON.stringify(data) ?? String(data);
  } catch {
    return `a value that cannot be serialized (${typeof data})`;
  }
}

const GUARD_URL = new URL("./worker_guard.ts", import.meta.url).href;
const GUARD_NODE_URL = new URL("./worker_guard_node.ts", import.meta.url).href;
const RUNTIME_URL = new URL("./worker_runtime.ts", import.meta.url).href;

interface Slot {
  readonly worker: Worker;
  readonly key: string;
  /** Messages that came before the Worker was handed to a stage. */
  readonly early: WorkerMessage[];
  /** Resolves when the Worker has evaluated its modules (or failed to). */
  readonly ready: Promise<void>;
  handler?: (m: WorkerMessage) => void;
}

/**
 * A pool of stage Workers for one pipeline module.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool(new URL("./pipelines/deploy.ts", import.meta.url).href, {
 *   redactor, // the run's: what a Worker says about a failure is redacted with it
 * });
 * pool.prepare("deploy", grant); // while earlier stages run
 * const output = await pool.run(grant, request, hooks, { timeoutMs: 60_000 });
 * pool.close();
 * ```
 */
export class WorkerPool {
  #entry: string;
  #redact: (s: string) => string;
  #clock: Clock;
  #prepared = new Map<string, Slot>();
  #live = new Set<Slot>();
  #started = 0;

  /**
   * Makes a pool for one pipeline module.
   *
   * @param pipelineUrl The pipeline module's URL (its default export is the definition).
   * @param options The run's redactor: every failure a Worker reports, and every failed
   * call answered to it, is redacted with it; the run's clock (default real time):
   * stages' time limits and sleeps wait on it, and it is held while a Worker works; and
   * `nodeGuard`: whether each Worker loads Node's modules as it starts, to reroute their
   * output (default true; false only for a pipeline whose module graph imports none of
   * Node's modules that print and no npm package, see `./node_routes.ts`: its Workers
   * reroute Node's output when the global `process` is first read).
   */
  constructor(
    pipelineUrl: string,
    options: {
      readonly redactor: Redactor;
      readonly clock?: Clock | undefined;
      readonly nodeGuard?: boolean | undefined;
    },
  ) {
    const redactor = options.redactor;
    this.#clock = options.clock ?? realClock;
    this.#redact = (s) => redactor.redact(s);
    // The guard for Node loads Node's modules, then the guard (which it imports).
    const guard = options.nodeGuard === false
      ? `import { guardNodeOnFirstUse } from ${
        JSON.stringify(GUARD_URL)
      };\nguardNodeOnFirstUse();\n`
      : `import ${JSON.stringify(GUARD_NODE_URL)};\n`;
    const source = guard +
      `import { serveStages } from ${JSON.stringify(RUNTIME_URL)};\n` +
      `serveStages(() => import(${JSON.stringify(pipelineUrl)}));\n`;
    this.#entry = `data:application/javascript;base64,${btoa(source)}`;
  }

  /** How many Workers are alive (running or pre-started). */
  get size(): number {
    return this.#live.size;
  }

  /** How many Workers were started in all. */
  get started(): number {
    return this.#started;
  }

  /** How many pre-started Workers wait for their stage. */
  get waiting(): number {
    return this.#prepared.size;
  }

  #start(grant: StageGrant, name: string): Slot {
    const worker = new Worker(this.#entry, {
      type: "module",
      name,
      deno: { permissions: workerPermissions(grant) },
    });
    this.#started++;
    const ready = Promise.withResolvers<void>();
    const slot: Slot = { worker, key: grantKey(grant), early: [], ready: ready.promise };
    worker.onmessage = (e: MessageEvent<unknown>) => {
      // A stage's code can post anything: a message of the wrong shape ends its attempt.
      const m: WorkerMessage = isWorkerMessage(e.data) ? e.data : {
        type: "fatal",
        kind: "uncaught error",
        name: "ProtocolError",
        // Redacted before it is cut: a cut secret would no longer be recognised.
        message: `the stage's Worker sent a malformed message (${
          this.#redact(shown(e.data)).slice(0, 200)
        })`,
        stack: "",
      };
      if (m.type === "ready" || m.type === "fatal") ready.resolve();
      if (slot.handler) slot.handler(m);
      else if (m.type !== "ready") slot.early.push(m);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      const m: WorkerMessage = {
        type: "fatal",
        kind: "uncaught error",
        name: "Error",
        message: e.message,
        stack: "",
      };
      ready.resolve();
      if (slot.handler) slot.handler(m);
      else slot.early.push(m);
    };
    this.#live.add(slot);
    return slot;
  }

  /**
   * Starts a Worker for a stage ahead of time. It waits, having evaluated none of the
   * pipeline's code, until {@linkcode WorkerPool.run} hands it that stage.
   *
   * @param stageId The stage it is for.
   * @param grant The stage's grant: the Worker's permissions.
   * @returns Resolves when the Worker is ready (nobody needs to wait for it).
   */
  prepare(stageId: string, grant: StageGrant): Promise<void> {
    const known = this.#prepared.get(stageId);
    if (known) return known.ready;
    const slot = this.#start(grant, `stage:${stageId}`);
    this.#prepared.set(stageId, slot);
    return slot.ready;
  }

  /**
   * Stops the Worker started ahead for a stage that will not run after all.
   *
   * @param stageId The stage.
   */
  forget(stageId: string): void {
    const slot = this.#prepared.get(stageId);
    if (!slot) return;
    this.#prepared.delete(stageId);
    this.#discard(slot);
  }

  #take(stageId: string, grant: StageGrant): Slot {
    const slot = this.#prepared.get(stageId);
    this.#prepared.delete(stageId);
    if (slot && slot.key === grantKey(grant)) return slot;
    if (slot) this.#discard(slot);
    return this.#start(grant, `stage:${stageId}`);
  }

  #discard(slot: Slot): void {
    slot.worker.terminate();
    this.#live.delete(slot);
  }

  /**
   * Runs one attempt of a stage in a Worker with exactly `grant`; the Worker is
   * terminated when the attempt ends, however it ends.
   *
   * @param grant The stage's grant.
   * @param request What to run.
   * @param hooks Where logs, prints, checks and calls go.
   * @param options The attempt's time limit and the run's interrupt.
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
    const slot = this.#take(request.stageId, grant);
    return runAttempt(
      {
        slot,
        clock: this.#clock,
        redact: this.#redact,
        discard: () => this.#discard(slot),
        timeoutMs: options.timeoutMs,
        signal: options.signal,
      },
      request,
      hooks,
    );
  }

  /** Terminates every Worker. */
  close(): void {
    for (const s of this.#live) s.worker.terminate();
    this.#live.clear();
    this.#prepared.clear();
  }
}
