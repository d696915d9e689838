/**
 * A Lease as a lock, the way client-go's leader election uses one: create it when
 * missing; refuse while another holder's `renewTime + leaseDurationSeconds` is in the
 * future; otherwise take it over with an update carrying the `resourceVersion` read (a
 * 409 means someone else won); release by setting the duration to 1 s.
 * @module
 */
import { ApiException, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { LeaseHandle } from "./capability.ts";
import { apiError, type KubeClient } from "./client.ts";
import { LeaseHeldError } from "./errors.ts";

/** Options for {@linkcode acquireLease}. */
export interface AcquireLeaseOptions {
  /** Who takes the lock, e.g. `deploy run 20260101-abc (alice@host)`. */
  holder: string;
  /** How long the hold lasts without renewal. */
  durationSeconds: number;
  /** The time now (default: the client's clock). */
  now?: (() => Date) | undefined;
  /** Check that the lease could be taken, and write nothing. */
  dryRun?: boolean | undefined;
  /**
   * Whether a live lease of this holder may be taken over (the same run, resumed after its
   * runner died). Default: never.
   */
  takeOver?: ((holder: string) => boolean) | undefined;
  /**
   * A renewal: refuse unless the lease is still held by `holder` (a lease released, or
   * taken, since is not taken again).
   */
  mustHold?: boolean | undefined;
}

/**
 * Says who holds a lease and until when: the holder (`user/run-id`), the run, since when,
 * renewed when, and when it expires if its runner stops renewing it.
 */
function heldMessage(what: string, lease: V1Lease, until: Date): string {
  const holder = lease.spec?.holderIdentity ?? "";
  const slash = holder.lastIndexOf("/");
  const who = slash > 0 ? holder.slice(0, slash) : holder;
  const run = slash > 0 ? holder.slice(slash + 1) : "";
  const since = toDate(lease.spec?.acquireTime)?.toISOString() ?? "an unknown time";
  const renewed = toDate(lease.spec?.renewTime)?.toISOString() ?? "never";
  return `Cannot acquire ${what}: held by ${who}${run ? ` for run ${run}` : ""} since ${since} ` +
    `(last renewed ${renewed}) until ${until.toISOString()}. A live runner renews it; a dead ` +
    `runner's lock is free at ${until.toISOString()}${
      run ? `, or resume that run: deno task resume ${run}` : ""
    }`;
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value !== "string" || value === "") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function expiry(lease: V1Lease): Date | undefined {
  const renew = toDate(lease.spec?.renewTime);
  if (!renew) return undefined;
  return new Date(renew.getTime() + (lease.spec?.leaseDurationSeconds ?? 0) * 1000);
}

async function read(client: KubeClient, namespace: string, name: string): Promise<V1Lease | null> {
  try {
    return await client.coordination.readNamespacedLease({ namespace, name });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return null;
    throw apiError(error, "read", `Lease ${namespace}/${name}`);
  }
}

function handle(namespace: string, name: string, holder: string, expires: Date): LeaseHandle {
  return { namespace, name, holder, expiresAt: expires.toISOString() };
}

function checkDuration(durationSeconds: number, what: string): void {
  if (!Number.isInteger(durationSeconds) || durationSeconds < 1) {
    throw new RangeError(
      `Cannot acquire ${what}: durationSeconds must be an integer >= 1, got ${durationSeconds}`,
    );
  }
}

/**
 * Takes (or renews, when already ours) the lock.
 *
 * @param client The Kubernetes client.
 * @param lease The lease's namespace and name.
 * @param options Holder, duration and clock.
 * @returns The held lease.
 * @throws {LeaseHeldError} When another holder has it, or won a race for it.
 * @throws {Error} A `KubernetesApiError` when the API fails otherwise.
 *
 * @example
 * ```ts ignore
 * import { acquireLease, releaseLease } from "./lease.ts";
 * import { KubeClient } from "./client.ts";
 * const client = KubeClient.connect("kubeconfig");
 * const lease = await acquireLease(client, { namespace: "shop", name: "deploy-lock" }, {
 *   holder: "alice/run-1",
 *   durationSeconds: 900,
 * });
 * await releaseLease(client, lease);
 * ```
 */
export async function acquireLease(
  client: KubeClient,
  lease: { namespace: string; name: string },
  options: AcquireLeaseOptions,
): Promise<LeaseHandle> {
  const { namespace, name } = lease;
  const what = `Lease ${namespace}/${name}`;
  checkDuration(options.durationSeconds, what);
  if (!options.holder) throw new TypeError(`Cannot acquire ${what}: the holder is empty`);
  const now = (options.now ?? (() => new Date(client.clock.now())))();
  const expires = new Date(now.getTime() + options.durationSeconds * 1000);
  const current = await read(client, namespace, name);
  if (current === null && options.mustHold) {
    throw new LeaseHeldError(`Cannot renew ${what}: it no longer exists`, {
      holder: "",
      expiresAt: "",
    });
  }
  if (current === null) {
    if (options.dryRun) return handle(namespace, name, options.holder, expires);
    const body: V1Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace },
      spec: {
        holderIdentity: options.holder,
        leaseDurationSeconds: options.durationSeconds,
        acquireTime: new V1MicroTime(now.getTime()),
        renewTime: new V1MicroTime(now.getTime()),
        leaseTransitions: 0,
      },
    };
    try {
      await client.coordination.createNamespacedLease({ namespace, body });
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) {
        throw new LeaseHeldError(
          `Cannot acquire ${what}: another holder created it first`,
          { holder: "", expiresAt: "" },
        );
      }
      throw apiError(error, "create", what);
    }
    return handle(namespace, name, options.holder, expires);
  }
  const heldBy = current.spec?.holderIdentity ?? "";
  const heldUntil = expiry(current);
  if (options.mustHold && heldBy !== options.holder) {
    throw new LeaseHeldError(
      `Cannot renew ${what}: it is no longer held by "${options.holder}"${
        heldBy ? ` (held by "${heldBy}")` : " (released)"
      }`,
      { holder: heldBy, expiresAt: heldUntil?.toISOString() ?? "" },
    );
  }
  const takeover = options.takeOver?.(heldBy) === true;
  if (heldBy !== "" && heldBy !== options.holder && !takeover && heldUntil && heldUntil > now) {
    throw new LeaseHeldError(heldMessage(what, current, heldUntil), {
      holder: heldBy,
      expiresAt: heldUntil.toISOString(),
    });
  }
  if (options.dryRun) return handle(namespace, name, options.holder, expires);
  const ours = heldBy === options.holder;
  const transitions = current.spec?.leaseTransitions ?? 0;
  const body: V1Lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { ...current.metadata, name, namespace },
    spec: {
      ...current.spec,
      holderIdentity: options.holder,
      leaseDurationSeconds: options.durationSeconds,
      acquireTime: ours && current.spec?.acquireTime
        ? new V1MicroTime(toDate(current.spec.acquireTime)?.getTime() ?? now.getTime())
        : new V1MicroTime(now.getTime()),
      renewTime: new V1MicroTime(now.getTime()),
      leaseTransitions: ours ? transitions : transitions + 1,
    },
  };
  await replace(client, { namespace, name, body, what, heldBy });
  return handle(namespace, name, options.holder, expires);
}

async function replace(
  client: KubeClient,
  options: { namespace: string; name: string; body: V1Lease; what: string; heldBy: string },
): Promise<void> {
  try {
    await client.coordination.replaceNamespacedLease({
      namespace: options.namespace,
      name: options.name,
      body: options.body,
    });
  } catch (error) {
    if (error instanceof ApiException && error.code === 409) {
      throw new LeaseHeldError(
        `Cannot acquire ${options.what}: it changed while we took it over (409 Conflict): another holder won`,
        { holder: "", expiresAt: "" },
      );
    }
    throw apiError(error, "update", options.what);
  }
}

/**
 * Renews a lease we hold, for the same duration as before.
 *
 * @param client The Kubernetes client.
 * @param lease The held lease.
 * @param options The duration (default: the lease's current duration) and clock.
 * @returns The renewed lease.
 * @throws {LeaseHeldError} When the lease is no longer ours.
 *
 * @example
 * ```ts ignore
 * import { acquireLease, renewLease } from "./lease.ts";
 * import { KubeClient } from "./client.ts";
 * const client = KubeClient.connect("kubeconfig");
 * let lease = await acquireLease(client, { namespace: "shop", name: "deploy-lock" }, {
 *   holder: "alice/run-1",
 *   durationSeconds: 900,
 * });
 * lease = await renewLease(client, lease);
 * ```
 */
export async function renewLease(
  client: KubeClient,
  lease: LeaseHandle,
  options: { durationSeconds?: number; now?: () => Date; dryRun?: boolean } = {},
): Promise<LeaseHandle> {
  const what = `Lease ${lease.namespace}/${lease.name}`;
  const current = await read(client, lease.namespace, lease.name);
  const heldBy = current?.spec?.holderIdentity ?? "";
  if (current === null || heldBy !== lease.holder) {
    throw new LeaseHeldError(
      `Cannot renew ${what}: it is no longer held by "${lease.holder}"${
        heldBy ? ` (held by "${heldBy}")` : ""
      }`,
      { holder: heldBy, expiresAt: current ? expiry(current)?.toISOString() ?? "" : "" },
    );
  }
  return await acquireLease(client, lease, {
    holder: lease.holder,
    durationSeconds: options.durationSeconds ?? current.spec?.leaseDurationSeconds ?? 1,
    now: options.now,
    dryRun: options.dryRun,
    mustHold: true,
  });
}

/**
 * Releases a lease we hold as client-go does: holder cleared, duration 1 s. A lease
 * someone else holds by now is left alone.
 *
 * @param client The Kubernetes client.
 * @param lease The held lease.
 * @param options The clock; `dryRun` writes nothing.
 * @returns Whether the lease was ours and is now released.
 *
 * @example
 * ```ts ignore
 * import { releaseLease } from "./lease.ts";
 * import type { LeaseHandle } from "./capability.ts";
 * import { KubeClient } from "./client.ts";
 * declare const lease: LeaseHandle;
 * await releaseLease(KubeClient.connect("kubeconfig"), lease);
 * ```
 */
export async function releaseLease(
  client: KubeClient,
  lease: LeaseHandle,
  options: { now?: () => Date; dryRun?: boolean } = {},
): Promise<boolean> {
  const what = `Lease ${lease.namespace}/${lease.name}`;
  if (options.dryRun) return false;
  // A renewal in flight when the keeper stopped may land between the read and the write (a
  // conflict): read again and release what is still ours, never leave it held silently.
  for (let attempt = 1;; attempt++) {
    const current = await read(client, lease.namespace, lease.name);
    if (current === null || (current.spec?.holderIdentity ?? "") !== lease.holder) return false;
    const now = (options.now ?? (() => new Date(client.clock.now())))();
    const body: V1Lease = {
      ...current,
      spec: {
        ...current.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: new V1MicroTime(now.getTime()),
        renewTime: new V1MicroTime(now.getTime()),
      },
    };
    try {
      await client.coordination.replaceNamespacedLease({
        namespace: lease.namespace,
        name: lease.name,
        body,
      });
      return true;
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 409) || attempt >= 5) {
        throw apiError(error, "release", what);
      }
    }
  }
}
