/**
 * Canary-versus-baseline comparisons and the numerical helpers under them.
 * @module
 */
import assert from "node:assert/strict";
import { mannWhitney, proportionDifference } from "../../lib/analysis/baseline.ts";
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
