/**
 * The main thread's check of every `kubernetes` call a stage makes: a stage reaches
 * its environment's namespace (and the namespaces it declared), reads cluster-scoped
 * kinds only from a short list, and reads a Secret's values only when it declared that
 * Secret (`uses({ kubernetes: { secrets: ["db-credentials"] } })`). A refused call never
 * reaches the API server.
 * @module
 */

/** What a stage may do through the capability (the grant's `kubernetes` part). */
export interface KubernetesScopeGrant {
  /** Namespaces it may read and change. */
  readonly namespaces: readonly string[];
  /** Cluster-scoped kinds it may `get`/`list`. */
  readonly clusterReads: readonly string[];
  /** Secrets whose values it may read, as `namespace/name`. */
  readonly secrets: readonly string[];
}

/** A call the stage's grant does not allow. */
export class ScopeError extends Error {
  /**
   * Builds the error.
   *
   * @param message What was refused and how to allow it.
   */
  constructor(message: string) {
    super(message);
    this.name = "ScopeError";
  }
}

type Kind = { kind?: unknown } | null | undefined;
const kindName = (k: Kind) => (k && typeof k.kind === "string" ? k.kind : "?");
const nsOf = (o: unknown): unknown =>
  (o as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;

/**
 * Refuses a `kubernetes` call outside a stage's grant.
 *
 * @param stageId The stage making the call.
 * @param grant Its Kubernetes grant.
 * @param call The method and its arguments, as the stage sent them.
 * @throws {ScopeError} Naming what was refused and the declaration that would allow it.
 *
 * @example
 * ```ts
 * import { checkKubernetesCall, ScopeError } from "./scope.ts";
 * import assert from "node:assert/strict";
 * const grant = { namespaces: ["shop-dev"], clusterReads: ["Node"], secrets: [] };
 * const pod = { apiVersion: "v1", kind: "Pod" };
 * checkKubernetesCall("s", grant, { method: "list", args: [pod, "shop-dev"] });
 * assert.throws(
 *   () => checkKubernetesCall("s", grant, { method: "list", args: [pod, "shop-prod"] }),
 *   ScopeError,
 * );
 * ```
 */
export function checkKubernetesCall(
  stageId: string,
  grant: KubernetesScopeGrant,
  call: { method: string; args: readonly unknown[] },
): void {
  const a = call.args;
  const where = (ns: unknown, what: string) => {
    if (typeof ns === "string" && grant.namespaces.includes(ns)) return;
    const shown = ns === null || ns === undefined ? "the whole cluster" : `namespace ${String(ns)}`;
    throw new ScopeError(
      `stage "${stageId}" may not ${what} in ${shown}: it reaches ${
        grant.namespaces.join(", ") || "no namespace"
      }` +
        (typeof ns === "string"
          ? ` (declare uses({ kubernetes: { namespaces: [${JSON.stringify(ns)}] } }) to reach it)`
          : ""),
    );
  };
  switch (call.method) {
    case "version":
      return;
    case "get":
    case "list": {
      const kind = kindName(a[0] as Kind);
      if ((a[1] === null || a[1] === undefined) && grant.clusterReads.includes(kind)) return;
      return where(a[1], `${call.method} ${kind}`);
    }
    case "patch":
    case "delete":
      return where(a[1], `${call.method} ${kindName(a[0] as Kind)}`);
    case "apply":
      return where(nsOf(a[0]), `apply ${kindName(a[0] as Kind)}`);
    case "event":
      return where(nsOf(a[0]), "record an event");
    case "rolloutStatus":
    case "waitForRollout":
    case "acquireLease":
      return where(a[0], call.method);
    case "renewLease":
    case "releaseLease":
      return where((a[0] as { namespace?: unknown } | null)?.namespace, call.method);
    case "proxyGet":
      return where((a[0] as { namespace?: unknown } | null)?.namespace, "proxy to a pod");
    case "readSecret": {
      where(a[0], "read Secret values");
      const name = `${String(a[0])}/${String(a[1])}`;
      if (grant.secrets.includes(name)) return;
      throw new ScopeError(
        `stage "${stageId}" may not read the values of Secret ${name}: declare ` +
          `uses({ kubernetes: { secrets: [${JSON.stringify(String(a[1]))}] } })`,
      );
    }
    default:
      throw new ScopeError(
        `stage "${stageId}" called unknown kubernetes operation "${call.method}"`,
      );
  }
}
