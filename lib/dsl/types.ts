/**
 * The shapes shared by the DSL and the runner: permissions, checks, contexts.
 * @module
 */
import type { Clock } from "../clock/clock.ts";

/** Explicit permissions a stage asks for, beyond what its resources grant. */
export interface PermissionRequest {
  /** Paths the stage may read. */
  readonly read?: readonly string[];
  /** Paths the stage may write. */
  readonly write?: readonly string[];
  /** Hosts (`host` or `host:port`) the stage may connect to. */
  readonly net?: readonly string[];
  /** Environment variables the stage may read. */
  readonly env?: readonly string[];
  /** Programs the stage may run, by name or path. Granting `run` is full trust. */
  readonly run?: readonly string[];
  /** Native libraries the stage may load. Granting `ffi` is full trust. */
  readonly ffi?: readonly string[];
  /**
   * Why this stage must have a grant the runner otherwise refuses (`read: ["/"]`, the
   * home folder, the runs folder, a kubeconfig): the stage is then flagged full trust.
   */
  readonly fullTrust?: string;
}

/** A retry policy for a stage's attempts. */
export interface RetryPolicy {
  /** How many attempts in all (1 = no retry). */
  readonly attempts: number;
  /** How the delay grows between attempts. Defaults to `"exponential"`. */
  readonly backoff?: "fixed" | "exponential";
  /** The first delay, e.g. `"2s"`. Defaults to 1 s. */
  readonly delay?: string | number;
  /** The longest delay. Defaults to 1 min. */
  readonly maxDelay?: string | number;
}

/** A typed confirmation a person must give before the stage runs. */
export interface ApprovalSpec {
  /** The exact phrase to type, e.g. `"DEPLOY TO PRODUCTION"`. */
  readonly phrase: string;
  /** What is being approved, shown with the prompt. */
  readonly message?: string;
}

/** A check's result: passed or not, with the evidence that says why. */
export interface CheckOutcome {
  /** Whether the check passed. */
  readonly ok: boolean;
  /** One line for people. */
  readonly message: string;
  /** What was measured or seen, for the report. No secret values. */
  readonly evidence?: Readonly<Record<string, unknown>>;
  /** The check did not apply here (it is recorded, and counts as neither pass nor fail). */
  readonly skipped?: boolean;
}

/** A reusable check. Required checks fail their stage; the others only warn. */
export interface Check {
  /** The check's name, unique within a stage. */
  readonly name: string;
  /** Whether a failure fails the stage (the default) or only warns. */
  readonly required?: boolean;
  /** Runs the check. It must not throw for an ordinary failure: return `ok: false`. */
  run(ctx: StageContext): Promise<CheckOutcome> | CheckOutcome;
}

/** A failure a handler stage is told about. */
export interface StageFailure {
  /** The stage that failed. */
  readonly stage: string;
  /** Its error message. */
  readonly message: string;
}

/** The semantic version being deployed. */
export interface Version {
  /** `1.2.4` (image tags use this form). */
  readonly version: string;
  /** `v1.2.4` (git tags use this form). */
  readonly tag: string;
  /** Major, minor and patch numbers. */
  readonly major: number;
  /** Minor number. */
  readonly minor: number;
  /** Patch number. */
  readonly patch: number;
  /** Pre-release identifiers, e.g. `rc.1`, or undefined. */
  readonly prerelease?: string;
}

/** A capability reached through the runner: each method call is a message to the main thread. */
export type Capability = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** What a stage's code is handed when it runs (inside its own Worker). */
export interface StageContext {
  /** The stage's id. */
  readonly stageId: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The run's id: its folder's name under the runs folder (e.g. `.tracktion/runs/`). */
  readonly runId: string;
  /** Who started the run. */
  readonly user: string;
  /** The environment's name. */
  readonly environment: string;
  /** The version being deployed, when the pipeline takes one. */
  readonly version: Version | undefined;
  /** True on `--dry-run`: describe what would be done, change nothing. */
  readonly dryRun: boolean;
  /** Which attempt this is, from 1. */
  readonly attempt: number;
  /** Aborted when the stage times out or the run is interrupted. */
  readonly signal: AbortSignal;
  /** For `onFailure`/`finally` stages: the stages that failed. */
  readonly failures: readonly StageFailure[];
  /** Writes a line to the stage's log. */
  log(message: string): void;
  /** Writes a warning to the stage's log. */
  warn(message: string): void;
  /** Writes a line to the stage's log and shows it on screen (progress worth seeing live). */
  notice(message: string): void;
  /**
   * Runs a check decided at run time (e.g. on an address only known now); it is
   * recorded like a declared check, and a failed required one fails the stage when its
   * work ends.
   */
  check(check: Check): Promise<CheckOutcome>;
  /** The output of a stage this one `needs`. */
  output<T>(stage: { readonly id: string; readonly __output?: T }): T;
  /** A declared resource's capability (e.g. `"kubernetes"`), proxied to the main thread. */
  use<T extends object = Capability>(resource: string): T;
  /**
   * Waits on the run's clock: `ms` milliseconds, or a duration such as `"30s"` or `"1h"`.
   * On a virtual clock (a rehearsal) an hour passes at once once everything else waits
   * too. Rejects with the signal's reason when `options.signal` aborts, and when the stage
   * is stopped (timeout, interrupt).
   */
  sleep(duration: number | string, options?: { readonly signal?: AbortSignal }): Promise<void>;
  /** The run's clock's time (epoch ms): what the run's journal and report are stamped with. */
  now(): number;
  /**
   * The run's clock, for code that takes a `Clock` (its `sleep`, `timeout` and `schedule`
   * wait on the runner's clock; `hold`/`track` mark real work of the stage's own).
   */
  readonly clock: Clock;
}
