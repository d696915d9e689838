/**
 * The `kubernetes` capability: the main thread holds the cluster client
 * (`@kubernetes/client-node`, loaded only when a run opens it) and a stage that
 * `uses("kubernetes")` reaches it through `ctx.use("kubernetes")`, each call checked
 * against the stage's namespace grant. The kubeconfig is the sandbox's for a sandbox
 * run, else `kubernetes.kubeconfig` of the environment file, else `KUBECONFIG`, else
 * `~/.kube/config`. When none can be loaded it says so once, naming the path it tried
 * and how to fix it; when its API server does not answer (`verify`, before the run
 * starts), it says so once too, naming the server, instead of failing every call.
 * @module
 */
import { homedir } from "node:os";
import { parse } from "yaml";
import type { Environment } from "../config/types.ts";
import type { KubernetesCapability } from "../kubernetes/capability.ts";
import {
  type Capability,
  type CapabilityTarget,
  CapabilityUnavailableError,
  type OpenContext,
  type Opened,
  proxiedGrant,
} from "./types.ts";
import { type Clock, realClock } from "../clock/clock.ts";

/**
 * The run's clock, when the composition root gives one in the open context (`clock`):
 * the client's requests hold it and its waits are on it. Default real time.
 */
function clockOf(ctx: OpenContext): Clock {
  return ctx.clock ?? realClock;
}

/** The kubeconfig a run uses, and why that one. */
export interface KubeconfigLocation {
  /** The file. */
  readonly path: string;
  /** Where the path came from, as a person would look for it. */
  readonly source: string;
  /** The context to use (default: the file's current context). */
  readonly context?: string;
}

/**
 * Which kubeconfig a run uses: the sandbox's, else `kubernetes.kubeconfig` (and
 * `kubernetes.context`) of the environment file, else the first file of `KUBECONFIG`,
 * else `~/.kube/config`.
 *
 * @param env The environment.
 * @param target Where the run goes.
 * @param readEnv Reads environment variables.
 * @returns The path, its source, and the context.
 *
 * @example
 * ```ts
 * import { kubeconfigLocation } from "./kubernetes.ts";
 * import type { Environment } from "../config/types.ts";
 * import assert from "node:assert/strict";
 * const env = { file: "environments/dev.yml" } as Environment;
 * const where = kubeconfigLocation(env, { kind: "kubernetes" }, () => "/tmp/a:/tmp/b");
 * assert.deepEqual(where, { path: "/tmp/a", source: "KUBECONFIG" });
 * ```
 */
export function kubeconfigLocation(
  env: Environment,
  target: CapabilityTarget,
  readEnv: (name: string) => string | undefined,
): KubeconfigLocation {
  if (target.kind === "sandbox") {
    return { path: target.kubeconfigPath, source: "the sandbox's kubeconfig" };
  }
  const context = env.kubernetes?.context ? { context: env.kubernetes.context } : {};
  if (env.kubernetes?.kubeconfig) {
    return {
      path: env.kubernetes.kubeconfig,
      source: `kubernetes.kubeconfig in ${env.file}`,
      ...context,
    };
  }
  const first = readEnv("KUBECONFIG")?.split(":").find((p) => p !== "");
  if (first) return { path: first, source: "KUBECONFIG", ...context };
  return { path: `${homedir()}/.kube/config`, source: "the default location", ...context };
}

const SANDBOX_FIX = "start the sandbox again (deno task sandbox), or run with --sandbox --reset";

function unavailable(
  env: Environment,
  where: KubeconfigLocation,
  problem: string,
  cause?: unknown,
) {
  const fix = where.source === "the sandbox's kubeconfig"
    ? SANDBOX_FIX
    : `rehearse on the sandbox with --sandbox, point KUBECONFIG at your cluster's kubeconfig, ` +
      `or set kubernetes.kubeconfig in ${env.file}`;
  return new CapabilityUnavailableError(
    "kubernetes",
    `cannot reach a Kubernetes cluster: ${problem} (${where.source})`,
    fix,
    cause === undefined ? undefined : { cause },
  );
}

/** The reason a kubeconfig cannot be used, without quoting its content (it holds tokens). */
function kubeconfigProblem(where: KubeconfigLocation): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(where.path);
  } catch (err) {
    return err instanceof Deno.errors.NotFound
      ? `no kubeconfig at ${where.path}`
      : `cannot read the kubeconfig ${where.path} (${(err as Error).name})`;
  }
  let doc: { contexts?: { name?: unknown }[]; "current-context"?: unknown } | null;
  try {
    doc = parse(text) as typeof doc;
  } catch {
    return `the kubeconfig ${where.path} is not YAML`;
  }
  if (!doc || typeof doc !== "object") return `the kubeconfig ${where.path} is empty`;
  const contexts = (Array.isArray(doc.contexts) ? doc.contexts : []).map((c) => String(c?.name));
  const wanted = where.context ?? doc["current-context"];
  if (typeof wanted !== "string" || wanted === "") {
    return `the kubeconfig ${where.path} names no current context`;
  }
  if (!contexts.includes(wanted)) {
    return `the kubeconfig ${where.path} has no context "${wanted}" (it has ${
      contexts.join(", ") || "none"
    })`;
  }
  return undefined;
}

/** The API server of the kubeconfig does not answer: where it is, why, and what to do. */
function unreachable(where: KubeconfigLocation, server: string, problem: string) {
  const fix = where.source === "the sandbox's kubeconfig"
    ? SANDBOX_FIX
    : `check that the cluster is up and that ${where.source} (${where.path}) points at it ` +
      `(kubectl --kubeconfig ${where.path} version), or rehearse on the sandbox with --sandbox`;
  return new CapabilityUnavailableError(
    "kubernetes",
    `cannot reach the Kubernetes API at ${server} (${problem})`,
    fix,
  );
}

/** The kubeconfig's credentials cannot be used against its API server (no output quoted). */
function unauthenticated(where: KubeconfigLocation, server: string, problem: string) {
  const fix = where.source === "the sandbox's kubeconfig"
    ? SANDBOX_FIX
    : `check the user of ${where.source} (${where.path}): run ` +
      `kubectl --kubeconfig ${where.path} version to see the credential plugin's own error ` +
      `(log in again, refresh its token), or rehearse on the sandbox with --sandbox`;
  return new CapabilityUnavailableError(
    "kubernetes",
    `cannot authenticate to the Kubernetes API at ${server} (${problem})`,
    fix,
  );
}

/**
 * The `kubernetes` registry entry. Its grant is empty (`proxied`): the Worker never
 * talks to the API server. `check` reads the kubeconfig (exists, is YAML, has the
 * context); `verify` asks its API server for `/version` once, within a time limit;
 * `open` builds the client over it. Each fails with a
 * {@linkcode CapabilityUnavailableError} that names the path (or server) tried and how
 * to fix it, never quoting the kubeconfig's credentials.
 *
 * @example
 * ```ts ignore
 * import { kubernetes } from "./kubernetes.ts";
 * const opened = await kubernetes.open!(env, ctx);
 * console.log((await opened.api.version()).gitVersion);
 * ```
 */
export const kubernetes: Capability<KubernetesCapability> = {
  name: "kubernetes",
  summary: "the cluster's API, held by the runner; calls are checked against the stage's grant",
  grant: proxiedGrant,
  check(env, ctx) {
    const where = kubeconfigLocation(env, ctx.target, ctx.readEnv);
    const problem = kubeconfigProblem(where);
    if (problem) throw unavailable(env, where, problem);
  },
  async verify(env, ctx, options) {
    const where = kubeconfigLocation(env, ctx.target, ctx.readEnv);
    const problem = kubeconfigProblem(where);
    if (problem) throw unavailable(env, where, problem);
    const clock = clockOf(ctx);
    const { probeKubernetesApi } = await clock.track(
      "loading the Kubernetes client",
      import("../kubernetes/probe.ts"),
    );
    let probed: Awaited<ReturnType<typeof probeKubernetesApi>>;
    try {
      probed = await probeKubernetesApi({
        kubeconfigPath: where.path,
        context: where.context,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        clock,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw unavailable(env, where, (err as Error).message, err);
    }
    if (probed.problem) {
      throw (probed.credentials ? unauthenticated : unreachable)(
        where,
        probed.server,
        probed.problem,
      );
    }
  },
  async open(env, ctx): Promise<Opened<KubernetesCapability>> {
    const where = kubeconfigLocation(env, ctx.target, ctx.readEnv);
    const problem = kubeconfigProblem(where);
    if (problem) throw unavailable(env, where, problem);
    const clock = clockOf(ctx);
    // Loading client-node takes real time: a virtual clock waits for it.
    const { createKubernetesCapability } = await clock.track(
      "loading the Kubernetes client",
      import("../kubernetes/provider.ts"),
    );
    const stop = new AbortController();
    const stopped = stop.signal;
    try {
      return {
        close: () => Promise.resolve(stop.abort()),
        api: createKubernetesCapability({
          kubeconfigPath: where.path,
          context: where.context,
          dryRun: ctx.dryRun,
          onSecret: ctx.onSecret,
          clock,
          heartbeat: { stopped, onLost: (error) => ctx.failRun?.(error), log: ctx.log },
          ...(ctx.target.kind === "sandbox" && ctx.target.transport
            ? { transport: ctx.target.transport }
            : {}),
        }),
      };
    } catch (err) {
      throw unavailable(env, where, (err as Error).message, err);
    }
  },
};
