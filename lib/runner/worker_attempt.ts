/**
 * One attempt of a stage in its Worker, as the main thread runs it: the messages it
 * handles (logs, prints, checks, calls, sleeps, the end), its time limit, and how it keeps
 * the run's clock. The clock is held from each message posted to the Worker until the
 * Worker is quiet (it waits for the main thread and for nothing of its own) or ends; on a
 * virtual clock every message goes out through the clock (`schedule(0)`), so deliveries
 * happen one at a time, in a deterministic order, when everything else is quiet. A sleep
 * the stage asks for waits on the clock with no hold, and every timer of the attempt is
 * cancelled when it ends.
 * @module
 */
import type { Clock, Release } from "../clock/clock.ts";
import type {
  CallError,
  CheckReport,
  ErrorFields,
  HostMessageBody,
  RunRequest,
  WorkerMessage,
} from "./protocol.ts";
import {
  boundedFields,
  boundedMessage,
  boundedName,
  callErrorOf,
  CallFailedError,
} from "./call_errors.ts";

/** Why a stage's attempt failed. */
export class StageRunError extends Error {
  /** The kind of failure. */
  readonly kind: "error" | "denied" | "timeout" | "interrupted" | "crash" | "check";
  /** The name of the error the stage failed with, when it failed with one. */
  readonly errorName: string | undefined;
  /** The failed call's fields, when the stage let a capability error through. */
  readonly typed: ErrorFields | undefined;

  /**
   * Builds the error.
   *
   * @param message What happened.
   * @param kind The kind of failure.
   * @param options The stage's error's name and typed fields, as its Worker sent them.
   */
  constructor(
    message: string,
    kind: StageRunError["kind"],
    options: { errorName?: string; typed?: ErrorFields | undefined } = {},
  ) {
    super(message);
    this.name = "StageRunError";
    this.kind = kind;
    this.errorName = options.errorName;
    this.typed = options.typed;
  }
}

/** What the pool reports back while a stage runs. */
export interface StageHooks {
  /** A line for the stage's log. */
  log(level: "info" | "warn" | "notice", message: string): void;
  /** What the stage's code printed (console, standard streams). */
  print?(stream: "stdout" | "stderr", text: string): void;
  /** A check finished. */
  check(report: CheckReport): void;
  /**
   * A call on a proxied resource; its result goes back to the stage. It rejects with a
   * {@linkcode CallFailedError} to say what the stage is told (any other rejection
   * reaches the stage as `callErrorOf` describes it, redacted with the pool's redactor).
   */
  call(resource: string, method: string, args: readonly unknown[]): Promise<unknown>;
}

/** How a message handler ends or answers the attempt in progress. */
interface AttemptControl {
  /** Waits on the clock for the stage, then answers `sleepDone`. */
  sleep(id: number, ms: number, unref: boolean): void;
  /** The stage no longer wants that sleep. */
  sleepCancel(id: number): void;
  /** The Worker settled after message `delivery`. */
  quiet(delivery: number): void;
  readonly id: string;
  /** The run's redactor: every string of a failure passes through it. */
  readonly redact: (s: string) => string;
  /** Ends the attempt with the stage's output. */
  done(output: unknown): void;
  /** Ends the attempt with a failure. */
  fail(error: StageRunError): void;
  /** Answers a call (nothing once the attempt has ended). */
  answer(
    callId: number,
    result: { ok: true; value: unknown } | { ok: false; error: CallError },
  ): void;
}

/**
 * Serves a stage's call; a failure goes back with the original error's name and fields,
 * redacted and bounded (a hook that did not say what the stage is told, too).
 */
function serveCall(
  msg: Extract<WorkerMessage, { type: "call" }>,
  hooks: StageHooks,
  a: AttemptControl,
): void {
  hooks.call(msg.resource, msg.method, msg.args).then(
    (value) => a.answer(msg.id, { ok: true, value }),
    (err) =>
      a.answer(msg.id, {
        ok: false,
        error: err instanceof CallFailedError
          ? err.error
          : callErrorOf(err, { capability: msg.resource, operation: msg.method }, a.redact),
      }),
  );
}

/** Handles one (validated) message of the stage's Worker. */
function dispatch(msg: WorkerMessage, hooks: StageHooks, a: AttemptControl): void {
  switch (msg.type) {
    case "ready":
      return;
    case "log":
      return hooks.log(msg.level, msg.message);
    case "print":
      return hooks.print?.(msg.stream, msg.text);
    case "check":
      return hooks.check(msg.report);
    case "fatal":
      return a.fail(
        new StageRunError(
          `stage "${a.id}" crashed: ${msg.kind}: ${boundedName(a.redact(msg.name))}: ${
            boundedMessage(msg.message, a.redact)
          }`,
          "crash",
        ),
      );
    case "call":
      return serveCall(msg, hooks, a);
    case "sleep":
      return a.sleep(msg.id, msg.ms, msg.unref);
    case "sleepCancel":
      return a.sleepCancel(msg.id);
    case "quiet":
      return a.quiet(msg.delivery);
    case "done":
      return a.done(msg.output);
    case "error": {
      const kind = msg.denied ? "denied" : msg.name === "CheckFailed" ? "check" : "error";
      return a.fail(
        new StageRunError(boundedMessage(msg.message, a.redact), kind, {
          errorName: boundedName(a.redact(msg.name)),
          typed: msg.typed && boundedFields(msg.typed, a.redact),
        }),
      );
    }
  }
}

/**
 * What an attempt needs of the pool.
 *
 * @example
 * ```ts ignore
 * const a: AttemptContext = { slot, clock: virtualClock(), redact: (s) => s, discard: () => {} };
 * ```
 */
export interface AttemptContext {
  /** The Worker, its early messages, and where its messages go from now. */
  readonly slot: {
    readonly worker: Worker;
    readonly early: WorkerMessage[];
    handler?: (m: WorkerMessage) => void;
  };
  /** The run's clock. */
  readonly clock: Clock;
  /** The run's redactor. */
  readonly redact: (s: string) => string;
  /** Terminates the Worker. */
  readonly discard: () => void;
  /** The attempt's time limit (target ms on the clock). */
  readonly timeoutMs?: number | undefined;
  /** The run's interrupt. */
  readonly signal?: AbortSignal | undefined;
}

/** The attempt's timers, holds and deliveries. */
class AttemptClock {
  #clock: Clock;
  #worker: Worker;
  #what: string;
  #release: Release | undefined;
  #delivery = 0;
  #timers = new Set<() => void>();
  #sleeps = new Map<number, () => void>();
  ended = false;

  constructor(clock: Clock, worker: Worker, stageId: string) {
    this.#clock = clock;
    this.#worker = worker;
    this.#what = `stage ${stageId}`;
  }

  /** Posts a message now, stamped with the clock, holding the clock until the Worker is quiet. */
  post(body: HostMessageBody): void {
    if (this.ended) return;
    this.#release?.();
    this.#release = this.#clock.hold(this.#what);
    this.#delivery++;
    this.#worker.postMessage({ ...body, now: this.#clock.now(), delivery: this.#delivery });
  }

  /** Posts a message; on a virtual clock through the clock, when everything else is quiet. */
  deliver(body: HostMessageBody): void {
    if (this.#clock.kind !== "virtual") return this.post(body);
    this.timer(0, () => this.post(body));
  }

  /** Calls `fn` after `ms` on the clock, unless the attempt ends first. */
  timer(ms: number, fn: () => void): () => void {
    const cancel = this.#clock.schedule(ms, () => {
      this.#timers.delete(cancel);
      fn();
    });
    this.#timers.add(cancel);
    return cancel;
  }

  sleep(id: number, ms: number, unref: boolean): void {
    const wake = () => {
      this.#sleeps.delete(id);
      this.post({ type: "sleepDone", id });
    };
    let stop: () => void;
    if (unref) {
      // A stage's timeout: its timer alone does not move a virtual clock.
      const signal = this.#clock.timeout(ms);
      signal.addEventListener("abort", wake, { once: true });
      stop = () => signal.removeEventListener("abort", wake);
      this.#timers.add(stop);
    } else {
      stop = this.timer(ms, wake);
    }
    this.#sleeps.set(id, stop);
  }

  sleepCancel(id: number): void {
    const stop = this.#sleeps.get(id);
    this.#sleeps.delete(id);
    if (!stop) return;
    stop();
    this.#timers.delete(stop);
  }

  /** The Worker is quiet after message `delivery`: the clock is let go (a later message re-holds). */
  quiet(delivery: number): void {
    if (delivery !== this.#delivery) return;
    this.#release?.();
    this.#release = undefined;
  }

  /** The attempt ended: every timer cancelled, the clock let go. */
  end(): void {
    this.ended = true;
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#sleeps.clear();
    this.#release?.();
    this.#release = undefined;
  }
}

/**
 * Runs one attempt of a stage in its Worker.
 *
 * @param a The Worker, the clock, the redactor, the time limit and the interrupt.
 * @param request What to run.
 * @param hooks Where logs, prints, checks and calls go.
 * @returns The stage's output.
 * @throws {StageRunError} When the stage failed, was denied a permission, timed out,
 * was interrupted, or its Worker crashed.
 *
 * @example
 * ```ts ignore
 * const output = await runAttempt({ slot, clock, redact, discard }, request, hooks);
 * ```
 */
export function runAttempt(
  a: AttemptContext,
  request: RunRequest,
  hooks: StageHooks,
): Promise<unknown> {
  const { slot, clock } = a;
  const id = request.stageId;
  const timing = new AttemptClock(clock, slot.worker, id);
  return new Promise((resolve, reject) => {
    const finish = (fn: () => void) => {
      if (timing.ended) return;
      timing.end();
      a.signal?.removeEventListener("abort", onAbort);
      slot.handler = () => {};
      a.discard();
      fn();
    };
    const stop = (message: string, kind: StageRunError["kind"]) =>
      finish(() => reject(new StageRunError(message, kind)));
    const onAbort = () => stop(`stage "${id}" was interrupted`, "interrupted");
    const control: AttemptControl = {
      id,
      redact: a.redact,
      done: (output) => finish(() => resolve(output)),
      fail: (error) => finish(() => reject(error)),
      answer: (callId, result) => timing.deliver({ type: "callResult", id: callId, ...result }),
      sleep: (sleepId, ms, unref) => timing.sleep(sleepId, ms, unref),
      sleepCancel: (sleepId) => timing.sleepCancel(sleepId),
      quiet: (delivery) => timing.quiet(delivery),
    };
    const handle = (msg: WorkerMessage) => {
      if (timing.ended) return;
      try {
        dispatch(msg, hooks, control);
      } catch (err) {
        stop(
          `stage "${id}" sent a message the runner could not handle: ${(err as Error).message}`,
          "crash",
        );
      }
    };
    if (a.signal?.aborted) return onAbort();
    a.signal?.addEventListener("abort", onAbort, { once: true });
    if (a.timeoutMs !== undefined) {
      const limit = a.timeoutMs;
      timing.timer(
        stageLimitOn(limit, clock),
        () => stop(`stage "${id}" timed out after ${limit} ms`, "timeout"),
      );
    }
    slot.handler = handle;
    for (const m of slot.early.splice(0)) handle(m);
    timing.deliver({ ...request, clock: { kind: clock.kind, scale: clock.scale } });
  });
}

/**
 * The least real time a stage's time limit gives on a scaled clock (ms). A rehearsal at
 * ×240 makes a 15-minute limit 3.75 real seconds, while the stage's own real work (requests,
 * a Worker, JSON) does not get faster with the clock: a deploy stage's takes about a second
 * of an idle machine of ours, so 60 s leaves it tens of times more on a busy one.
 * Real and virtual clocks are not affected: on them the limit is the limit.
 */
export const MIN_REAL_STAGE_LIMIT_MS = 60_000;

/**
 * When a stage's time limit fires on a clock: the limit, and on a scaled clock at least
 * {@linkcode MIN_REAL_STAGE_LIMIT_MS} of real time. The message still names the limit.
 *
 * @param limitMs The stage's limit (target ms).
 * @param clock The run's clock.
 * @returns The limit to wait (target ms).
 *
 * @example
 * ```ts
 * import { stageLimitOn } from "./worker_attempt.ts";
 * import { realClock, scaledClock } from "../clock/mod.ts";
 * console.assert(stageLimitOn(900_000, realClock) === 900_000);
 * console.assert(stageLimitOn(900_000, scaledClock(240)) === 14_400_000);
 * ```
 */
export function stageLimitOn(limitMs: number, clock: Clock): number {
  if (clock.kind !== "scaled") return limitMs;
  return Math.max(limitMs, MIN_REAL_STAGE_LIMIT_MS * clock.scale);
}
