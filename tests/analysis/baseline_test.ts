/**
 * Canary-versus-baseline comparisons and the numerical helpers under them.
 * @module
 */
import assert from "node:assert/strict";
import {
  mannWhitney,
  mannWhitneySorted,
  mergeSorted,
  proportionDifference,
} from "../../lib/analysis/baseline.ts";
import { erfc, logSumExp, normalUpperTail, oddsShift } from "../../lib/analysis/stats.ts";
import { seededRandom } from "../../lib/random/mod.ts";

Deno.test("normalUpperTail() matches known quantiles; erfc() is symmetric", () => {
  for (
    const [z, p] of [[0, 0.5], [1.6448536, 0.05], [2.0537489, 0.02], [2.3263479, 0.01], [
      3.7190165,
      0.0001,
    ]] as const
  ) {
    assert.ok(Math.abs(normalUpperTail(z) - p) / p < 1e-4, `z=${z}: ${normalUpperTail(z)}`);
  }
  assert.ok(Math.abs(erfc(-1) - (2 - erfc(1))) < 1e-12);
  assert.equal(logSumExp([]), -Infinity);
  assert.ok(Math.abs(logSumExp([1000, 1000]) - (1000 + Math.log(2))) < 1e-9, "no overflow");
  assert.ok(oddsShift(0.9, 100) < 1 && oddsShift(0.01, 1 / 1000) > 0);
});

const latencies = (rnd: ReturnType<typeof seededRandom>, n: number, shiftMs = 0) =>
  Array.from({ length: n }, () => rnd.lognormal(Math.log(300), 0.5) + shiftMs);

Deno.test("mannWhitney() fails a +500 ms latency shift and rarely flags identical distributions", () => {
  const rnd = seededRandom("mann-whitney");
  const shifted = mannWhitney(latencies(rnd, 50, 500), latencies(rnd, 50));
  assert.ok(shifted.pValue < 0.02, `p=${shifted.pValue}`);
  // Identical distributions: at α = 0.02, about 2% of 1000 comparisons flag by chance.
  let flagged = 0;
  for (let i = 0; i < 1000; i++) {
    if (mannWhitney(latencies(rnd, 40), latencies(rnd, 40)).pValue < 0.02) flagged++;
  }
  assert.ok(flagged <= 35, `${flagged} of 1000 identical pairs flagged at α 0.02`);
  // A faster canary is never "worse" (one-sided).
  assert.ok(mannWhitney(latencies(rnd, 50), latencies(rnd, 50, 500)).pValue > 0.5);
});

Deno.test("mannWhitney() handles ties and empty sides without inventing evidence", () => {
  assert.ok(Number.isNaN(mannWhitney([], [1, 2, 3]).pValue));
  assert.ok(Number.isNaN(mannWhitney([5, 5, 5], [5, 5, 5]).pValue), "all tied: no evidence");
  const tied = mannWhitney([2, 2, 3, 3, 3, 4], [1, 1, 2, 2, 2, 3]);
  assert.ok(tied.pValue > 0 && tied.pValue < 0.1, `p=${tied.pValue}`);
  // Exactly: U of [3] over [1, 2] is 2 (it beats both).
  assert.equal(mannWhitney([3], [1, 2]).statistic, 2);
});

Deno.test("proportionDifference() flags 3% against 0.05% errors and not equal rates", () => {
  const worse = proportionDifference({ events: 30, trials: 1000 }, { events: 10, trials: 20_000 });
  assert.ok(worse.pValue < 0.001, `p=${worse.pValue}`);
  const same = proportionDifference({ events: 5, trials: 1000 }, { events: 100, trials: 20_000 });
  assert.ok(same.pValue > 0.3, `p=${same.pValue}`);
  assert.equal(
    proportionDifference({ events: 0, trials: 10 }, { events: 0, trials: 10 }).pValue,
    1,
  );
  assert.ok(
    Number.isNaN(proportionDifference({ events: 0, trials: 0 }, { events: 0, trials: 9 }).pValue),
  );
});

/** The textbook ranking (every value ranked in one sorted list): the oracle. */
function rankedU(canary: number[], baseline: number[]) {
  const all = [
    ...canary.map((v) => ({ v, c: true })),
    ...baseline.map((v) => ({ v, c: false })),
  ].sort((a, b) => a.v - b.v);
  let rankSum = 0, ties = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const t = j - i + 1;
    ties += t * t * t - t;
    for (let k = i; k <= j; k++) if (all[k]!.c) rankSum += (i + j + 2) / 2;
    i = j + 1;
  }
  return { u: rankSum - canary.length * (canary.length + 1) / 2, ties };
}

Deno.test("mannWhitney() (merged sorted sides) gives the textbook U and z, ties included", () => {
  const rnd = seededRandom("mann-whitney-oracle");
  for (let k = 0; k < 400; k++) {
    const spread = [1, 4, 50, 1e6][k % 4]!; // heavy ties ... almost none
    const a = Array.from({ length: 1 + rnd.int(200) }, () => rnd.int(spread + 1));
    const b = Array.from({ length: 1 + rnd.int(200) }, () => rnd.int(spread + 1) + (k % 3));
    const oracle = rankedU(a, b);
    const got = mannWhitney(a, b);
    assert.equal(got.statistic, oracle.u, `case ${k}`);
    const n = a.length + b.length;
    const variance = (a.length * b.length / 12) * ((n + 1) - oracle.ties / (n * (n - 1)));
    if (variance > 0) {
      const z = (oracle.u - a.length * b.length / 2 - 0.5) / Math.sqrt(variance);
      assert.ok(Math.abs(got.z - z) < 1e-9, `case ${k}: z ${got.z} vs ${z}`);
    } else assert.ok(Number.isNaN(got.z));
  }
});

Deno.test("mergeSorted() of sorted looks equals sorting them together; mannWhitneySorted agrees", () => {
  const rnd = seededRandom("merge");
  const looks = Array.from(
    { length: 6 },
    (_, i) => Float64Array.from({ length: i * 37 }, () => rnd.int(1000)).sort(),
  );
  const merged = mergeSorted(looks);
  const all = Float64Array.from(looks.flatMap((l) => [...l])).sort();
  assert.deepEqual([...merged], [...all]);
  assert.equal(mergeSorted([]).length, 0);
  const other = Float64Array.from({ length: 300 }, () => rnd.int(1000) + 40).sort();
  assert.deepEqual(mannWhitneySorted(merged, other), mannWhitney([...all], [...other]));
});
