/**
 * The shape every capability shares: its name, the permissions it grants a stage's
 * Worker from the environment, and — for a capability the runner's main thread holds —
 * how that thread opens it. A stage reaches a held capability only through
 * `ctx.use(name)` (a message-passing proxy), so its grant is empty and `proxied`; a
 * direct resource (a host the stage connects to itself) grants exactly that host.
 * @module
 */
import type { Environment } from "../config/types.ts";
import type { SecretRef } from "../config/secret_ref.ts";
import type { Clock } from "../clock/clock.ts";

/** What a resource grants a stage's Worker (all else is denied). */
export interface Grant {
  /** `host:port` pairs the Worker may connect to. */
  readonly net: readonly string[];
  /** Environment variables it may read (its `from_env` secrets). */
  readonly env: readonly string[];
  /** Paths it may read. */
  readonly read: readonly string[];
  /** `true` when the main thread holds the client and the stage reaches it by proxy. */
  readonly proxied: boolean;
}

/** Where a run goes, as the capabilities need to know it. */
export type CapabilityTarget =
  | { readonly kind: "kubernetes" }
  | {
    readonly kind: "sandbox";
    /** The sandbox's kubeconfig. */
    readonly kubeconfigPath: string;
    /** Its state folder (its embedded database lives in `pglite/`). */
    readonly stateDir: string;
    /**
     * Sends the Kubernetes client's requests to a sandbox in this process, without a socket
     * (`simulate`: hundreds of runs, where loopback HTTP is only cost). Undefined: HTTP.
     */
    readonly transport?: ((request: Request) => Promise<Response>) | undefined;
  };

/** What the main thread gives a capability it opens. */
export interface OpenContext {
  /** Where the run goes. */
  readonly target: CapabilityTarget;
  /** Describe, change nothing. */
  readonly dryRun: boolean;
  /** Reads the process's environment variables. */
  readonly readEnv: (name: string) => string | undefined;
  /**
   * Resolves a secret reference (an environment variable, or a key of a Kubernetes
   * Secret in the environment's namespace, read through the `kubernetes` capability) and
   * registers its value for redaction. Undefined when it is not set here.
   */
  readonly secret: (ref: SecretRef) => Promise<string | undefined>;
  /** Registers a secret value the capability came by itself (it is redacted everywhere). */
  readonly onSecret: (value: string) => void;
  /** Where warnings go (never given secrets). */
  readonly log: (line: string) => void;
  /**
   * The run's clock (default real time): a capability waits on it and holds it around its
   * own real I/O, so a virtual clock neither jumps past a request nor waits on a poll.
   */
  readonly clock?: Clock | undefined;
  /**
   * Fails the run from outside its stages: its ordinary stages stop, its failure path runs,
   * and it ends failed with this error's message. For a capability that lost what made the
   * run safe (the `kubernetes` capability, its deploy lock).
   */
  readonly failRun?: ((error: Error) => void) | undefined;
}

/** A secret a capability resolves through {@linkcode OpenContext.secret}, and what it is. */
export interface CapabilitySecret {
  /** What it is, as a sentence says it: `the database password`. */
  readonly what: string;
  /** Its reference (a `secret_key_ref` is read through the `kubernetes` capability). */
  readonly ref: SecretRef;
}

/** How long a capability's `verify` may wait, and what stops it. */
export interface VerifyOptions {
  /** The most it waits for an answer (ms). */
  readonly timeoutMs: number;
  /** Stops it (it then rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
}

/** An opened capability: what stages may call, and how the main thread closes it. */
export interface Opened<T extends object = object> {
  /** The methods stages reach with `ctx.use(name)`; nothing else is callable. */
  readonly api: T;
  /** Releases its connections (called once, when the run ends). */
  close?(): Promise<void>;
}

/**
 * One entry of the capability registry.
 *
 * @typeParam T What stages get from `ctx.use(name)` (held capabilities only).
 */
export interface Capability<T extends object = object> {
  /** The name a stage declares with `uses(name)`. */
  readonly name: string;
  /** One line on what it is, for help texts and documentation. */
  readonly summary: string;
  /** Exactly the Worker permissions a stage that uses it needs, from the environment. */
  grant(env: Environment): Grant;
  /**
   * Fails, with a message that says how to fix it, when the capability cannot be opened
   * here. Synchronous and local (no network): the composition root runs it before
   * anything is written.
   */
  check?(env: Environment, ctx: OpenContext): void;
  /**
   * The secrets opening it here resolves through `ctx.secret` (none when it does not
   * open, or needs none here): a `secret_key_ref` among them makes the run use
   * `kubernetes` too, so that one is checked and verified up front as well.
   */
  secrets?(env: Environment, ctx: OpenContext): readonly CapabilitySecret[];
  /**
   * Fails, with a message that says how to fix it, when what the capability talks to
   * does not answer (e.g. the Kubernetes API server): one request, within
   * `options.timeoutMs`. The composition root runs it before the run starts, after
   * `check`; a capability with nothing to reach has none.
   */
  verify?(env: Environment, ctx: OpenContext, options: VerifyOptions): Promise<void>;
  /** Opens it on the main thread (held capabilities; a direct resource has none). */
  open?(env: Environment, ctx: OpenContext): Promise<Opened<T>>;
}

/**
 * A capability that cannot be opened here (no kubeconfig, no credentials...): what is
 * wrong, and how to fix it. Neither names a secret value.
 *
 * @example
 * ```ts
 * import { CapabilityUnavailableError } from "./types.ts";
 * import assert from "node:assert/strict";
 * const error = new CapabilityUnavailableError("kubernetes", "no kubeconfig at /x", "use --sandbox");
 * assert.equal(error.name, "CapabilityUnavailableError");
 * assert.equal(error.message, "no kubeconfig at /x. To fix: use --sandbox");
 * ```
 */
export class CapabilityUnavailableError extends Error {
  /** The capability's name. */
  readonly capability: string;
  /** What is wrong, e.g. `no kubeconfig at /x (KUBECONFIG)`. */
  readonly problem: string;
  /** How to fix it. */
  readonly fix: string;
  /**
   * Builds the error.
   *
   * @param capability The capability's name.
   * @param problem What is wrong (no secret values).
   * @param fix How to fix it ("" when it was said already: the message is the problem).
   * @param options The underlying error.
   */
  constructor(capability: string, problem: string, fix: string, options?: ErrorOptions) {
    super(fix ? `${problem}. To fix: ${fix}` : problem, options);
    this.name = "CapabilityUnavailableError";
    this.capability = capability;
    this.problem = problem;
    this.fix = fix;
  }
}

/**
 * The grant of a capability the main thread holds: no permission of its own.
 *
 * @returns `{ net: [], env: [], read: [], proxied: true }`.
 *
 * @example
 * ```ts
 * import { proxiedGrant } from "./types.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(proxiedGrant(), { net: [], env: [], read: [], proxied: true });
 * ```
 */
export function proxiedGrant(): Grant {
  return { net: [], env: [], read: [], proxied: true };
}
