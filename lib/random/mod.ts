/**
 * Seeded randomness for simulations: a small, fast generator (SplitMix32 seeding a
 * xoshiro128**) and the draws a traffic model needs — uniform, normal, lognormal,
 * Poisson, binomial. The same seed gives the same sequence on every machine.
 *
 * ```ts
 * import { seededRandom } from "./mod.ts";
 * const a = seededRandom(42), b = seededRandom(42);
 * console.assert(a.next() === b.next());
 * ```
 * @module
 */

/**
 * A seeded generator and its draws.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./mod.ts";
 * const r = seededRandom(7);
 * const x = r.poisson(3);
 * console.assert(Number.isInteger(x) && x >= 0);
 * ```
 */
export interface Random {
  /** A uniform draw in [0, 1). */
  next(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** A standard normal draw (mean 0, sd 1). */
  normal(): number;
  /** A lognormal draw: `exp(mu + sigma * normal())`. */
  lognormal(mu: number, sigma: number): number;
  /** A Poisson draw with mean `lambda` (>= 0). */
  poisson(lambda: number): number;
  /** A binomial draw: successes in `n` trials of probability `p`. */
  binomial(n: number, p: number): number;
  /** A new generator derived from this one and a label (independent streams). */
  fork(label: string | number): Random;
}

/**
 * A 32-bit hash of a string or number (FNV-1a, then avalanche): stable stream labels.
 *
 * @param value What to hash.
 * @returns An unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { hash32 } from "./mod.ts";
 * console.assert(hash32("canary-5") === hash32("canary-5"));
 * ```
 */
export function hash32(value: string | number): number {
  const text = String(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Xoshiro implements Random {
  #s: Uint32Array;
  #spare: number | undefined;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.#s = new Uint32Array([mix(), mix(), mix(), mix()]);
  }

  #u32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  next(): number {
    return this.#u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.#spare !== undefined) {
      const v = this.#spare;
      this.#spare = undefined;
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

  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

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

  binomial(n: number, p: number): number {
    if (n <= 0 || !(p > 0)) return 0;
    if (p >= 1) return n;
    if (n * p < 30 && n <= 1000) {
      let k = 0;
      for (let i = 0; i < n; i++) if (this.next() < p) k++;
      return k;
    }
    if (n * p < 30) return Math.min(n, this.poisson(n * p));
    const x = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * this.normal());
    return Math.min(n, Math.max(0, x));
  }

  fork(label: string | number): Random {
    return new Xoshiro((this.#u32() ^ hash32(label)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A generator seeded with `seed` (any number or string).
 *
 * @param seed The seed: the same seed gives the same draws.
 * @returns The generator.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./mod.ts";
 * const r = seededRandom("run-17");
 * const latency = r.lognormal(Math.log(120), 0.5);
 * console.assert(latency > 0);
 * ```
 */
export function seededRandom(seed: number | string): Random {
  return new Xoshiro(typeof seed === "number" ? (seed >>> 0) ^ hash32(seed) : hash32(seed));
}
