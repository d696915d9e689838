/**
 * Whether the API server of a kubeconfig answers at all, asked once before a run starts
 * ({@linkcode probeKubernetesApi}), and how its reasons are shown: never with a secret
 * ({@linkcode shownReason}).
 * @module
 */
import {
  ApiException,
  Observable,
  type RequestContext,
  type ResponseContext,
  VersionApi,
} from "@kubernetes/client-node";
import { KubeClient } from "./client.ts";
import { type Clock, realClock } from "../clock/clock.ts";

/** Options for {@linkcode probeKubernetesApi}. */
export interface ProbeOptions {
  /** The kubeconfig file. */
  readonly kubeconfigPath: string;
  /** The kubeconfig context (default: its current context). */
  readonly context?: string | undefined;
  /**
   * How long to wait for the answer (ms), counted from when the request starts: getting
   * the credentials first (an exec plugin fetching a token) is not counted.
   */
  readonly timeoutMs: number;
  /** Stops waiting, credentials included (the probe then rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
  /**
   * The run's clock, held while the request is in flight (default real time). The time
   * limit is real time whatever the clock: it bounds real work.
   */
  readonly clock?: Clock | undefined;
}

/** What {@linkcode probeKubernetesApi} found. */
export interface ProbeResult {
  /** The API server's URL as the kubeconfig names it, without any user or password. */
  readonly server: string;
  /** Why it cannot be used (one line, no secret in it), or undefined when it answered. */
  readonly problem?: string;
  /**
   * `true` when the problem is the kubeconfig's credentials (its credential plugin
   * failed, or the server refused them), not reaching the server.
   */
  readonly credentials?: boolean;
}

/** A URL as it may be shown: no user, no password, no query. */
function shownServer(server: string): string {
  try {
    const url = new URL(server);
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return "(a server URL that is not valid)";
  }
}

/** Anything that looks like a URL (a scheme, `://`, then up to a space or a quote). */
const URL_LIKE = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
/** What is left that looks like `user:password@host`. */
const USERINFO_LIKE = /[^\s/@"'<>`]+:[^\s/@"'<>`]*@/g;
const MAX_REASON = 200;

/**
 * A reason as it may be shown: every URL in it without user, password or query (a
 * kubeconfig may carry a token in either), any other `user:password@` dropped, on one
 * line, at most 200 characters.
 *
 * @param reason An error's message.
 * @returns The message, safe to print.
 *
 * @example
 * ```ts
 * import { shownReason } from "./probe.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   shownReason("refused: https://admin:pw@10.0.0.1:6443/?token=t0k/version\nretry"),
 *   "refused: https://10.0.0.1:6443 retry",
 * );
 * ```
 */
export function shownReason(reason: string): string {
  const shown = reason
    .replace(URL_LIKE, (url) => shownServer(url))
    .replace(USERINFO_LIKE, "")
    .replace(/\s+/g, " ")
    .trim();
  return shown.length > MAX_REASON ? `${shown.slice(0, MAX_REASON - 1)}…` : shown;
}

/** The innermost reason of a failed request (`fetch failed` says nothing), shown. */
function networkReason(error: unknown): string {
  let reason = error instanceof Error ? error.message : String(error);
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error && e.cause !== undefined; depth++) {
    e = e.cause;
    if (e instanceof Error && e.message) reason = e.message;
    else if (typeof e === "object" && e !== null && "code" in e) reason = String(e.code);
  }
  return shownReason(reason) || "no reason given";
}

/** Resolves with `promise`, or rejects with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A server URL that carries a user or password (fetch refuses it): said without them. */
function serverCredentials(server: string): string | undefined {
  try {
    const url = new URL(server);
    if (url.username || url.password) {
      return "the kubeconfig's server URL includes a user name or password; " +
        "put credentials in the kubeconfig's user instead";
    }
  } catch { /* the request reports it */ }
  return undefined;
}

/**
 * Asks the API server of a kubeconfig for `/version`, once: whether it can be reached at
 * all. The kubeconfig's credentials are obtained first (an exec credential plugin may
 * take a while: that is not counted), then the request has `timeoutMs`. An answer of any
 * status but 401 means it can (what a stage may do is checked later, call by call); a
 * 401 means the kubeconfig's credentials are refused. No reason quotes a secret: URLs
 * are shown without user, password or query, and a credential plugin's output is never
 * quoted.
 *
 * @param options The kubeconfig, its context, the time limit, and a signal.
 * @returns The server (shown without credentials) and, when it cannot be used, why.
 * @throws {Error} When the kubeconfig cannot be loaded or the context does not exist.
 *
 * @example
 * ```ts ignore
 * import { probeKubernetesApi } from "./provider.ts";
 * const { server, problem } = await probeKubernetesApi({ kubeconfigPath: "kubeconfig", timeoutMs: 5_000 });
 * if (problem) console.error(`cannot reach the Kubernetes API at ${server} (${problem})`);
 * ```
 */
export async function probeKubernetesApi(options: ProbeOptions): Promise<ProbeResult> {
  const client = KubeClient.connect(options.kubeconfigPath, {
    context: options.context,
    clock: options.clock,
  });
  const rawServer = client.config.getCurrentCluster()?.server ?? "";
  const server = shownServer(rawServer);
  const inUrl = serverCredentials(rawServer);
  if (inUrl) return { server, problem: inUrl, credentials: true };
  const user = client.config.getCurrentUser();
  const plugin = Boolean(user?.exec || user?.authProvider);
  // The time limit starts with the request, once the credentials are in its headers.
  const limit = new AbortController();
  let cancelLimit = () => {};
  let requested = false;
  const signal = options.signal ? AbortSignal.any([limit.signal, options.signal]) : limit.signal;
  const withSignal = {
    pre: (context: RequestContext) => {
      requested = true;
      cancelLimit = realClock.schedule(options.timeoutMs, () => limit.abort());
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  try {
    // The request's parameters (none), then the per-call options.
    await untilAborted(
      // client-node's own HTTP, not the client's retrying one: one request, its limit the
      // probe's, and a credential plugin's failure told apart from the request's.
      client.config.makeApiClient(VersionApi).getCode({}, {
        middleware: [withSignal],
        middlewareMergeStrategy: "append",
      }),
      options.signal,
    );
    return { server };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (limit.signal.aborted) {
      return { server, problem: `no answer within ${options.timeoutMs} ms` };
    }
    if (!requested) {
      // Getting the credentials failed: a plugin's output may hold a token, never quoted.
      return plugin
        ? { server, problem: "the kubeconfig's credential plugin failed", credentials: true }
        : { server, problem: networkReason(error), credentials: true };
    }
    if (error instanceof ApiException) {
      return error.code === 401
        ? {
          server,
          problem: "401 Unauthorized: it refused the kubeconfig's credentials",
          credentials: true,
        }
        : { server };
    }
    return { server, problem: networkReason(error) };
  } finally {
    cancelLimit();
  }
}
