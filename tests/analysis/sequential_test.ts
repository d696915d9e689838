/**
 * The sequential test's math on constructed counts: early decisions on clear evidence,
 * none on little, no dilution of a late regression, and false alarms within α over
 * many seeded steps at the worst case (a rate exactly at the threshold).
 * @module
 */
import assert from "node:assert/strict";
import {
  sequentialBounds,
  sequentialStart,
  type SequentialState,
  sequentialUpdate,
  startWeight,
} from "../../lib/analysis/sequential.ts";
import { binomialLogLR } from "../../lib/analysis/stats.ts";
import { seededRandom } from "../../lib/random/mod.ts";

type Batch = readonly [trials: number, events: number];

/** The look (1-based) at which the test decided, and how; or undecided after all. */
function firstDecision(s: SequentialState, batches: readonly Batch[]) {
  for (let i = 0; i < batches.length; i++) {
    s = sequentialUpdate(s, { trials: batches[i]![0], events: batches[i]![1] });
    const b = sequentialBounds(s);
    if (b.decision !== "undecided") return { look: i + 1, decision: b.decision, state: s };
  }
  return { look: Infinity, decision: "undecided" as const, state: s };
}

/** A 15-minute step looked at every 10 s: 90 looks. */
const step = (confidence = 0.99, horizon = 90) =>
  sequentialStart({ threshold: 0.01, confidence, horizon });

Deno.test("the breach weights of a step's looks sum to 1 (the average is a test supermartingale)", () => {
  for (const h of [1, 2, 15, 90]) {
    let sum = 0;
    for (let j = 1; j <= h + 3; j++) sum += startWeight(j, h);
    assert.ok(Math.abs(sum - 1) < 1e-12, `horizon ${h}: ${sum}`);
  }
});

Deno.test("3% errors at 10 req/s breaches a 1% gate within 60 s, and no sooner than any valid test could", () => {
  // 100 requests and 3 errors every 10 s. No level-0.01 test may breach before the best
  // likelihood ratio (at the observed 3%) reaches 100: that is the earliest possible look.
  const perLook = binomialLogLR(3, 100, 0.03, 0.01);
  const earliest = Math.ceil(Math.log(100) / perLook);
  const r = firstDecision(step(), Array(90).fill([100, 3]));
  assert.equal(r.decision, "breach");
  assert.ok(r.look >= earliest && r.look <= 6, `breached at look ${r.look} (earliest ${earliest})`);
});

Deno.test("3% errors at Poisson(10 req/s): the median breach is within 60 s over 300 seeded steps", () => {
  const rnd = seededRandom("early");
  const looks: number[] = [];
  for (let i = 0; i < 300; i++) {
    const batches = Array.from({ length: 90 }, (): Batch => {
      const n = rnd.poisson(100);
      return [n, rnd.binomial(n, 0.03)];
    });
    const r = firstDecision(step(), batches);
    assert.notEqual(r.decision, "pass", "a 3% version never passes a 1% gate here");
    looks.push(r.look);
  }
  looks.sort((a, b) => a - b);
  assert.ok(looks[150]! <= 6, `median breach at look ${looks[150]}`);
  assert.ok(looks[285]! <= 18, `95th percentile at look ${looks[285]}`);
});

Deno.test("a clearly healthy version passes early; little evidence (3 requests a look) decides nothing", () => {
  const healthy = firstDecision(step(), Array(90).fill([100, 0]));
  assert.equal(healthy.decision, "pass");
  assert.ok(healthy.look <= 9, `passed at look ${healthy.look}`);
  // 3 requests a look, no errors, for the whole step: 270 requests cannot show < 1% at 99%.
  const thin = firstDecision(step(), Array(90).fill([3, 0]));
  assert.equal(thin.decision, "undecided");
  // ... and no requests at all never pass, whatever the number of looks.
  const none = firstDecision(step(), Array(1000).fill([0, 0]));
  assert.equal(none.decision, "undecided");
  assert.equal(sequentialBounds(none.state).passLogE, 0);
});

Deno.test("a late regression after 10 healthy minutes is caught within 2 looks (no dilution)", () => {
  // 1-minute looks at 10 req/s: 10 healthy minutes (0.05% errors), then 3% errors.
  const batches: Batch[] = [...Array(10).fill([600, 0]), ...Array(5).fill([600, 18])];
  let s = sequentialStart({ threshold: 0.01, confidence: 0.99, horizon: 15 });
  let breachedAt = Infinity;
  batches.forEach(([trials, events], i) => {
    s = sequentialUpdate(s, { trials, events });
    if (breachedAt === Infinity && sequentialBounds(s).breachLogE >= Math.log(100)) {
      breachedAt = i + 1;
    }
  });
  assert.ok(breachedAt <= 12, `caught at look ${breachedAt}, onset at look 11`);
  // The same data on one cumulative mixture (no restarts, horizon 1) never catches it.
  let cumulative = sequentialStart({ threshold: 0.01, confidence: 0.99, horizon: 1 });
  for (const [trials, events] of batches) {
    cumulative = sequentialUpdate(cumulative, { trials, events });
  }
  assert.ok(sequentialBounds(cumulative).breachLogE < Math.log(100), "diluted");
});

Deno.test("false alarms at the threshold itself stay within α over 2000 seeded 90-look steps", () => {
  // The worst case for a false breach is a rate exactly at the threshold (healthy versions
  // sit far below it): each step looks 90 times, and the chance that any look breaches is ≤ α.
  for (const confidence of [0.99, 0.95]) {
    const rnd = seededRandom(`false-alarms-${confidence}`);
    let alarms = 0;
    for (let i = 0; i < 2000; i++) {
      const batches = Array.from({ length: 90 }, (): Batch => [100, rnd.binomial(100, 0.01)]);
      if (firstDecision(step(confidence), batches).decision === "breach") alarms++;
    }
    const alpha = 1 - confidence;
    assert.ok(alarms / 2000 <= alpha, `${alarms} false breaches of 2000 at α ${alpha}`);
  }
});

Deno.test("false passes at the threshold stay within α: a version at 1% rarely passes a 1% gate", () => {
  const rnd = seededRandom("false-passes");
  let passes = 0;
  for (let i = 0; i < 2000; i++) {
    const batches = Array.from({ length: 90 }, (): Batch => [100, rnd.binomial(100, 0.01)]);
    if (firstDecision(step(), batches).decision === "pass") passes++;
  }
  assert.ok(passes / 2000 <= 0.01, `${passes} false passes of 2000`);
});

Deno.test("sequentialStart() and sequentialUpdate() refuse impossible inputs, saying what is wrong", () => {
  assert.throws(
    () => sequentialStart({ threshold: 0, confidence: 0.99, horizon: 1 }),
    /in \(0, 1\)/,
  );
  assert.throws(() => sequentialStart({ threshold: 0.01, confidence: 1, horizon: 1 }), /0\.99/);
  assert.throws(() => sequentialStart({ threshold: 0.01, confidence: 0.9, horizon: 0 }), /looks/);
  const s = step();
  assert.throws(() => sequentialUpdate(s, { trials: 3, events: 4 }), /0 <= events <= trials/);
  assert.throws(() => sequentialUpdate(s, { trials: NaN, events: 0 }), /whole numbers/);
});
