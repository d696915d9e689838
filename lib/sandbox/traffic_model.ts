/**
 * `TrafficModel`: the sandbox's traffic on a virtual clock, drawn instead of sent. Time is
 * cut into 1-second buckets; for each Ready pod, a bucket's requests are a Poisson draw at
 * the pod's rate (its service's expected rate split over the entry points' weights and the
 * Ready pods), its errors a binomial draw at its version's error rate, its latencies
 * log-normal draws from its version's distribution — faults shift both from their onset.
 * Every draw comes from a generator seeded by (seed, pod series, bucket), so the same seed
 * and the same routing history give the same numbers, however often anyone measures.
 *
 * Nothing is scheduled: buckets are drawn lazily (on `observe`, `measure`, `sent`) from a
 * history of routing plans. Per bucket only the pods' request and error counts are kept
 * (one hour: a few hundred KiB); latencies are drawn again when measured, at most a few
 * hundred per pod and bucket (each then stands for its share of the bucket's requests).
 * @module
 */
import type { Api } from "./api.ts";
import type { Clock } from "../clock/mod.ts";
import { type Random, seededRandom } from "../random/mod.ts";
import { matchesLabels, parseLabelSelector } from "./selectors.ts";
import { checkMeasureQuery, type Measurement, parseDuration } from "./measurements.ts";
import {
  faultedProfile,
  type FaultSpec,
  lognormalOf,
  type ServiceProfile,
} from "./traffic_faults.ts";
import type { MeasureQuery, TrafficSource } from "./traffic.ts";
import { planTraffic, type PodPlan, type TrafficRates, VersionHistory } from "./traffic_plan.ts";
import { latencySummary } from "./traffic_stats.ts";

export type { PodPlan, TrafficRates } from "./traffic_plan.ts";

/** The length of a traffic bucket, target ms. */
export const BUCKET_MS = 1000;
/** How far back measurements reach (longer windows are cut to it), target ms. */
export const RETENTION_MS = 3_600_000;
const RETAINED = RETENTION_MS / BUCKET_MS;
/** Latencies drawn per measurement at most (spread over its pods and buckets). */
const LATENCY_BUDGET = 12_000;
const MAX_PER_BUCKET = 256;
const MIN_PER_BUCKET = 4;
const LATENCY_SALT = 0x5bd1e995;

/** Options of the {@linkcode TrafficModel}. */
export interface TrafficModelOptions {
  /** The sandbox's clock (virtual, usually; any clock works). */
  readonly clock: Clock;
  /** The run's seed: the same seed and routing history give the same numbers. */
  readonly seed: number | string;
  /** The scenario's faults (`parseScenario(text, { seed })`). */
  readonly faults?: readonly FaultSpec[];
  /** Expected traffic per namespace and service (`trafficRatesOf(seed)`). */
  readonly rates?: TrafficRates;
  /** Requests per second of a service without an expected rate (default 50). */
  readonly defaultRate?: number;
  /**
   * Versions per `namespace|image` deployed before this sandbox started (never faulted).
   * Omitted: what the store's Deployments run when the model is made.
   */
  readonly versions?: Readonly<Record<string, readonly string[]>>;
}

interface Segment {
  readonly at: number;
  readonly pods: readonly PodPlan[];
  readonly signature: string;
}

interface Bucket {
  readonly index: number;
  readonly pods: readonly PodPlan[];
  readonly n: Uint32Array;
  readonly errors: Uint32Array;
}

/** What the model keeps, for a test of its memory. */
export interface TrafficModelStorage {
  /** Buckets kept (at most one hour's). */
  buckets: number;
  /** Routing plans kept. */
  segments: number;
  /** Pod-bucket counts kept. */
  counts: number;
}

function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ c;
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Successes in `n` trials of probability `p`: exact (geometric skips) unless n·p is large. */
function binomial(random: Random, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  if (n * p > 100) return random.binomial(n, p);
  const logq = Math.log1p(-p);
  let k = 0;
  for (let i = 0;;) {
    i += Math.floor(Math.log(1 - random.next()) / logq) + 1;
    if (i > n) return k;
    k++;
  }
}

/**
 * Drawn traffic for a virtual clock (see the module doc). Construct it with the sandbox's
 * API; call `observe()` after each controller pass; `measure()` answers the measurements
 * endpoint.
 *
 * @example
 * ```ts
 * import { TrafficModel } from "./traffic_model.ts";
 * import { Store } from "./store.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const model = new TrafficModel({ store: new Store() }, { clock: virtualClock({ startMs: 0 }), seed: 1 });
 * model.start();
 * console.assert(model.measure("shop", { window: "60s" }).requests === 0);
 * ```
 */
export class TrafficModel implements TrafficSource {
  #api: Pick<Api, "store">;
  #clock: Clock;
  #seed: number;
  #faults: readonly FaultSpec[];
  #rates: TrafficRates;
  #defaultRate: number;
  #versions: VersionHistory;
  #segments: Segment[] = [];
  #buckets: Bucket[] = [];
  #next: number | undefined;
  #rv = -1;
  #sent = 0;

  /** @param api The sandbox's API (its store). @param options See {@linkcode TrafficModelOptions}. */
  constructor(api: Pick<Api, "store">, options: TrafficModelOptions) {
    this.#api = api;
    this.#clock = options.clock;
    this.#seed = seededRandom(options.seed).next() * 4294967296 >>> 0;
    this.#faults = options.faults ?? [];
    this.#rates = options.rates ?? {};
    this.#defaultRate = options.defaultRate ?? 50;
    if (!(this.#defaultRate >= 0 && Number.isFinite(this.#defaultRate))) {
      throw new RangeError(`Cannot use default rate ${options.defaultRate}: must be a number >= 0`);
    }
    this.#versions = new VersionHistory(api, options.versions);
  }

  /** Begin: take the routing as it is now. Nothing is scheduled. */
  start(): void {
    this.observe();
  }

  /** Nothing runs in the background. */
  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** Requests drawn so far (up to the last whole second). */
  get sent(): number {
    this.#materialize(this.#clock.now());
    return this.#sent;
  }

  /** What is kept now. */
  storage(): TrafficModelStorage {
    return {
      buckets: this.#buckets.length,
      segments: this.#segments.length,
      counts: this.#buckets.reduce((n, b) => n + b.n.length, 0),
    };
  }

  /** Follow the routing: a changed plan starts a new segment now; past buckets are drawn. */
  observe(): void {
    const now = this.#clock.now();
    this.#materialize(now);
    const rv = this.#api.store.resourceVersion;
    if (rv === this.#rv) return;
    this.#rv = rv;
    this.#versions.update(this.#api, now);
    const pods = planTraffic(this.#api, {
      rates: this.#rates,
      defaultRate: this.#defaultRate,
      versions: this.#versions,
    });
    const signature = pods.map((p) => `${p.hash}:${p.rate}:${p.labels.pod}:${p.deployedAt}`)
      .join(",");
    const last = this.#segments.at(-1);
    if (last?.signature === signature) return;
    if (last?.at === now) this.#segments.pop();
    if (this.#segments.at(-1)?.signature === signature) return;
    this.#segments.push({ at: now, pods, signature });
  }

  /** The pods' plans of one bucket, with each pod's mean requests (time-weighted). */
  #bucketPlan(index: number): { pods: PodPlan[]; lambdas: number[] } {
    const start = index * BUCKET_MS, end = start + BUCKET_MS;
    const byHash = new Map<number, { plan: PodPlan; lambda: number }>();
    for (let i = 0; i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      const until = this.#segments[i + 1]?.at ?? Infinity;
      const overlap = Math.min(end, until) - Math.max(start, seg.at);
      if (overlap <= 0) continue;
      for (const plan of seg.pods) {
        const known = byHash.get(plan.hash);
        const lambda = (known?.lambda ?? 0) + (plan.rate * overlap) / 1000;
        byHash.set(plan.hash, { plan, lambda });
      }
    }
    const entries = [...byHash.values()];
    return { pods: entries.map((e) => e.plan), lambdas: entries.map((e) => e.lambda) };
  }

  #profile(plan: PodPlan, index: number): ServiceProfile {
    const mid = index * BUCKET_MS + BUCKET_MS / 2;
    const since = plan.deployedAt === undefined ? undefined : mid - plan.deployedAt;
    return faultedProfile(plan.base, this.#faults, since, plan.service);
  }

  /** Draw every whole bucket before `now` not drawn yet; drop what is out of retention. */
  #materialize(now: number): void {
    const upTo = Math.floor(now / BUCKET_MS);
    if (this.#segments.length === 0) {
      this.#next = upTo;
      return;
    }
    let next = this.#next ?? upTo;
    if (upTo - next > RETAINED) {
      // Nobody can measure that far back: count the expected requests only.
      const skipTo = upTo - RETAINED;
      for (let b = next; b < skipTo; b++) {
        this.#sent += Math.round(this.#bucketPlan(b).lambdas.reduce((a, x) => a + x, 0));
      }
      next = skipTo;
    }
    for (let b = next; b < upTo; b++) {
      const { pods, lambdas } = this.#bucketPlan(b);
      if (pods.length === 0) continue;
      const n = new Uint32Array(pods.length), errors = new Uint32Array(pods.length);
      pods.forEach((plan, i) => {
        const random = seededRandom(mix(this.#seed, plan.hash, b));
        n[i] = random.poisson(lambdas[i]!);
        errors[i] = binomial(random, n[i]!, this.#profile(plan, b).errorRate);
        this.#sent += n[i]!;
      });
      this.#buckets.push({ index: b, pods, n, errors });
    }
    this.#next = upTo;
    this.#prune(upTo);
  }

  #prune(upTo: number): void {
    const first = upTo - RETAINED;
    let drop = 0;
    while (drop < this.#buckets.length && this.#buckets[drop]!.index < first) drop++;
    if (drop) this.#buckets.splice(0, drop);
    const from = first * BUCKET_MS;
    let keep = 0;
    while (keep + 1 < this.#segments.length && this.#segments[keep + 1]!.at <= from) keep++;
    if (keep) this.#segments.splice(0, keep);
  }

  /**
   * Counts and statistics of a namespace's drawn requests over the last whole seconds of
   * the window (at most one hour): requests, errors, error rate, p95, and when asked the
   * requests slower than `over` ms and up to `samples` latencies.
   *
   * @throws {RangeError} For a bad window, selector, `over` or `samples`.
   */
  measure(namespace: string, q: MeasureQuery): Measurement {
    const windowMs = parseDuration(q.window);
    checkMeasureQuery(q);
    const selector = q.labelSelector ? parseLabelSelector(q.labelSelector) : [];
    this.observe();
    const toB = Math.floor(this.#clock.now() / BUCKET_MS);
    const span = Math.min(RETAINED, Math.max(1, Math.round(windowMs / BUCKET_MS)));
    const fromB = toB - span;
    const matches = new Map<PodPlan, boolean>();
    const hits: { bucket: Bucket; i: number }[] = [];
    let requests = 0, errors = 0;
    for (const bucket of this.#bucketsFrom(fromB)) {
      bucket.pods.forEach((plan, i) => {
        if (plan.namespace !== namespace || bucket.n[i] === 0) return;
        let match = matches.get(plan);
        if (match === undefined) matches.set(plan, match = matchesLabels(selector, plan.labels));
        if (!match) return;
        requests += bucket.n[i]!;
        errors += bucket.errors[i]!;
        hits.push({ bucket, i });
      });
    }
    const summary = latencySummary(this.#latencies(hits), q);
    return {
      requests,
      errors,
      errorRate: requests ? errors / requests : null,
      p95Ms: summary.p95Ms,
      window: q.window,
      windowMs: span * BUCKET_MS,
      from: new Date(fromB * BUCKET_MS).toISOString(),
      to: new Date(toB * BUCKET_MS).toISOString(),
      ...(summary.over !== undefined ? { over: summary.over } : {}),
      ...(summary.latencies !== undefined ? { latencies: summary.latencies } : {}),
    };
  }

  *#bucketsFrom(fromB: number): Generator<Bucket> {
    let lo = 0, hi = this.#buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#buckets[mid]!.index < fromB) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#buckets.length; i++) yield this.#buckets[i]!;
  }

  /** The hits' latencies, drawn again: the first k of each pod-bucket's own stream. */
  #latencies(hits: { bucket: Bucket; i: number }[]): { values: number[]; weights: number[] } {
    const per = Math.max(
      MIN_PER_BUCKET,
      Math.min(MAX_PER_BUCKET, Math.floor(LATENCY_BUDGET / Math.max(1, hits.length))),
    );
    const values: number[] = [], weights: number[] = [];
    for (const { bucket, i } of hits) {
      const plan = bucket.pods[i]!, n = bucket.n[i]!;
      const k = Math.min(n, per);
      const { mu, sigma } = lognormalOf(this.#profile(plan, bucket.index));
      const random = seededRandom(mix(this.#seed ^ LATENCY_SALT, plan.hash, bucket.index));
      for (let j = 0; j < k; j++) {
        values.push(random.lognormal(mu, sigma));
        weights.push(n / k);
      }
    }
    return { values, weights };
  }
}
