/**
 * Messages between the runner's main thread and a stage's Worker.
 * @module
 */
import type { CheckOutcome, StageFailure, Version } from "../dsl/types.ts";
import type { CapabilityErrorDetail } from "../dsl/errors.ts";

/**
 * What a typed error carries besides its name and message: the call that failed and
 * the original error's plain fields. Everything in it is JSON-safe and redacted.
 */
export interface ErrorFields {
  /** The capability that was called, e.g. `kubernetes`. */
  readonly capability: string;
  /** The operation that was called, e.g. `patch`. */
  readonly operation: string;
  /** The HTTP status (e.g. 409), when the error came from an HTTP API. */
  readonly status?: number;
  /** The API's reason, e.g. Kubernetes' `Conflict` or `AlreadyExists`. */
  readonly reason?: string;
  /** The original error's other plain fields, e.g. a held Lease's `holder`. */
  readonly details?: Readonly<Record<string, CapabilityErrorDetail>>;
}

/** A failed capability call as the main thread answers it; the Worker raises a `CapabilityError`. */
export interface CallError extends ErrorFields {
  /** The original error's class name, e.g. `KubernetesApiError`, `ScopeError`. */
  readonly name: string;
  /** Its message, redacted. */
  readonly message: string;
}

/**
 * What every message from the main thread carries: the run clock's time when it was
 * posted (the Worker's `ctx.now()` follows it), and its number, which the Worker's
 * `quiet` names.
 *
 * @example
 * ```ts
 * import type { Delivery } from "./protocol.ts";
 * const d: Delivery = { now: Date.UTC(2026, 0, 1), delivery: 1 };
 * ```
 */
export interface Delivery {
  /** The run clock's time (epoch ms) when the message was posted. */
  readonly now: number;
  /** Counts the messages posted to this Worker, from 1. */
  readonly delivery: number;
}

/**
 * The run's clock as a stage's Worker needs to know it.
 *
 * @example
 * ```ts
 * import type { ClockInfo } from "./protocol.ts";
 * const c: ClockInfo = { kind: "virtual", scale: Infinity };
 * ```
 */
export interface ClockInfo {
  /** `real`, `scaled` or `virtual`. */
  readonly kind: "real" | "scaled" | "virtual";
  /** Target ms per real ms (`Infinity` when virtual). */
  readonly scale: number;
}

/** Main → Worker: run one stage (the clock fields are filled in when it is posted). */
export interface RunRequest {
  readonly type: "run";
  readonly stageId: string;
  readonly pipeline: string;
  readonly runId: string;
  readonly user: string;
  readonly environmentName: string;
  readonly env: unknown;
  readonly version: Version | undefined;
  readonly options: Readonly<Record<string, string>>;
  readonly dryRun: boolean;
  readonly attempt: number;
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly failures: readonly StageFailure[];
  /** The run's clock (default: real). */
  readonly clock?: ClockInfo;
}

/** Main → Worker, before the clock fields are added. */
export type HostMessageBody =
  | RunRequest
  | { readonly type: "callResult"; readonly id: number; readonly ok: true; readonly value: unknown }
  | {
    readonly type: "callResult";
    readonly id: number;
    readonly ok: false;
    /** Why the call failed, with the original error's name and fields. */
    readonly error: CallError;
  }
  /** A `ctx.sleep` (or a `ctx.clock` timer) of that id is over. */
  | { readonly type: "sleepDone"; readonly id: number }
  | { readonly type: "abort"; readonly reason: string };

/** Main → Worker: a message and the clock's time when it was posted. */
export type HostMessage = HostMessageBody & Delivery;

/** A check's result as the Worker reports it. */
export interface CheckReport {
  readonly name: string;
  readonly required: boolean;
  readonly outcome: CheckOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** Worker → main. */
export type WorkerMessage =
  | { readonly type: "log"; readonly level: "info" | "warn" | "notice"; readonly message: string }
  /** Whatever the Worker's code printed (console, Deno.stdout/stderr, node:process). */
  | { readonly type: "print"; readonly stream: "stdout" | "stderr"; readonly text: string }
  /** An uncaught error or unhandled rejection: the Worker is not trusted to go on. */
  | {
    readonly type: "fatal";
    readonly kind: "uncaught error" | "unhandled rejection";
    readonly name: string;
    readonly message: string;
    readonly stack: string;
  }
  /** The Worker evaluated its modules and waits for a stage. */
  | { readonly type: "ready" }
  | { readonly type: "check"; readonly report: CheckReport }
  | {
    readonly type: "call";
    readonly id: number;
    readonly resource: string;
    readonly method: string;
    readonly args: readonly unknown[];
  }
  /**
   * Wait `ms` on the run's clock, then answer `sleepDone` with this id. `unref`: a
   * timeout's timer, which alone does not move a virtual clock.
   */
  | { readonly type: "sleep"; readonly id: number; readonly ms: number; readonly unref: boolean }
  /** The sleep of that id is no longer wanted (its signal aborted). */
  | { readonly type: "sleepCancel"; readonly id: number }
  /**
   * The Worker has settled after message `delivery`: it waits for the main thread (a
   * call or a sleep outstanding) and has no real I/O of its own in flight.
   */
  | { readonly type: "quiet"; readonly delivery: number }
  | { readonly type: "done"; readonly output: unknown }
  /** The stage failed (its own error, a failed check, a denied permission). */
  | {
    readonly type: "error";
    readonly name: string;
    readonly message: string;
    readonly denied: boolean;
    /** Set when the stage let a `CapabilityError` through: the failed call's fields. */
    readonly typed?: ErrorFields;
  };

const str = (v: unknown): v is string => typeof v === "string";
const plain = (v: unknown): boolean =>
  v === null || typeof v === "string" || typeof v === "boolean" ||
  (typeof v === "number" && Number.isFinite(v));

/** The shape of {@linkcode ErrorFields} (sizes are bounded where they are used). */
function validFields(v: unknown): boolean {
  const f = v as Record<string, unknown> | null;
  if (typeof f !== "object" || f === null || Array.isArray(f)) return false;
  const d = f.details as Record<string, unknown> | undefined;
  return str(f.capability) && str(f.operation) &&
    (f.status === undefined || (typeof f.status === "number" && Number.isFinite(f.status))) &&
    (f.reason === undefined || str(f.reason)) &&
    (d === undefined ||
      (typeof d === "object" && d !== null && !Array.isArray(d) &&
        Object.values(d).every(plain)));
}
const LEVELS = new Set(["info", "warn", "notice"]);

function validCheck(r: unknown): boolean {
  const c = r as Partial<CheckReport> | null;
  const o = c?.outcome as Partial<CheckOutcome> | undefined;
  return !!c && str(c.name) && typeof c.required === "boolean" && str(c.startedAt) &&
    typeof c.durationMs === "number" && !!o && typeof o.ok === "boolean" && str(o.message) &&
    (o.evidence === undefined || (typeof o.evidence === "object" && o.evidence !== null)) &&
    (o.skipped === undefined || typeof o.skipped === "boolean");
}

/**
 * Whether a message from a Worker has the shape of a {@linkcode WorkerMessage}. The main
 * thread checks every message: a stage's code can post anything.
 *
 * @param m The message as it arrived.
 * @returns True when it may be handled.
 *
 * @example
 * ```ts
 * import { isWorkerMessage } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isWorkerMessage({ type: "log", level: "info", message: "hi" }), true);
 * assert.equal(isWorkerMessage({ type: "check" }), false);
 * ```
 */
export function isWorkerMessage(m: unknown): m is WorkerMessage {
  const x = m as Record<string, unknown> | null;
  if (typeof x !== "object" || x === null) return false;
  switch (x.type) {
    case "log":
      return LEVELS.has(x.level as string) && str(x.message);
    case "print":
      return (x.stream === "stdout" || x.stream === "stderr") && str(x.text);
    case "fatal":
      return str(x.kind) && str(x.name) && str(x.message) && str(x.stack);
    case "ready":
      return true;
    case "check":
      return validCheck(x.report);
    case "call":
      return Number.isSafeInteger(x.id) && str(x.resource) && str(x.method) &&
        Array.isArray(x.args);
    case "sleep":
      return Number.isSafeInteger(x.id) && typeof x.ms === "number" && x.ms >= 0 &&
        !Number.isNaN(x.ms) && typeof x.unref === "boolean";
    case "sleepCancel":
      return Number.isSafeInteger(x.id);
    case "quiet":
      return Number.isSafeInteger(x.delivery);
    case "done":
      return "output" in x;
    case "error":
      return str(x.name) && str(x.message) && typeof x.denied === "boolean" &&
        (x.typed === undefined || validFields(x.typed));
    default:
      return false;
  }
}
