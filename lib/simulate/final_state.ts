/**
 * The final state of a rehearsal's sandbox, read over its API once the run is over: every
 * slot Deployment and its readiness, every Lease, and the values of the Secrets' secret keys
 * (passwords, tokens, keys — not hosts, ports, users or certificates).
 * @module
 */
import type { SandboxAccess } from "../targets/rehearse.ts";

/**
 * One slot's Deployment at the end of the run.
 *
 * @example
 * ```ts
 * import type { SlotState } from "./observe.ts";
 * const s: SlotState = { service: "web", slot: "blue", version: "1.0.0", replicas: 2, ready: 2 };
 * ```
 */
export interface SlotState {
  /** The service. */
  readonly service: string;
  /** The slot its traffic ends on. */
  readonly slot: string;
  /** The `version` label. */
  readonly version: string | null;
  /** `spec.replicas`. */
  readonly replicas: number;
  /** `status.readyReplicas`. */
  readonly ready: number;
}

/**
 * A Lease at the end of the run.
 *
 * @example
 * ```ts
 * import type { LeaseState } from "./observe.ts";
 * const l: LeaseState = { name: "lock", holder: "", renewTime: null, durationSeconds: 1 };
 * ```
 */
export interface LeaseState {
  /** The Lease's name. */
  readonly name: string;
  /** `spec.holderIdentity` ("" when released). */
  readonly holder: string;
  /** `spec.renewTime`, or null when never renewed. */
  readonly renewTime: string | null;
  /** `spec.leaseDurationSeconds`. */
  readonly durationSeconds: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" ? v as Json : {});
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

async function list(s: SandboxAccess, path: string): Promise<Json[]> {
  const res = await s.clock.track(
    "simulate: reading the sandbox",
    s.fetch(path),
  );
  if (!res.ok) {
    const text = await res.text();
    throw new Error(`Cannot list ${path} in the sandbox: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  return ((await res.json()) as { items?: Json[] }).items ?? [];
}

function decode(b64: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  } catch {
    return "";
  }
}

/** The keys of a Secret whose values are secret (not a host, port, user or certificate). */
const SECRET_KEY = /pass|token|secret|(^|[-_.])key$/i;

/**
 * The final state: slot Deployments, Leases, Secret values.
 *
 * @param s The sandbox.
 * @returns What is there now.
 *
 * @example
 * ```ts ignore
 * import { finalState } from "./final_state.ts";
 * const { slots } = await finalState(sandbox);
 * ```
 */
export async function finalState(s: SandboxAccess): Promise<{
  slots: SlotState[];
  leases: LeaseState[];
  secrets: string[];
}> {
  const ns = encodeURIComponent(s.namespace);
  const [deployments, leases, secrets] = await Promise.all([
    list(s, `/apis/apps/v1/namespaces/${ns}/deployments`),
    list(s, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`),
    list(s, `/api/v1/namespaces/${ns}/secrets`),
  ]);
  const slots = deployments.flatMap((d): SlotState[] => {
    const labels = obj(obj(d.metadata).labels);
    const [service, slot] = [str(labels.service), str(labels.slot)];
    if (!service || !slot) return [];
    const replicas = obj(d.spec).replicas;
    const ready = obj(d.status).readyReplicas;
    return [{
      service,
      slot,
      version: str(labels.version),
      replicas: typeof replicas === "number" ? replicas : 1,
      ready: typeof ready === "number" ? ready : 0,
    }];
  });
  return {
    slots,
    leases: leases.map((l) => {
      const spec = obj(l.spec);
      return {
        name: str(obj(l.metadata).name) ?? "",
        holder: str(spec.holderIdentity) ?? "",
        renewTime: str(spec.renewTime),
        durationSeconds: typeof spec.leaseDurationSeconds === "number"
          ? spec.leaseDurationSeconds
          : 0,
      };
    }),
    secrets: secrets.flatMap((x) =>
      Object.entries(obj(x.data)).filter(([key]) => SECRET_KEY.test(key))
        .map(([, v]) => decode(String(v)))
    ),
  };
}
