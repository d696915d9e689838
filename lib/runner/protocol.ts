/**
 * Messages between the runner's main thread and a stage's Worker.
 * @module
 */
import type { CheckOutcome, StageFailure, Version } from "../dsl/types.ts";

/** Main → Worker: run one stage. */
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
}

/** Main → Worker. */
export type HostMessage =
  | RunRequest
  | { readonly type: "callResult"; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: "callResult"; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly type: "abort"; readonly reason: string };

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
  | { readonly type: "done"; readonly output: unknown }
  | {
    readonly type: "error";
    readonly name: string;
    readonly message: string;
    readonly denied: boolean;
  };
