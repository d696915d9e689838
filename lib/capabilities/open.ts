/**
 * Opening the held capabilities for a run, on the main thread: each one opens on its
 * first call (a run whose stages never use a resource never connects to it) and only
 * once — a capability that cannot be opened fails every later call at once with the same
 * reason, and says how to fix it once, in the run's log. `check` runs the capabilities'
 * own synchronous checks up front, before anything is written.
 * @module
 */
import type { Clock } from "../clock/clock.ts";
import type { Environment } from "../config/types.ts";
import type { SecretRef } from "../config/secret_ref.ts";
import {
  type Capability,
  type CapabilityTarget,
  CapabilityUnavailableError,
  type OpenContext,
  type Opened,
  type VerifyOptions,
} from "./types.ts";

/** The methods of an opened capability, as the engine calls them (by name). */
export type CapabilityMethods = Record<string, (...args: never[]) => unknown>;

/** What {@linkcode openCapabilities} needs. */
export interface OpenCapabilitiesOptions {
  /** The environment. */
  readonly env: Environment;
  /** The capabilities (the registry's `CAPABILITIES`). */
  readonly capabilities: readonly Capability[];
  /** Where the run goes. */
  readonly target: CapabilityTarget;
  /** Describe, change nothing. */
  readonly dryRun: boolean;
  /** Reads environment variables (default `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /** Registers a secret value for redaction. */
  readonly onSecret: (value: string) => void;
  /** Where warnings go, and the one explanation of a capability that cannot open. */
  readonly log: (line: string) => void;
  /** The run's clock, handed to every capability's `open` (default real time). */
  readonly clock?: Clock | undefined;
  /** Fails the run (see {@linkcode OpenContext.failRun}); default: nothing can. */
  readonly failRun?: ((error: Error) => void) | undefined;
}

/** The run's capabilities. */
export interface OpenedCapabilities {
  /** For the engine, by name: methods that open the capability on their first call. */
  readonly providers: Readonly<Record<string, CapabilityMethods>>;
  /**
   * Runs the `check` of each named capability that has one, now; and of `kubernetes`
   * when a named one's secret is a Kubernetes Secret (`secret_key_ref`), saying so.
   *
   * @throws {CapabilityUnavailableError} The first that cannot be opened here.
   */
  check(names: Iterable<string>): void;
  /**
   * Runs the `verify` of each named capability that has one (e.g. kubernetes asks its
   * API server for `/version`), one request each, at the same time, within
   * `options.timeoutMs`; `kubernetes` too when a named one's secret is a Kubernetes Secret.
   *
   * @throws {CapabilityUnavailableError} The first (in registry order) that does not answer.
   */
  verify(names: Iterable<string>, options: VerifyOptions): Promise<void>;
  /** Closes what was opened. */
  close(): Promise<void>;
}

function lazyProvider(name: string, opening: () => Promise<Opened>): CapabilityMethods {
  return new Proxy({} as CapabilityMethods, {
    get(_target, method) {
      if (typeof method !== "string" || method === "then") return undefined;
      return async (...args: unknown[]) => {
        const { api } = await opening();
        const fn = (api as Record<string, unknown>)[method];
        if (typeof fn !== "function" || method in Object.prototype) {
          throw new Error(`resource "${name}" has no operation "${method}"`);
        }
        return await (fn as (...a: unknown[]) => unknown).apply(api, args);
      };
    },
  });
}

/**
 * Prepares the held capabilities of a run (nothing is opened yet).
 *
 * @param o The environment, the registry, the target, dry run, secrets and log hooks.
 * @returns The providers for the engine, an up-front `check`, and `close`.
 *
 * @example
 * ```ts ignore
 * import { CAPABILITIES, openCapabilities } from "./mod.ts";
 * const opened = openCapabilities({
 *   env, capabilities: CAPABILITIES, target: { kind: "kubernetes" }, dryRun: true,
 *   onSecret: (v) => redactor.add(v), log: console.log,
 * });
 * opened.check(["kubernetes"]); // throws CapabilityUnavailableError without a kubeconfig
 * await opened.providers.kubernetes.version();
 * await opened.close();
 * ```
 */
export function openCapabilities(o: OpenCapabilitiesOptions): OpenedCapabilities {
  const readEnv = o.readEnv ?? ((name: string) => Deno.env.get(name));
  const providers: Record<string, CapabilityMethods> = {};
  const openings = new Map<string, Promise<Opened>>();

  const secret = async (ref: SecretRef): Promise<string | undefined> => {
    if ("from_env" in ref) {
      const value = readEnv(ref.from_env);
      if (value) o.onSecret(value);
      return value || undefined;
    }
    const k = providers.kubernetes;
    if (!k) throw new Error("a Kubernetes Secret is read through the kubernetes capability");
    const { name, key } = ref.secret_key_ref;
    const read = k.readSecret as unknown as (...a: string[]) => Promise<string | null>;
    return (await read(o.env.environment.namespace, name, key)) ?? undefined;
  };
  const ctx: OpenContext = {
    target: o.target,
    dryRun: o.dryRun,
    readEnv,
    secret,
    onSecret: o.onSecret,
    log: o.log,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.failRun ? { failRun: o.failRun } : {}),
  };

  for (const cap of o.capabilities) {
    const open = cap.open;
    if (!open) continue;
    const opening = () => {
      let p = openings.get(cap.name);
      if (!p) {
        p = Promise.resolve().then(() => open.call(cap, o.env, ctx)).catch((err: unknown) => {
          if (!(err instanceof CapabilityUnavailableError)) throw err;
          // Said once, with the fix; every call gets the reason (memoised with the promise).
          o.log(`error: ${err.message}`);
          throw new CapabilityUnavailableError(cap.name, err.problem, "", { cause: err });
        });
        openings.set(cap.name, p);
      }
      return p;
    };
    providers[cap.name] = lazyProvider(cap.name, opening);
  }

  /** The named capabilities, and the ones they use without being named (with why). */
  const using = (names: Iterable<string>) => {
    const wanted = new Map([...names].map((name) => [name, ""]));
    for (const cap of o.capabilities) {
      if (!wanted.has(cap.name) || wanted.has("kubernetes")) continue;
      const kept = (cap.secrets?.(o.env, ctx) ?? []).find((s) => "secret_key_ref" in s.ref);
      if (kept && "secret_key_ref" in kept.ref) {
        const { name, key } = kept.ref.secret_key_ref;
        wanted.set("kubernetes", `${kept.what} is a Kubernetes Secret (${name}, key ${key})`);
      }
    }
    return wanted;
  };
  /** A failure of a capability used without being named says why it is used. */
  const explained = (why: string | undefined, err: unknown): unknown =>
    why && err instanceof CapabilityUnavailableError
      ? new CapabilityUnavailableError(err.capability, `${why}: ${err.problem}`, err.fix, {
        cause: err,
      })
      : err;

  return {
    providers,
    check(names) {
      const wanted = using(names);
      for (const cap of o.capabilities) {
        const why = wanted.get(cap.name);
        if (why === undefined || !cap.check) continue;
        try {
          cap.check(o.env, ctx);
        } catch (err) {
          throw explained(why, err);
        }
      }
    },
    async verify(names, options) {
      const wanted = using(names);
      const verifying = o.capabilities.filter((cap) => wanted.has(cap.name) && cap.verify)
        .map((cap) =>
          cap.verify!(o.env, ctx, options).catch((err: unknown) => {
            throw explained(wanted.get(cap.name), err);
          })
        );
      const results = await Promise.allSettled(verifying);
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    },
    async close() {
      const opened = await Promise.allSettled(openings.values());
      for (const r of opened) {
        if (r.status === "fulfilled") await r.value.close?.();
      }
    },
  };
}
