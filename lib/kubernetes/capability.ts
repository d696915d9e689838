/**
 * The `kubernetes` capability: what a stage that `uses("kubernetes")` can ask the
 * runner's main thread to do. The main thread holds the real client
 * (`@kubernetes/client-node`); stages reach it only through these methods (a
 * message-passing proxy), so stage Workers never load the client and the report lists
 * every call. Arguments and results are plain JSON.
 * @module
 */

/** A Kubernetes object as JSON. */
export interface KubeObject {
  /** e.g. `apps/v1`. */
  apiVersion: string;
  /** e.g. `Deployment`. */
  kind: string;
  /** The object's metadata (other fields, e.g. `managedFields`, pass through). */
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  /** `spec`, `status`, `data` and whatever else the kind has. */
  [key: string]: unknown;
}

/** Names an object kind: `{ apiVersion: "apps/v1", kind: "Deployment" }`. */
export interface KindRef {
  /** e.g. `apps/v1`, `v1`. */
  readonly apiVersion: string;
  /** e.g. `Deployment`. */
  readonly kind: string;
}

/** The result of `kubectl rollout status`'s logic for one Deployment. */
export interface RolloutStatus {
  /** The rollout finished: every replica updated and available. */
  readonly done: boolean;
  /** The rollout cannot finish (ProgressDeadlineExceeded, or the Deployment is gone). */
  readonly failed: boolean;
  /** kubectl's message, e.g. `Waiting for deployment "x" rollout to finish: 1 of 3 updated replicas are available...`. */
  readonly message: string;
  /** `status.replicas`: all pods of the Deployment, old and new. */
  readonly replicas: number;
  /** `status.updatedReplicas`: pods of the current template. */
  readonly updatedReplicas: number;
  /** `status.availableReplicas`. */
  readonly availableReplicas: number;
}

/** A held lock on an environment. */
export interface LeaseHandle {
  /** The Lease's namespace. */
  readonly namespace: string;
  /** The Lease's name. */
  readonly name: string;
  /** Who holds it. */
  readonly holder: string;
  /** When the hold ends without renewal (ISO time). */
  readonly expiresAt: string;
}

/** What `uses("kubernetes")` gives a stage (through `ctx.use("kubernetes")`). */
export interface KubernetesCapability {
  /** The server's version (`/version`). */
  version(): Promise<{ gitVersion: string; major: string; minor: string }>;
  /** One object, or null when it does not exist. */
  get(kind: KindRef, namespace: string | null, name: string): Promise<KubeObject | null>;
  /** Objects of a kind, filtered by label/field selectors. */
  list(
    kind: KindRef,
    namespace: string | null,
    options?: { labelSelector?: string; fieldSelector?: string },
  ): Promise<KubeObject[]>;
  /** Whether a kind is namespaced (discovery); undefined when the server has no such kind. */
  namespaced(kind: KindRef): Promise<boolean | undefined>;
  /** Server-side apply (field manager `TOOL_NAME` of `lib/product`, force on conflicts). */
  apply(manifest: KubeObject, options?: { dryRun?: boolean }): Promise<KubeObject>;
  /** A patch: `merge` (JSON merge patch), `strategic` or `json` (JSON patch). */
  patch(
    kind: KindRef,
    namespace: string | null,
    name: string,
    patch: unknown,
    type: "merge" | "strategic" | "json",
  ): Promise<KubeObject>;
  /** Deletes an object; false when it did not exist. */
  delete(kind: KindRef, namespace: string | null, name: string): Promise<boolean>;
  /** One reading of a Deployment's rollout status, as `kubectl rollout status` computes it. */
  rolloutStatus(namespace: string, name: string): Promise<RolloutStatus>;
  /** Waits for a rollout to finish (true), fail or pass its deadline (false, with the message). */
  waitForRollout(
    namespace: string,
    name: string,
    options: { timeoutMs: number; pollMs?: number; maxPollMs?: number },
  ): Promise<RolloutStatus>;
  /**
   * A GET through the API server's proxy to a pod's (or Service's) port: how a runner
   * outside the cluster network reaches `/health` and `/metrics`. Any HTTP status is
   * returned; the body is text.
   */
  proxyGet(
    target: { namespace: string; kind: "pods" | "services"; name: string; port: number },
    path: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  /**
   * A pod's log (`kubectl logs`): the last `tailLines` lines (all when unset) of
   * `container` (the pod's only container when unset), as text. Throws a
   * `KubernetesApiError` when the pod is missing (404) or its container has not started
   * (400, "waiting to start").
   */
  podLogs(
    namespace: string,
    pod: string,
    options?: { tailLines?: number; container?: string },
  ): Promise<string>;
  /** A key of a Secret, decoded. The value is registered for redaction before it is returned. */
  readSecret(namespace: string, name: string, key: string): Promise<string | null>;
  /**
   * Takes the environment's deploy lock (a Lease); throws when another holder has it,
   * naming the holder, its run, since when and until when. `takeOverRun`: a live lease
   * held for this run id (`<user>/<run-id>`) is taken over: the same run, resumed after
   * its runner died. Where the run keeps a heartbeat, the lease is renewed until released,
   * and on a scaled clock it lasts at least 60 real seconds unless `exact` (a duration the
   * user chose, e.g. for a test that wants a dead runner's lock to lapse quickly).
   */
  acquireLease(
    namespace: string,
    name: string,
    options: { holder: string; durationSeconds: number; takeOverRun?: string; exact?: boolean },
  ): Promise<LeaseHandle>;
  /** Renews a held lease. */
  renewLease(lease: LeaseHandle): Promise<LeaseHandle>;
  /** Releases a held lease (duration set to 1 s, as client-go does). */
  releaseLease(lease: LeaseHandle): Promise<void>;
  /** Records a Kubernetes Event on an object. */
  event(
    object: KubeObject,
    event: { reason: string; message: string; type: "Normal" | "Warning" },
  ): Promise<void>;
}
