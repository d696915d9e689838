/**
 * Options and types shared by every check factory in `checks/`.
 * @module
 */
export type { Check, CheckOutcome, StageContext } from "../lib/dsl/types.ts";
export type { Environment, EnvironmentConfig } from "../lib/config/types.ts";

/** A secret a check needs: a value, an environment variable, or a function that returns one. */
export type SecretInput =
  | string
  | { readonly from_env: string }
  | { readonly secret_key_ref: { readonly name: string; readonly key: string } }
  | (() => string | undefined | Promise<string | undefined>);

/** Options every check factory takes. */
export interface CommonCheckOptions {
  /** The check's name (each factory has a sensible default). */
  readonly name?: string;
  /** Whether a failure fails the stage (default `true`); `false` only warns. */
  readonly required?: boolean;
}

/** Options every HTTP check takes. */
export interface HttpCheckOptions extends CommonCheckOptions {
  /** Deadline per request in milliseconds (default 10 000, the seed's `--max-time 10`). */
  readonly timeoutMs?: number;
  /** Extra request headers (e.g. a Host header). */
  readonly headers?: Record<string, string>;
  /** The fetch to use, e.g. one that goes through the API server's pod proxy (default: global). */
  readonly fetch?: typeof fetch;
}
