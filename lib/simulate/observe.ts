/**
 * What a rehearsal's sandbox showed, seen from outside as a client sees a cluster: the
 * traffic of every service over the run (the HTTPRoutes' weights and the Services'
 * selectors, watched over the API as they change, stamped with the run's clock), and the
 * final state (Deployments and their readiness, Leases, the seeded Secrets' secret values —
 * passwords, tokens, keys — which must appear in no artefact). It relies on nothing the pipeline says about itself.
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { Inspector, SandboxAccess } from "../targets/rehearse.ts";

/**
 * Where one service's traffic goes at one moment.
 *
 * @example
 * ```ts
 * import type { ServiceTraffic } from "./observe.ts";
 * const t: ServiceTraffic = { weights: { blue: 95, green: 5 }, selector: "blue" };
 * ```
 */
export interface ServiceTraffic {
  /** The HTTPRoute's weight per slot (null: the service has no route). */
  readonly weights: Readonly<Record<string, number>> | null;
  /** The slot the Service's selector picks (null: none). */
  readonly selector: string | null;
}

/**
 * Traffic of every service at one moment of the run.
 *
 * @example
 * ```ts
 * import type { TrafficState } from "./observe.ts";
 * const s: TrafficState = { atMs: 0, services: {} };
 * ```
 */
export interface TrafficState {
  /** The run's clock when the change was seen (epoch ms). */
  readonly atMs: number;
  /** By service name. */
  readonly services: Readonly<Record<string, ServiceTraffic>>;
}

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
  readonly service: string;
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
  readonly name: string;
  /** `spec.holderIdentity` ("" when released). */
  readonly holder: string;
  readonly renewTime: string | null;
  readonly durationSeconds: number;
}

/**
 * Everything observed of one rehearsal's sandbox.
 *
 * @example
 * ```ts
 * import type { Observation } from "./observe.ts";
 * const o: Observation = { history: [], slots: [], leases: [], secrets: [], endMs: 0 };
 * ```
 */
export interface Observation {
  /** Traffic after each change, in order (the first: before the run moved anything). */
  readonly history: readonly TrafficState[];
  /** Every slot Deployment at the end. */
  readonly slots: readonly SlotState[];
  /** Every Lease in the namespace at the end. */
  readonly leases: readonly LeaseState[];
  /** The values of the namespace's Secrets (decoded): they must appear in no artefact. */
  readonly secrets: readonly string[];
  /** The run's clock at the end (epoch ms). */
  readonly endMs: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" ? v as Json : {});
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Route `<service>`'s weights per slot, from backendRefs named `<service>-<slot>`. */
function routeWeights(route: Json): Record<string, number> {
  const name = str(obj(route.metadata).name) ?? "";
  const weights: Record<string, number> = {};
  for (const rule of (obj(route.spec).rules as unknown[] | undefined) ?? []) {
    for (const ref of (obj(rule).backendRefs as unknown[] | undefined) ?? []) {
      const b = obj(ref);
      const slot = (str(b.name) ?? "").slice(name.length + 1);
      weights[slot] = (weights[slot] ?? 0) + (typeof b.weight === "number" ? b.weight : 1);
    }
  }
  return weights;
}

/** Keeps the latest version of each object of a watched kind. */
class WatchedKind {
  readonly objects = new Map<string, Json>();
  #controller = new AbortController();
  done: Promise<void>;

  constructor(url: string, token: string, onChange: () => void) {
    this.done = this.#run(url, token, onChange).catch(() => {});
  }

  async #run(url: string, token: string, onChange: () => void): Promise<void> {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
      signal: this.#controller.signal,
    });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return;
    }
    let buffered = "";
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === "") continue;
        const event = JSON.parse(line) as { type: string; object: Json };
        const name = str(obj(event.object.metadata).name) ?? "";
        if (event.type === "DELETED") this.objects.delete(name);
        else if (event.type === "ADDED" || event.type === "MODIFIED") {
          this.objects.set(name, event.object);
        } else continue;
        onChange();
      }
    }
  }

  stop(): Promise<void> {
    this.#controller.abort();
    return this.done;
  }
}

async function list(s: SandboxAccess, path: string): Promise<Json[]> {
  const res = await s.clock.track(
    "simulate: reading the sandbox",
    fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${s.token}` } }),
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

/** The final state: slot Deployments, Leases, Secret values. */
async function finalState(s: SandboxAccess): Promise<Omit<Observation, "history" | "endMs">> {
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

function snapshot(
  clock: Clock,
  routes: WatchedKind,
  services: WatchedKind,
): TrafficState {
  const out: Record<string, ServiceTraffic> = {};
  for (const [name, svc] of services.objects) {
    const selector = obj(obj(svc.spec).selector);
    // A service's own Service selects a slot and is not itself a slot's Service.
    if (str(obj(obj(svc.metadata).labels).slot) !== null || str(selector.slot) === null) continue;
    out[name] = { weights: null, selector: str(selector.slot) };
  }
  for (const [name, route] of routes.objects) {
    out[name] = { weights: routeWeights(route), selector: out[name]?.selector ?? null };
  }
  return { atMs: clock.now(), services: out };
}

/**
 * An inspector for {@linkcode rehearse}: watches the traffic while the run goes, and reads
 * the final state once it is over.
 *
 * @param s The sandbox (from `rehearse`).
 * @returns The inspector; its `done()` answers the {@linkcode Observation}.
 *
 * @example
 * ```ts ignore
 * import { observeSandbox } from "./observe.ts";
 * const r = await rehearse(prepared, { inspect: observeSandbox });
 * console.log(r.inspection?.history.length);
 * ```
 */
export function observeSandbox(s: SandboxAccess): Inspector<Observation> {
  const history: TrafficState[] = [];
  const ns = encodeURIComponent(s.namespace);
  let last = "";
  const record = () => {
    const state = snapshot(s.clock, routes, services);
    const key = JSON.stringify(state.services);
    if (key === last) return;
    last = key;
    history.push(state);
  };
  const routes = new WatchedKind(
    `${s.url}/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes?watch=true`,
    s.token,
    record,
  );
  const services = new WatchedKind(
    `${s.url}/api/v1/namespaces/${ns}/services?watch=true`,
    s.token,
    record,
  );
  return {
    async done(): Promise<Observation> {
      const final = await finalState(s);
      await Promise.all([routes.stop(), services.stop()]);
      return { history, ...final, endMs: s.clock.now() };
    },
  };
}
