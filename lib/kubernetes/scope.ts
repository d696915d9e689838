/**
 * The main thread's check of every `kubernetes` call a stage makes: a stage reaches
 * its environment's namespace (and the namespaces it declared), reads cluster-scoped
 * kinds only from a short list, and reads or writes a Secret's values only when it
 * declared that Secret (`uses({ kubernetes: { secrets: ["db-credentials"] } })`).
 * Arguments must have their documented shape (names, kinds, ports, proxy paths), and
 * whether a kind is namespaced comes from the server's discovery, not from what the
 * stage passes as a namespace. A refused call never reaches the API server.
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

/** Tells whether a kind is namespaced (discovery); undefined for a kind the server lacks. */
export type NamespacedLookup = (
  kind: { apiVersion: string; kind: string },
) => Promise<boolean | undefined>;

const API_VERSION =
  /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Cluster-scoped kinds known without asking the server (used when no lookup is given). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "NodeMetrics",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "StorageClass",
  "CustomResourceDefinition",
  "PriorityClass",
  "IngressClass",
  "RuntimeClass",
  "APIService",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "CertificateSigningRequest",
  "GatewayClass",
]);

function refuse(stageId: string, what: string): never {
  throw new ScopeError(`stage "${stageId}" ${what}`);
}

function kindOf(stageId: string, value: unknown): { apiVersion: string; kind: string } {
  const k = value as { apiVersion?: unknown; kind?: unknown } | null;
  if (
    !k || typeof k !== "object" || typeof k.apiVersion !== "string" ||
    typeof k.kind !== "string" || !API_VERSION.test(k.apiVersion) || !KIND.test(k.kind)
  ) {
    refuse(
      stageId,
      `passed a malformed kind ${
        JSON.stringify(value)
      }: use { apiVersion: "apps/v1", kind: "Deployment" }`,
    );
  }
  return { apiVersion: k.apiVersion, kind: k.kind };
}

function nameOf(stageId: string, value: unknown, what: string): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    refuse(stageId, `passed a malformed ${what} ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Refuses a `kubernetes` call outside a stage's grant.
 *
 * @param stageId The stage making the call.
 * @param grant Its Kubernetes grant.
 * @param call The method and its arguments, as the stage sent them.
 * @param namespaced Tells whether a kind is namespaced (the server's discovery); without
 * it a built-in list of cluster-scoped kinds is used.
 * @throws {ScopeError} Naming what was refused and the declaration that would allow it.
 *
 * @example
 * ```ts
 * import { checkKubernetesCall, ScopeError } from "./scope.ts";
 * import assert from "node:assert/strict";
 * const grant = { namespaces: ["shop-dev"], clusterReads: ["Node"], secrets: [] };
 * const pod = { apiVersion: "v1", kind: "Pod" };
 * await checkKubernetesCall("s", grant, { method: "list", args: [pod, "shop-dev"] });
 * await assert.rejects(
 *   () => checkKubernetesCall("s", grant, { method: "list", args: [pod, "shop-prod"] }),
 *   ScopeError,
 * );
 * ```
 */
export async function checkKubernetesCall(
  stageId: string,
  grant: KubernetesScopeGrant,
  call: { method: string; args: readonly unknown[] },
  namespaced?: NamespacedLookup,
): Promise<void> {
  const a = call.args;
  const inScope = (ns: unknown, what: string) => {
    if (typeof ns === "string" && grant.namespaces.includes(ns)) return;
    const shown = ns === null || ns === undefined ? "the whole cluster" : `namespace ${String(ns)}`;
    refuse(
      stageId,
      `may not ${what} in ${shown}: it reaches ${grant.namespaces.join(", ") || "no namespace"}` +
        (typeof ns === "string" && LABEL.test(ns)
          ? ` (declare uses({ kubernetes: { namespaces: [${JSON.stringify(ns)}] } }) to reach it)`
          : ""),
    );
  };
  const secretGrant = (ns: string, name: string, what: string) => {
    if (grant.secrets.includes(`${ns}/${name}`)) return;
    refuse(
      stageId,
      `may not ${what} Secret ${ns}/${name}: declare ` +
        `uses({ kubernetes: { secrets: [${JSON.stringify(name)}] } })`,
    );
  };
  // Where an object call lands: a namespaced kind in a namespace of the grant, or a
  // cluster-scoped kind (whatever namespace was passed: the client drops it) only to read.
  const object = async (kind: { apiVersion: string; kind: string }, ns: unknown, verb: string) => {
    const scoped = namespaced ? await namespaced(kind) : !CLUSTER_SCOPED.has(kind.kind);
    if (scoped === undefined) {
      refuse(stageId, `used ${kind.apiVersion} ${kind.kind}, which the server does not serve`);
    }
    if (!scoped) {
      if ((verb === "get" || verb === "list") && grant.clusterReads.includes(kind.kind)) return;
      refuse(
        stageId,
        `may not ${verb} ${kind.kind}: it is cluster-scoped (cluster reads allowed: ${
          grant.clusterReads.join(", ")
        })`,
      );
    }
    inScope(ns, `${verb} ${kind.kind}`);
  };
  switch (call.method) {
    case "version":
      return;
    case "namespaced":
      kindOf(stageId, a[0]);
      return;
    case "get":
    case "list": {
      const kind = kindOf(stageId, a[0]);
      if (call.method === "get") nameOf(stageId, a[2], "name");
      return await object(kind, a[1], call.method);
    }
    case "patch":
    case "delete": {
      const kind = kindOf(stageId, a[0]);
      const name = nameOf(stageId, a[2], "name");
      await object(kind, a[1], call.method);
      if (kind.kind === "Secret") secretGrant(String(a[1]), name, `${call.method} the values of`);
      return;
    }
    case "apply": {
      const m = a[0] as { metadata?: { name?: unknown; namespace?: unknown } } | null;
      const kind = kindOf(stageId, m);
      const name = nameOf(stageId, m?.metadata?.name, "name");
      if (kind.kind.endsWith("List")) {
        refuse(stageId, `may not apply a ${kind.kind}: apply each object`);
      }
      await object(kind, m?.metadata?.namespace, "apply");
      if (kind.kind === "Secret") {
        secretGrant(String(m?.metadata?.namespace), name, "write the values of");
      }
      return;
    }
    case "event":
      return await object(
        kindOf(stageId, a[0]),
        (a[0] as { metadata?: { namespace?: unknown } })?.metadata?.namespace,
        "record an event on",
      );
    case "rolloutStatus":
    case "waitForRollout":
      nameOf(stageId, a[1], "name");
      return inScope(a[0], call.method);
    case "acquireLease":
      nameOf(stageId, a[1], "name");
      return inScope(a[0], call.method);
    case "renewLease":
    case "releaseLease": {
      const lease = a[0] as { namespace?: unknown; name?: unknown } | null;
      nameOf(stageId, lease?.name, "lease name");
      return inScope(lease?.namespace, call.method);
    }
    case "proxyGet": {
      const t = a[0] as
        | { namespace?: unknown; kind?: unknown; name?: unknown; port?: unknown }
        | null;
      if (t?.kind !== "pods" && t?.kind !== "services") {
        refuse(stageId, `may proxy only to "pods" or "services", not ${JSON.stringify(t?.kind)}`);
      }
      nameOf(stageId, t.name, "proxy target name");
      if (!Number.isInteger(t.port) || (t.port as number) < 1 || (t.port as number) > 65535) {
        refuse(stageId, `passed a malformed proxy port ${JSON.stringify(t.port)}`);
      }
      const path = a[1];
      if (
        typeof path !== "string" || !path.startsWith("/") || /[\\#]|%2e|%2f|%5c/i.test(path) ||
        path.split("?")[0]!.split("/").some((seg) => seg === "." || seg === "..")
      ) {
        refuse(
          stageId,
          `passed a proxy path ${
            JSON.stringify(path)
          }: it must be a plain absolute path such as "/health"`,
        );
      }
      return inScope(t.namespace, "proxy to a pod");
    }
    case "podLogs": {
      nameOf(stageId, a[1], "pod name");
      const o = (a[2] ?? {}) as { tailLines?: unknown; container?: unknown };
      if (
        typeof o !== "object" ||
        (o.tailLines !== undefined && (!Number.isInteger(o.tailLines) || Number(o.tailLines) < 0))
      ) {
        refuse(stageId, `passed malformed log options ${JSON.stringify(a[2])}`);
      }
      if (o.container !== undefined) nameOf(stageId, o.container, "container name");
      return inScope(a[0], "read pod logs");
    }
    case "readSecret": {
      inScope(a[0], "read Secret values");
      const name = nameOf(stageId, a[1], "Secret name");
      if (typeof a[2] !== "string") refuse(stageId, "passed a malformed Secret key");
      return secretGrant(String(a[0]), name, "read the values of");
    }
    default:
      refuse(stageId, `called unknown kubernetes operation "${call.method}"`);
  }
}
