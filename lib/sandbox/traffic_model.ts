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
 * history of routing plans. Per bucket the pods' request and error counts are kept (one
 * hour: a few hundred KiB). A pod-bucket's latencies (all of its requests', at most 256,
 * each then standing for its share) are drawn when first measured, on a log scale of 0.04%
 * steps (16 bits each), and kept in a pool of bounded size (16 MiB: an hour of production
 * traffic); what the pool has dropped is drawn again, to the same values. A measurement
 * merges them in a histogram: p95 and `over` without a sort, `latencies` only when asked.
 * @module
 */
import type { Api } from "./api.ts";
import type { Clock } from "../clock/mod.ts";
import { seededRandom } from "../random/mod.ts";
import { matchesLabels, parseLabelSelector } from "./selectors.ts";
import {
  checkMeasureQuery,
  CodeHistogram,
  LATENCY_CODES,
  latencyCodes,
  latencyOfCode,
  LatencyPool,
  type Measurement,
  parseDuration,
} from "./measurements.ts";
import {
  faultedProfile,
  type FaultSpec,
  lognormalOf,
  type ServiceProfile,
} from "./traffic_faults.ts";
import type { MeasureQuery, TrafficSource } from "./traffic.ts";
import {
  planTraffic,
  type PodPlan,
  SeriesRandom,
  seriesSeed,
  TRAFFIC_INPUTS,
  type TrafficRates,
  VersionHistory,
} from "./traffic_plan.ts";

export type { PodPlan, TrafficRates } from "./traffic_plan.ts";

/** The length of a traffic bucket, target ms. */
export const BUCKET_MS = 1000;
/** How far back measurements reach (longer windows are cut to it), target ms. */
export const RETENTION_MS = 3_600_000;
const RETAINED = RETENTION_MS / BUCKET_MS;
/** Latencies drawn per pod and bucket at most (each then stands for n / k requests). */
const PER_BUCKET = 256;
const LATENCY_SALT = 0x5bd1e995;
/** Latencies the pool keeps by default (2 bytes each): over an hour at ~2,000 req/s. */
const POOL_VALUES = 8 * 1024 * 1024;

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
  /**
   * Drawn latencies kept for later measurements (2 bytes each; default 8 Mi, 16 MiB). Fewer
   * only costs time: what was dropped is drawn again, to the same values.
   */
  readonly latencyCache?: number;
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
  /** Where each pod's latencies are in the pool (-1: not drawn yet). */
  at?: Float64Array;
}

/** What the model keeps, for a test of its memory. */
export interface TrafficModelStorage {
  /** Buckets kept (at most one hour's). */
  buckets: number;
  /** Routing plans kept. */
  segments: number;
  /** Pod-bucket counts kept. */
  counts: number;
  /** Drawn latencies kept (2 bytes each; at most the `latencyCache` option). */
  latencies: number;
}

/** The pod-buckets of a measurement: each bucket and the pod's index in it. */
interface Hits {
  buckets: Bucket[];
  pods: number[];
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
  #pool: LatencyPool;
  #hist = new CodeHistogram();
  #random = new SeriesRandom();

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
    this.#pool = new LatencyPool(options.latencyCache ?? POOL_VALUES, PER_BUCKET);
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
      latencies: this.#pool.kept,
    };
  }

  /** Follow the routing: a changed plan starts a new segment now; past buckets are drawn. */
  observe(): void {
    const now = this.#clock.now();
    this.#materialize(now);
    const rv = this.#api.store.lastChange(TRAFFIC_INPUTS);
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
  #bucketPlan(index: number): { pods: readonly PodPlan[]; lambdas: number[] } {
    const start = index * BUCKET_MS, end = start + BUCKET_MS;
    const segments = this.#segments;
    // The last segment that starts before the bucket ends, then back to the first in it.
    let lo = 0, hi = segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid]!.at < end) lo = mid + 1;
      else hi = mid;
    }
    let first = lo - 1;
    while (first > 0 && segments[first]!.at > start) first--;
    const lambda = (plan: PodPlan, overlap: number) => (plan.rate * overlap) / 1000;
    const overlapOf = (i: number) =>
      Math.min(end, segments[i + 1]?.at ?? Infinity) - Math.max(start, segments[i]!.at);
    if (first === lo - 1 && first >= 0) {
      // One segment covers the bucket (the usual case): its plans as they are.
      const pods = segments[first]!.pods, overlap = overlapOf(first);
      if (overlap <= 0) return { pods: [], lambdas: [] };
      return { pods, lambdas: pods.map((p) => lambda(p, overlap)) };
    }
    const byHash = new Map<number, { plan: PodPlan; lambda: number }>();
    for (let i = Math.max(0, first); i < lo; i++) {
      const overlap = overlapOf(i);
      if (overlap <= 0) continue;
      for (const plan of segments[i]!.pods) {
        const known = byHash.get(plan.hash);
        byHash.set(plan.hash, { plan, lambda: (known?.lambda ?? 0) + lambda(plan, overlap) });
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
      for (let i = 0; i < pods.length; i++) {
        const plan = pods[i]!;
        const random = this.#random.reset(seriesSeed(this.#seed, plan.hash, b));
        n[i] = random.poisson(lambdas[i]!);
        errors[i] = random.binomial(n[i]!, this.#profile(plan, b).errorRate);
        this.#sent += n[i]!;
      }
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
    // Buckets of one segment share its plans: which of them match is found once per plan list.
    const matching = new Map<readonly PodPlan[], number[]>();
    const hits: Hits = { buckets: [], pods: [] };
    let requests = 0, errors = 0;
    for (let b = this.#firstBucket(fromB); b < this.#buckets.length; b++) {
      const bucket = this.#buckets[b]!;
      let match = matching.get(bucket.pods);
      if (!match) {
        match = [];
        bucket.pods.forEach((plan, i) => {
          if (plan.namespace === namespace && matchesLabels(selector, plan.labels)) match!.push(i);
        });
        matching.set(bucket.pods, match);
      }
      for (const i of match) {
        if (bucket.n[i] === 0) continue;
        requests += bucket.n[i]!;
        errors += bucket.errors[i]!;
        hits.buckets.push(bucket);
        hits.pods.push(i);
      }
    }
    for (let h = 0; h < hits.pods.length; h++) {
      const bucket = hits.buckets[h]!, i = hits.pods[h]!, pos = this.#latencies(bucket, i);
      const n = bucket.n[i]!, k = Math.min(n, PER_BUCKET);
      this.#hist.add(this.#pool.chunk(pos), pos % this.#pool.size, k, n / k);
    }
    const { p95Ms, over } = this.#hist.summary(requests, q.over);
    return {
      requests,
      errors,
      errorRate: requests ? errors / requests : null,
      p95Ms,
      window: q.window,
      windowMs: span * BUCKET_MS,
      from: new Date(fromB * BUCKET_MS).toISOString(),
      to: new Date(toB * BUCKET_MS).toISOString(),
      ...(over !== undefined ? { over } : {}),
      ...(q.samples !== undefined ? { latencies: this.#subset(hits, requests, q.samples) } : {}),
    };
  }

  #firstBucket(fromB: number): number {
    let lo = 0, hi = this.#buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#buckets[mid]!.index < fromB) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Where a pod-bucket's latency codes are in the pool, drawn now unless kept: the first
   * min(n, 256) draws of its own stream, whenever they are drawn.
   */
  #latencies(bucket: Bucket, i: number): number {
    const at = bucket.at ??= new Float64Array(bucket.pods.length).fill(-1);
    if (this.#pool.valid(at[i]!)) return at[i]!;
    const plan = bucket.pods[i]!, k = Math.min(bucket.n[i]!, PER_BUCKET);
    const pos = at[i] = this.#pool.alloc(k);
    const chunk = this.#pool.chunk(pos), from = pos % this.#pool.size;
    const { mu, sigma } = lognormalOf(this.#profile(plan, bucket.index));
    const { offset, scale } = latencyCodes(mu, sigma), top = LATENCY_CODES - 1;
    const random = this.#random.reset(
      seriesSeed(this.#seed ^ LATENCY_SALT, plan.hash, bucket.index),
    );
    for (let j = from; j < from + k; j++) {
      const code = offset + scale * random.normal();
      chunk[j] = code <= 0 ? 0 : code >= top ? top : code;
    }
    return pos;
  }

  /**
   * A systematic, weight-proportional subset of at most `samples` of the hits' latencies,
   * in time order (all of them when they fit and each stands for one request).
   */
  #subset(hits: Hits, requests: number, samples: number): number[] {
    const out: number[] = [];
    if (samples === 0 || requests === 0) return out;
    const all = requests <= samples &&
      hits.buckets.every((b, h) => b.n[hits.pods[h]!]! <= PER_BUCKET);
    const step = requests / samples;
    let next = step / 2, seen = 0;
    for (let h = 0; h < hits.pods.length; h++) {
      const bucket = hits.buckets[h]!, i = hits.pods[h]!;
      const n = bucket.n[i]!, k = Math.min(n, PER_BUCKET), w = n / k;
      if (!all && seen + n < next) {
        seen += n; // none of this pod-bucket's latencies is picked
        continue;
      }
      const pos = this.#latencies(bucket, i), chunk = this.#pool.chunk(pos);
      for (let j = pos % this.#pool.size, end = j + k; j < end; j++) {
        if (all) {
          out.push(latencyOfCode(chunk[j]!));
          continue;
        }
        seen += w;
        while (seen >= next && out.length < samples) {
          out.push(latencyOfCode(chunk[j]!));
          next += step;
        }
      }
    }
    return out;
  }
}
