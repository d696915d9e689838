/**
 * Where drawn traffic goes, at one moment: each Ready pod's request rate (from the
 * services' expected rates, split over the entry points' backend weights and the Ready
 * pods), its healthy profile, and whether it runs the version being deployed (and since
 * when), which is what faults act on. The traffic model keeps a history of these plans,
 * and draws each pod series' requests from a {@linkcode SeriesRandom} restarted at
 * {@linkcode seriesSeed} (run seed, series, bucket).
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import { podReady } from "./replicasets.ts";
import { podImage, podVersion } from "./kubelet.ts";
import { type EntryPoint, entryPoints, readyPods, serviceSelector } from "./traffic.ts";
import { HEALTHY_PROFILE, type ServiceProfile } from "./traffic_faults.ts";
import type { ServiceTrafficSeed, TrafficRates } from "./traffic_rates.ts";

export type { TrafficRates } from "./traffic_rates.ts";
import { hash32 } from "../random/mod.ts";

type JsonMap = Record<string, unknown>;
const PODS = findResource("", "v1", "pods") as ResourceType;
const DEPLOYMENTS = findResource("apps", "v1", "deployments") as ResourceType;

/**
 * The types {@linkcode planTraffic} and {@linkcode VersionHistory.update} read: the plan
 * changes only when one of them does (`Store.lastChange`).
 *
 * @example
 * ```ts
 * import { TRAFFIC_INPUTS } from "./traffic_plan.ts";
 * console.assert(TRAFFIC_INPUTS.some((t) => t.plural === "httproutes"));
 * ```
 */
export const TRAFFIC_INPUTS: readonly ResourceType[] = [
  PODS,
  DEPLOYMENTS,
  findResource("", "v1", "services") as ResourceType,
  findResource("gateway.networking.k8s.io", "v1", "httproutes") as ResourceType,
];

/**
 * One Ready pod's share of the traffic while a plan holds.
 *
 * @example
 * ```ts
 * import type { PodPlan } from "./traffic_plan.ts";
 * const p: PodPlan = {
 *   namespace: "shop", hash: 1, labels: { pod: "api-blue-x", version: "1.0.0" }, rate: 20,
 *   service: "api", base: { errorRate: 0.0005, medianMs: 60, p95Ms: 140 }, deployedAt: undefined,
 * };
 * ```
 */
export interface PodPlan {
  /** The pod's namespace. */
  readonly namespace: string;
  /** A stable id of its series of draws (its labels and rank, not its random name). */
  readonly hash: number;
  /** Its labels, plus `pod` (its name) and `version`: what selectors match. */
  readonly labels: Readonly<Record<string, string>>;
  /** Requests per second of sandbox time. */
  readonly rate: number;
  /** The service it counts for (its expected rate's name): faults and profile. */
  readonly service: string;
  /** The healthy profile of that service. */
  readonly base: ServiceProfile;
  /** When its version was first deployed, if it is the version being deployed. */
  readonly deployedAt: number | undefined;
}

/**
 * The versions per `namespace|image` in the order first deployed, and when each version
 * first seen here was deployed: the newest such version is the one "being deployed"
 * (versions known from a restored state are never faulted).
 *
 * @example
 * ```ts
 * import { VersionHistory } from "./traffic_plan.ts";
 * import { Store } from "./store.ts";
 * const versions = new VersionHistory({ store: new Store() }, { "shop|web": ["1.0.0"] });
 * console.assert(versions.deployedAt("shop", "web", "1.0.0") === undefined);
 * ```
 */
export class VersionHistory {
  #lists: Record<string, string[]>;
  #introduced = new Map<string, number>();

  /**
   * @param api The store (read at once when `known` is omitted: what runs now is known).
   * @param known Versions per `namespace|image` already deployed before (not faulted).
   */
  constructor(api: Pick<Api, "store">, known?: Readonly<Record<string, readonly string[]>>) {
    this.#lists = {};
    for (const [key, list] of Object.entries(known ?? {})) this.#lists[key] = [...list];
    if (!known) this.update(api, undefined);
  }

  /** Records the versions the Deployments' templates run now (first seen at `now`). */
  update(api: Pick<Api, "store">, now: number | undefined): void {
    for (const d of api.store.scan(DEPLOYMENTS)) {
      const template = ((d.spec ?? {}) as JsonMap).template as JsonMap | undefined;
      const pod = { metadata: template?.metadata ?? {}, spec: template?.spec ?? {} };
      const key = `${meta(d).namespace}|${podImage(pod)}`;
      const version = podVersion(pod);
      const list = this.#lists[key] ??= [];
      if (list.includes(version)) continue;
      list.push(version);
      if (now !== undefined) this.#introduced.set(`${key}|${version}`, now);
    }
  }

  /** When `version` was first deployed, if it is the one being deployed; else undefined. */
  deployedAt(namespace: string, image: string, version: string): number | undefined {
    const key = `${namespace}|${image}`;
    if (this.#lists[key]?.at(-1) !== version) return undefined;
    return this.#introduced.get(`${key}|${version}`);
  }
}

interface Keyed {
  entry: EntryPoint;
  key: string;
  score: number;
}

/**
 * Which service an entry counts for: the first of its own name and its backends' `service`
 * selector labels that has an expected rate; else that label, else its name. A route named
 * for the service outranks a Service of that name, which outranks other entries (a slot's
 * own Service): only the top-ranked entries of a service carry its traffic.
 */
function keyed(api: Pick<Api, "store">, ns: string, e: EntryPoint, rates: object): Keyed {
  const labels = e.backends.map((b) => serviceSelector(api, ns, b.service)?.service)
    .filter((s): s is string => typeof s === "string");
  const key = [e.name, ...labels].find((c) => Object.hasOwn(rates, c)) ?? labels[0] ?? e.name;
  return { entry: e, key, score: e.name === key ? (e.kind === "route" ? 3 : 2) : 1 };
}

/**
 * A service's healthy profile from its expected traffic (defaults: {@linkcode HEALTHY_PROFILE};
 * a median without a p95 keeps the default's p95/median ratio).
 *
 * @param t The service's expected traffic, if any.
 * @returns Its profile (what `podBehaviour(..., { profile })` and the model use).
 *
 * @example
 * ```ts
 * import { serviceProfileOf } from "./traffic_plan.ts";
 * console.assert(serviceProfileOf({ requestsPerSecond: 1, medianMs: 30, p95Ms: 90 }).p95Ms === 90);
 * ```
 */
export function serviceProfileOf(t: ServiceTrafficSeed | undefined): ServiceProfile {
  const medianMs = t?.medianMs ?? HEALTHY_PROFILE.medianMs;
  const ratio = HEALTHY_PROFILE.p95Ms / HEALTHY_PROFILE.medianMs;
  return {
    errorRate: t?.errorRate ?? HEALTHY_PROFILE.errorRate,
    medianMs,
    p95Ms: t?.p95Ms ?? (t?.medianMs === undefined ? HEALTHY_PROFILE.p95Ms : medianMs * ratio),
  };
}

interface Share {
  pod: KObject;
  rate: number;
  service: string;
}

function namespaceShares(
  api: Pick<Api, "store">,
  ns: string,
  rates: Readonly<Record<string, ServiceTrafficSeed>>,
  defaultRate: number,
): Map<string, Share> {
  const groups = new Map<string, Keyed[]>();
  for (const k of entryPoints(api, ns).map((e) => keyed(api, ns, e, rates))) {
    const group = groups.get(k.key) ?? [];
    if (group.length && group[0]!.score > k.score) continue;
    groups.set(k.key, group.length && group[0]!.score < k.score ? [k] : [...group, k]);
  }
  const shares = new Map<string, Share>();
  for (const [key, group] of groups) {
    const perEntry = (rates[key]?.requestsPerSecond ?? defaultRate) / group.length;
    for (const { entry } of group) {
      const live = entry.backends.filter((b) => b.weight > 0)
        .map((b) => ({ weight: b.weight, pods: readyPods(api, ns, b.service) }))
        .filter((b) => b.pods.length > 0);
      const total = live.reduce((n, b) => n + b.weight, 0);
      for (const b of live) {
        const each = (perEntry * b.weight) / total / b.pods.length;
        for (const pod of b.pods) {
          const uid = String(meta(pod).uid ?? meta(pod).name);
          const share = shares.get(uid) ?? { pod, rate: 0, service: key };
          share.rate += each;
          shares.set(uid, share);
        }
      }
    }
  }
  return shares;
}

/**
 * The plan now: every Ready pod that gets traffic, with its rate and profile, in a stable
 * order. A pod's series id is its labels (without its name) and its rank among the Ready
 * pods with the same labels (by creation time, then name).
 *
 * @param api The store.
 * @param o Expected rates, the rate of a service without one, and the version history.
 * @returns The pods' plans.
 *
 * @example
 * ```ts
 * import { planTraffic, VersionHistory } from "./traffic_plan.ts";
 * import { Store } from "./store.ts";
 * const api = { store: new Store() };
 * console.assert(planTraffic(api, { rates: {}, defaultRate: 50, versions: new VersionHistory(api) }).length === 0);
 * ```
 */
export function planTraffic(
  api: Pick<Api, "store">,
  o: { rates: TrafficRates; defaultRate: number; versions: VersionHistory },
): PodPlan[] {
  const namespaces = [
    ...new Set(api.store.scan(PODS).filter(podReady).map((p) => meta(p).namespace)),
  ]
    .map(String).sort();
  const plans: PodPlan[] = [];
  for (const ns of namespaces) {
    const rates = o.rates[ns] ?? {};
    const shares = [...namespaceShares(api, ns, rates, o.defaultRate).values()];
    const labelsOf = (s: Share) => {
      const own = (meta(s.pod).labels ?? {}) as Record<string, string>;
      return { ...own, pod: String(meta(s.pod).name), version: podVersion(s.pod) };
    };
    const canon = (labels: Record<string, string>) =>
      JSON.stringify(Object.entries(labels).filter(([k]) => k !== "pod").sort());
    const born = (s: Share) => `${meta(s.pod).creationTimestamp ?? ""}|${meta(s.pod).name}`;
    // Each share's labels and sort keys once, not once per comparison.
    const keyed = shares.map((share) => {
      const labels = labelsOf(share);
      return { share, labels, canon: canon(labels), born: born(share) };
    });
    keyed.sort((a, b) =>
      a.canon < b.canon
        ? -1
        : a.canon > b.canon
        ? 1
        : a.born < b.born
        ? -1
        : a.born > b.born
        ? 1
        : 0
    );
    const ranks = new Map<string, number>();
    for (const { share: s, labels, canon: key } of keyed) {
      const id = `${ns}|${key}`;
      const rank = ranks.get(id) ?? 0;
      ranks.set(id, rank + 1);
      plans.push({
        namespace: ns,
        hash: hash32(`${id}|${rank}`),
        labels,
        rate: s.rate,
        service: s.service,
        base: serviceProfileOf(rates[s.service]),
        deployedAt: o.versions.deployedAt(ns, podImage(s.pod), podVersion(s.pod)),
      });
    }
  }
  return plans;
}

/**
 * The draws of one pod series in one bucket: a xoshiro128** stream (seeded by SplitMix32)
 * that is restarted in place for each (seed, series, bucket), so drawing a bucket allocates
 * nothing. Uniform, normal (polar method), Poisson and binomial draws.
 *
 * @example
 * ```ts
 * import { SeriesRandom } from "./traffic_plan.ts";
 * const r = new SeriesRandom();
 * const a = r.reset(7).normal(), b = r.reset(7).normal();
 * console.assert(a === b && Number.isInteger(r.reset(1).poisson(40)));
 * ```
 */
export class SeriesRandom {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;
  #spare = NaN;

  /** Restarts the stream at a 32-bit seed; returns it. */
  reset(seed: number): this {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.#a = split(), this.#b = split(), this.#c = split(), this.#d = split();
    this.#spare = NaN;
    return this;
  }

  /** A uniform draw in [0, 1). */
  next(): number {
    const b = this.#b;
    const x = Math.imul(b, 5), r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = b << 9;
    this.#c ^= this.#a;
    this.#d ^= b;
    this.#b = b ^ this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = (this.#d << 11) | (this.#d >>> 21);
    return r / 4294967296;
  }

  /** A standard normal draw. */
  normal(): number {
    if (this.#spare === this.#spare) {
      const v = this.#spare;
      this.#spare = NaN;
      return v;
    }
    let u = 0, v = 0, s = 0;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * f;
    return u * f;
  }

  /** A Poisson draw of mean `lambda` (normal above 30). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const limit = Math.exp(-lambda);
    let k = 0, p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > limit);
    return k - 1;
  }

  /** Successes in `n` trials of probability `p`: exact (geometric skips) unless n·p > 100. */
  binomial(n: number, p: number): number {
    if (n <= 0 || !(p > 0)) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - this.binomial(n, 1 - p);
    if (n * p > 100) {
      const x = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * this.normal());
      return Math.min(n, Math.max(0, x));
    }
    const logq = Math.log1p(-p);
    let k = 0;
    for (let i = 0;;) {
      i += Math.floor(Math.log(1 - this.next()) / logq) + 1;
      if (i > n) return k;
      k++;
    }
  }
}

/**
 * A 32-bit seed of (run seed, pod series, bucket): the stream a pod-bucket draws from.
 *
 * @example
 * ```ts
 * import { seriesSeed } from "./traffic_plan.ts";
 * console.assert(seriesSeed(1, 2, 3) === seriesSeed(1, 2, 3) && seriesSeed(1, 2, 3) !== seriesSeed(1, 2, 4));
 * ```
 */
export function seriesSeed(seed: number, series: number, bucket: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ series;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ bucket;
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f);
  return (h ^ (h >>> 16)) >>> 0;
}
