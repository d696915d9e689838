/**
 * What a rehearsal's sandbox showed, seen from outside as a client sees a cluster: the
 * traffic of every service over the run (the HTTPRoutes' weights and the Services'
 * selectors), when each version first came to a slot of each service, and the final state
 * (Deployments and their readiness, Leases, the seeded Secrets' secret values — passwords,
 * tokens, keys — which must appear in no artefact). It relies on nothing the pipeline says
 * about itself.
 *
 * Exact on any clock, a virtual one above all (whose time jumps as soon as everything
 * waits, so a change stamped when a watch event happens to arrive may be stamped minutes
 * late): the run is given a clock ({@linkcode Inspector.clock}) that, when an API request
 * that writes ends, keeps the time still until the observer has read the routes, Services
 * and Deployments again (and the writer goes on after that); watches (resumed from the
 * last resourceVersion when the server ends them) catch whatever else writes. The changes
 * are replayed in resourceVersion order, each stamped at the earliest time it or a later
 * change was learned (a change is never made after a later one is known).
 * @module
 */
import type { Clock, Release } from "../clock/mod.ts";
import type { Inspector, SandboxAccess } from "../targets/rehearse.ts";
import { finalState } from "./final_state.ts";
import { ChangeLog, type Json, KINDS, obj, rvOf, str } from "./change_log.ts";
export type { LeaseState, SlotState } from "./final_state.ts";
import type { LeaseState, SlotState } from "./final_state.ts";

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
  /** The run's clock when the change was made (epoch ms). */
  readonly atMs: number;
  /** By service name. */
  readonly services: Readonly<Record<string, ServiceTraffic>>;
}

/**
 * Everything observed of one rehearsal's sandbox.
 *
 * @example
 * ```ts
 * import type { Observation } from "./observe.ts";
 * const o: Observation = { history: [], deployedAt: {}, slots: [], leases: [], secrets: [], endMs: 0 };
 * ```
 */
export interface Observation {
  /** Traffic after each change, in order (the first: before the run moved anything). */
  readonly history: readonly TrafficState[];
  /**
   * By service, then version (the slot Deployment's pod template's `version` label): when
   * that version was first seen on a slot of the service (epoch ms of the run's clock).
   */
  readonly deployedAt: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Every slot Deployment at the end. */
  readonly slots: readonly SlotState[];
  /** Every Lease in the namespace at the end. */
  readonly leases: readonly LeaseState[];
  /** The values of the namespace's Secrets (decoded): they must appear in no artefact. */
  readonly secrets: readonly string[];
  /** The run's clock at the end (epoch ms). */
  readonly endMs: number;
}

/**
 * The requests of `lib/kubernetes`' client that can change a Deployment, a Service or an
 * HTTPRoute: its generic object writes (hold names `apply`, `patch`, `create`, `delete`,
 * `replace`). Its typed APIs write only Leases (`coordination.*`, the lock's renewals, every
 * few seconds of a run) and Events (`core.*`): reading the cluster after those would only
 * repeat the last read.
 */
const WRITE = /^(apply|patch|create|delete|replace)$/;

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

function traffic(
  routes: ReadonlyMap<string, Json>,
  services: ReadonlyMap<string, Json>,
): Record<string, ServiceTraffic> {
  const out: Record<string, ServiceTraffic> = {};
  for (const [name, svc] of services) {
    const selector = obj(obj(svc.spec).selector);
    // A service's own Service selects a slot and is not itself a slot's Service.
    if (str(obj(obj(svc.metadata).labels).slot) !== null || str(selector.slot) === null) continue;
    out[name] = { weights: null, selector: str(selector.slot) };
  }
  for (const [name, route] of routes) {
    out[name] = { weights: routeWeights(route), selector: out[name]?.selector ?? null };
  }
  return out;
}

/** A slot Deployment's service and version (its pod template's labels first). */
function slotVersion(d: Json): { service: string; version: string } | undefined {
  const labels = obj(obj(d.metadata).labels);
  const template = obj(obj(obj(obj(d.spec).template).metadata).labels);
  const service = str(labels.service) ?? str(template.service);
  const version = str(template.version) ?? str(labels.version);
  return service && str(labels.slot) !== null && version ? { service, version } : undefined;
}

/** The observer of one sandbox: its change log and watches. */
class Observer {
  readonly log = new ChangeLog();
  readonly paths: Record<keyof typeof KINDS, string>;
  #stopped = false;
  #controller = new AbortController();
  #watches: Promise<void>[] = [];
  /** The readers of the watch streams being read. */
  readonly #readers = new Set<ReadableStreamDefaultReader<Uint8Array>>();
  /** The resourceVersion of the first read: the state before the run. */
  #initialRv = -1;

  constructor(readonly s: SandboxAccess) {
    const ns = encodeURIComponent(s.namespace);
    this.paths = {
      routes: KINDS.routes.replace("NS", ns),
      services: KINDS.services.replace("NS", ns),
      deployments: KINDS.deployments.replace("NS", ns),
    };
  }

  async #get(path: string): Promise<Json> {
    const res = await this.s.fetch(path);
    if (!res.ok) {
      const text = await res.text();
      throw new Error(
        `Cannot read ${path} from the sandbox: HTTP ${res.status} ${text.slice(0, 200)}`,
      );
    }
    return (await res.json()) as Json;
  }

  /**
   * Waits (up to `limitMs` of real time) until every watch has delivered the changes made
   * before now, so that a final read does not stand in for events still on their way (each
   * change then keeps its own stamp). Past the limit the final read records what is left.
   */
  caughtUp(limitMs: number): Promise<void> {
    return this.s.clock.track(
      "simulate: letting the watches catch up",
      (async () => {
        const kinds = Object.keys(this.paths) as (keyof typeof KINDS)[];
        // Per kind, its newest object's resourceVersion (a list's own is the cluster's).
        const rvs = (await Promise.all(kinds.map((k) => this.#get(this.paths[k])))).map((list) =>
          Math.max(0, ...((list.items as Json[] | undefined) ?? []).map(rvOf))
        );
        const deadline = performance.now() + limitMs;
        while (kinds.some((k, i) => (this.log.latest[k] ?? 0) < rvs[i]!)) {
          if (performance.now() > deadline || this.#stopped) return;
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
  }

  /** Reads every kind again, the clock held. */
  refresh(): Promise<void> {
    return this.s.clock.track(
      "simulate: reading the sandbox",
      (async () => {
        const kinds = Object.keys(this.paths) as (keyof typeof KINDS)[];
        const lists = await Promise.all(kinds.map((k) => this.#get(this.paths[k])));
        const now = this.s.clock.now();
        lists.forEach((list, i) =>
          this.log.list(kinds[i]!, (list.items as Json[] | undefined) ?? [], rvOf(list), now)
        );
        if (this.#initialRv < 0) this.#initialRv = Math.min(...lists.map(rvOf));
      })(),
    );
  }

  /** Watches every kind, resuming from the newest resourceVersion when a stream ends. */
  watch(): void {
    for (const kind of Object.keys(this.paths) as (keyof typeof KINDS)[]) {
      this.#watches.push(
        this.#follow(kind).catch((e) => {
          this.following[kind] = `failed: ${e}`;
        }),
      );
    }
  }

  /** What each watch is doing (for a stuck rehearsal's message). */
  readonly following: Record<string, string> = {};

  async #follow(kind: keyof typeof KINDS): Promise<void> {
    let n = 0;
    while (!this.#stopped) {
      this.following[kind] = `fetching #${++n}`;
      const res = await this.s.fetch(
        `${this.paths[kind]}?watch=true&resourceVersion=${
          this.log.latest[kind] ?? 0
        }&timeoutSeconds=31536000`,
        { signal: this.#controller.signal },
      );
      if (!res.ok || !res.body || this.#stopped) {
        this.following[kind] = `HTTP ${res.status}, cancelling #${n}`;
        await res.body?.cancel();
        this.following[kind] = `HTTP ${res.status}, ended`;
        return;
      }
      this.following[kind] = `reading #${n}`;
      const reader = res.body.getReader();
      this.#readers.add(reader);
      try {
        await this.#read(kind, reader);
      } finally {
        this.#readers.delete(reader);
      }
      this.following[kind] = `stream #${n} ended`;
    }
    this.following[kind] = `stopped`;
  }

  /** Reads one watch stream to its end, each event into the log. */
  async #read(kind: keyof typeof KINDS, reader: ReadableStreamDefaultReader<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done || this.#stopped) return;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === "") continue;
        const event = JSON.parse(line) as { type: string; object: Json };
        if (!["ADDED", "MODIFIED", "DELETED"].includes(event.type)) continue;
        this.log.add(kind, event.type, event.object, this.s.clock.now());
      }
    }
  }

  /**
   * Ends every watch. Each stream's reader is cancelled: aborting the fetch is not enough,
   * since Deno (2.9) holds a request's own signal weakly from the one given to `fetch` —
   * once the garbage collector has taken it, an abort no longer ends the response body,
   * and a watch would be read forever (a simulation stopped at about its 15th run).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#controller.abort();
    for (const reader of this.#readers) reader.cancel().catch(() => {});
    await Promise.all(this.#watches);
  }

  /** The traffic after each change, and when each version came to each service. */
  history(): Pick<Observation, "history" | "deployedAt"> {
    const objects = { routes: new Map(), services: new Map(), deployments: new Map() } as Record<
      keyof typeof KINDS,
      Map<string, Json>
    >;
    const history: TrafficState[] = [];
    const deployedAt: Record<string, Record<string, number>> = {};
    let last = "";
    const note = (atMs: number) => {
      const services = traffic(objects.routes, objects.services);
      const key = JSON.stringify(services);
      if (key !== last) history.push({ atMs, services });
      last = key;
    };
    const changes = this.log.ordered();
    let i = 0;
    const apply = (c: (typeof changes)[number]) => {
      if (c.object === null) objects[c.kind].delete(c.name);
      else objects[c.kind].set(c.name, c.object);
      const sv = c.kind === "deployments" && c.object ? slotVersion(c.object) : undefined;
      if (sv) (deployedAt[sv.service] ??= {})[sv.version] ??= c.atMs;
    };
    // The state before the run (as first read), then every change after it.
    for (; i < changes.length && changes[i]!.rv <= this.#initialRv; i++) apply(changes[i]!);
    note(changes[0]?.atMs ?? this.s.clock.now());
    for (; i < changes.length; i++) {
      apply(changes[i]!);
      if (changes[i]!.kind !== "deployments") note(changes[i]!.atMs);
    }
    return { history, deployedAt };
  }
}

/**
 * A clock that is `clock` in every way, except that when a request that writes to the
 * cluster ends, its time stays still until `after` (the observer's reads) is done.
 */
function refreshingClock(clock: Clock, after: () => Promise<void>): Clock {
  const hold = (what: string): Release => {
    const release = clock.hold(what);
    if (!WRITE.test(what)) return release;
    return () => {
      const reading = clock.hold("simulate: reading the sandbox after a write");
      release();
      after().catch(() => {}).finally(reading);
    };
  };
  return {
    kind: clock.kind,
    scale: clock.scale,
    now: () => clock.now(),
    since: (stamp) => clock.since(stamp),
    sleep: (ms, o) => clock.sleep(ms, o),
    schedule: (ms, fn, o) => clock.schedule(ms, fn, o),
    timeout: (ms) => clock.timeout(ms),
    hold,
    async track(what, work) {
      if (!WRITE.test(what)) return await clock.track(what, work);
      // The writer goes on once the cluster has been read: its next write comes after.
      const release = clock.hold(what);
      try {
        return await work;
      } finally {
        await after().catch(() => {});
        release();
      }
    },
  };
}

/**
 * How long (real ms) `done()` lets the watches deliver changes already made: a local
 * stream's events arrive in milliseconds; a machine busy enough to take longer than this
 * only loses their own stamps (the final read still records the state).
 */
const CATCH_UP_MS = 10_000;

/**
 * An inspector for {@linkcode rehearse}: follows the traffic while the run goes, and reads
 * the final state once it is over. Give the run its {@linkcode Inspector.clock}: without
 * it, changes are stamped when their watch events arrive (late on a virtual clock).
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
  const observer = new Observer(s);
  const ready = observer.refresh().then(() => observer.watch());
  let step = "watching";
  return {
    ready,
    clock: refreshingClock(s.clock, () => observer.refresh()),
    where: () => `observer: ${step}; watches: ${JSON.stringify(observer.following)}`,
    async done(): Promise<Observation> {
      step = "waiting for the first read";
      await ready;
      step = "letting the watches catch up";
      await observer.caughtUp(CATCH_UP_MS);
      step = "reading routes, Services and Deployments";
      await observer.refresh();
      step = "reading the final state";
      const final = await finalState(s);
      step = "stopping its watches";
      await observer.stop();
      step = "done";
      return {
        ...observer.history(),
        ...final,
        endMs: s.clock.now(),
      };
    },
  };
}
