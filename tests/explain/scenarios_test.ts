// Every fault scenario of the sandbox, explained: for each, a real deploy under it (the real
// CLI with `--scenario`, against a sandbox of this file's own, which the runner starts on a
// virtual clock), then `explain` on its run, asserting the first cause it names, what the
// runner did, and the next commands. Each deploy runs once. Production's first deploy is every
// later one's baseline; its saved sandbox state is then copied, and two chains of deploys go
// on from it at once (two cores), each in sequence on its own copy, ordered so that each deploy
// finds what it needs (below). The crash-looping version meets a green slot never used, so the
// rollback has pods to keep evidence of. For the two staging faults that leave their slot
// running, the deploy runs against a sandbox started here and left running: the kubectl
// commands explain gives are pasted into that same cluster, as on-call would.
import assert from "node:assert/strict";
import { SCENARIOS, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import type { Explanation } from "../../lib/explain/mod.ts";
import { Rehearsal } from "../deploy/_deploy.ts";
import { explainJson, explainText, nextCommands } from "./_explain.ts";

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];

interface Step {
  scenario: string;
  env: "staging" | "production";
  version: string;
  /** The deploy's exit code. */
  code: number;
  /** Run against a sandbox started here under the scenario, left running for kubectl. */
  live?: boolean;
}

/** Production's first deploy: v1.0.0 live, the baseline of every canary (its fault is moot). */
const BASELINE: Step = {
  scenario: "migration-fails",
  env: "production",
  version: "v1.0.0",
  code: 0,
};

/**
 * Two chains from the baseline, one per copy of its sandbox. Production deploys only what
 * staging runs: a staging run that succeeds (slow-rollout, api-chaos) readies the production
 * version whose own rehearsal in staging would fail under its fault (crash-loop, metrics-down);
 * the canary faults pass blue-green staging, so each rehearses its own version there first.
 */
const CHAINS: readonly (readonly Step[])[] = [
  [
    { scenario: "slow-rollout", env: "staging", version: "v1.1.0", code: 0 },
    { scenario: "crash-loop", env: "production", version: "v1.1.0", code: 1 },
    { scenario: "api-chaos", env: "staging", version: "v1.2.0", code: 0 },
    { scenario: "metrics-down", env: "production", version: "v1.2.0", code: 1 },
    { scenario: "crashloop", env: "staging", version: "v1.7.0", code: 1, live: true },
    { scenario: "tests-fail", env: "staging", version: "v1.8.0", code: 1, live: true },
  ],
  [
    { scenario: "canary-errors", env: "production", version: "v1.3.0", code: 1 },
    { scenario: "latency", env: "production", version: "v1.4.0", code: 1 },
    { scenario: "slow", env: "production", version: "v1.5.0", code: 1 },
    { scenario: "high-error-rate", env: "production", version: "v1.6.0", code: 1 },
  ],
];

const STEPS: readonly Step[] = [BASELINE, ...CHAINS.flat()];

interface Explained {
  /** The deploy's exit code, and its output's end (for a failure's message). */
  code: number;
  output: string;
  runId: string;
  /** Where its runs and its sandbox are. */
  runsDir: string;
  sandboxDir: string;
  text: string;
  json: Explanation;
  next: string[];
  /** Each kubectl command of `next`, run while the sandbox it names ran (live steps). */
  pasted: Map<string, { code: number; stdout: string; stderr: string }>;
}

const rehearsals: Rehearsal[] = [];
globalThis.addEventListener("unload", () => {
  for (const r of rehearsals) Deno.removeSync(r.dir, { recursive: true });
});

/**
 * A live step's sandbox time per real second: a 10-minute rollout deadline takes 2.5 s. Its
 * deploy lock is leased for 120 real seconds of it (`--option lock-seconds`): on a scaled
 * clock the lease is real time, and a busy machine can stall a runner for longer than the
 * default's renew deadline (this test is about explaining the run, not about losing locks).
 */
const LIVE_SCALE = 240;
const LIVE_LOCK = ["--option", `lock-seconds=${120 * LIVE_SCALE}`];

/** Runs a step's deploy in `r`, and explains its run. */
async function run(r: Rehearsal, step: Step): Promise<Explained> {
  const extra = step.env === "production" ? CONFIRM : [];
  // The runner's own sandbox (a virtual clock) gets the scenario from the command line; a
  // sandbox started here has its own (the runner then uses it, and its clock).
  const sandbox = step.live
    ? await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: r.sandboxDir,
      scenario: step.scenario,
      timeScale: LIVE_SCALE,
      maxRealRate: 400,
    })
    : undefined;
  try {
    const d = await r.deploy(
      step.env,
      step.version,
      step.live ? [...extra, ...LIVE_LOCK] : [...extra, "--scenario", step.scenario],
    );
    const output = `${d.stdout.slice(-3000)}\n${d.stderr.slice(-2000)}`;
    const runsDir = `${r.dir}/runs`;
    const runId = d.report ? String(d.report.runId) : "(no report)";
    const text = d.report ? await explainText(runId, "--runs-dir", runsDir) : "";
    const json = d.report ? await explainJson(runId, "--runs-dir", runsDir) : {} as Explanation;
    const next = nextCommands(text);
    const pasted = new Map<string, { code: number; stdout: string; stderr: string }>();
    for (const command of next.filter((c) => sandbox && c.startsWith("kubectl "))) {
      pasted.set(command, await shell(command));
    }
    return {
      code: d.code,
      output,
      runId,
      runsDir,
      sandboxDir: r.sandboxDir,
      text,
      json,
      next,
      pasted,
    };
  } finally {
    await sandbox?.stop();
  }
}

/** Every step's run, explained (run once, on first use). */
let all: Promise<Map<string, Explained>> | undefined;
function explained(scenario: string): Promise<Explained> {
  all ??= (async () => {
    const out = new Map<string, Explained>();
    const base = await Rehearsal.create();
    rehearsals.push(base);
    out.set(BASELINE.scenario, await run(base, BASELINE));
    const copies = [base];
    for (let i = 1; i < CHAINS.length; i++) {
      const copy = await Rehearsal.create();
      rehearsals.push(copy);
      const cp = await new Deno.Command("cp", { args: ["-a", `${base.dir}/.`, copy.dir] }).output();
      assert.ok(cp.success, "copy the baseline's sandbox and runs");
      copies.push(copy);
    }
    await Promise.all(CHAINS.map(async (chain, i) => {
      for (const step of chain) out.set(step.scenario, await run(copies[i]!, step));
    }));
    return out;
  })();
  return all.then((m) => {
    const e = m.get(scenario)!;
    const step = STEPS.find((s) => s.scenario === scenario)!;
    // Each run is the one its scenario asked for: the deploy exited as expected, under it.
    assert.equal(e.code, step.code, `${scenario}: ${e.output}`);
    assert.equal(e.json.run?.target.scenario, scenario, e.text);
    assert.equal(e.json.run.environment, step.env);
    return e;
  });
}

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

/** The text with its wrapped lines joined. */
function flat(text: string): string {
  return text.replace(/\n {4,}/g, " ");
}

/** The render command explain ends with for a failed run. */
function render(e: Explained): string {
  return `deno task report render ${e.runId} --html --runs-dir ${e.runsDir}`;
}

function gate(e: Explained) {
  assert.equal(e.json.cause?.kind, "gate", e.text);
  return e.json.cause as Extract<Explanation["cause"], { kind: "gate" }>;
}

test("every fault scenario of the sandbox has its explanation test", () => {
  assert.deepEqual(STEPS.map((s) => s.scenario).sort(), Object.keys(SCENARIOS).sort());
  return Promise.resolve();
});

test("slow-rollout: the run succeeded, and its time went into the slow rollouts", async () => {
  const e = await explained("slow-rollout");
  assert.equal(e.json.run.status, "succeeded");
  assert.equal(e.json.cause, undefined);
  assert.match(e.text, /: deploy → staging @ v1\.1\.0: SUCCEEDED\n {2}succeeded in /);
  assert.match(
    e.text,
    /target: sandbox \S+\/tracktion-staging, scenario slow-rollout, virtual clock/,
  );
  // Pods of the version take 3 minutes to be Ready: every deploy stage took at least that.
  const longest = /longest stages: (deploy:\S+) (\d+)m/.exec(e.text);
  assert.ok(longest && Number(longest[2]) >= 3, e.text);
  assert.deepEqual(e.next, []);
});

test("crash-loop: the pod's reason and last log line, and the evidence the rollback kept before it scaled the slot down", async () => {
  const e = await explained("crash-loop");
  assert.equal(e.json.run.status, "rolled_back");
  const c = e.json.cause;
  assert.equal(c?.kind, "pod", e.text);
  if (c?.kind !== "pod") return;
  assert.match(c.stage, /^deploy:/);
  assert.equal(c.reason, "CrashLoopBackOff");
  assert.match(c.lastLine ?? "", /^fatal: version 1\.1\.0 crashed on start-up \(exit code 1\)$/);
  assert.equal(c.evidenceStage, "rollback");
  assert.equal(c.podsRunning, false);
  assert.ok(c.pods.length >= 1);
  for (const p of c.pods) {
    assert.equal(p.state, "CrashLoopBackOff");
    assert.ok(p.lastLines.some((l) => /crashed on start-up/.test(l)), JSON.stringify(p));
    assert.match(p.events[0] ?? "", /^BackOff/);
  }
  assert.match(e.text, /would not run \(CrashLoopBackOff\);\s+rolled back\n/);
  assert.match(e.text, /last log line: fatal: version 1\.1\.0 crashed on start-up \(exit code 1\)/);
  assert.match(e.text, /as rollback found them before scaling it down:\n {6}\S+: CrashLoopBackOff/);
  assert.match(e.text, /\n {8}\| .*crashed on start-up/);
  assert.match(e.text, /\n {8}event BackOff/);
  assert.match(
    e.text,
    /✓ rollback: succeeded\n {6}rolled back run \S+: back on version 1\.0\.0, leaving 1\.1\.0/,
  );
  // Its pods are gone: no kubectl logs to offer; the report has what they said.
  assert.deepEqual(e.next, [render(e)]);
});

test("api-chaos: a flaky Kubernetes API, retried through: the run succeeded, said in a few lines", async () => {
  const e = await explained("api-chaos");
  assert.equal(e.json.run.status, "succeeded");
  assert.equal(e.json.cause, undefined);
  assert.match(e.text, /: deploy → staging @ v1\.2\.0: SUCCEEDED\n {2}succeeded in /);
  assert.match(e.text, /scenario api-chaos, virtual clock/);
  assert.ok(e.text.trimEnd().split("\n").length <= 10, e.text);
  assert.deepEqual(e.next, []);
});

test("canary-errors: the error-rate gate at the 5% step, its values and threshold per service, the rollback", async () => {
  const e = await explained("canary-errors");
  const g = gate(e);
  assert.equal(g.stage, "canary-5");
  assert.equal(g.gate, "error_rate < 1%");
  assert.equal(g.threshold, "< 1%");
  assert.match(g.reason, /error_rate < 1% breached for service=\S+,slot=green/);
  const breached = g.targets.filter((t) => t.verdict === "breached");
  assert.ok(breached.length >= 1);
  for (const t of breached) assert.ok(t.worst! >= 1 && t.events > 0, JSON.stringify(t));
  assert.equal(g.targets.length, 4, "every service's canary, breaching or not");
  assert.match(
    e.text,
    /canary-5: 5% of traffic on the new slot for 15m\n {4}gate error_rate < 1% \(sequential, 99% confidence\)/,
  );
  assert.match(e.text, /\n {4}target +verdict +last +worst +samples +requests +errors\n/);
  assert.match(
    e.text,
    new RegExp(`\\n {4}${breached[0]!.target} +BREACHED +[0-9.]+% +[0-9.]+% `),
  );
  assert.match(e.text, /rolled back run \S+: back on version 1\.0\.0, leaving 1\.3\.0/);
  assert.match(
    e.text,
    /traffic back on blue \(version 1\.0\.0\), leaving green \(version 1\.3\.0\)/,
  );
  assert.equal(e.json.rollback.succeeded, true);
  assert.deepEqual(e.next, [render(e)]);
});

test("migration-fails: the deploy migrates directly, not as a Job, so the fault has nothing to fail: the run succeeded", async () => {
  const e = await explained("migration-fails");
  assert.match(e.text, /: deploy → production @ v1\.0\.0: SUCCEEDED\n/);
  assert.match(e.text, /approved by rehearsal approver 1, rehearsal approver 2/);
  assert.equal(e.json.run.status, "succeeded");
  assert.equal(e.json.cause, undefined);
  assert.match(e.text, /SUCCEEDED\n {2}succeeded in \S+\n/);
  assert.match(e.text, /scenario migration-fails/);
  assert.deepEqual(e.next, []);
});

test("metrics-down: the gate could not be measured (fail closed), each target without a value and why", async () => {
  const e = await explained("metrics-down");
  const g = gate(e);
  assert.equal(g.stage, "canary-5");
  assert.ok(g.targets.length >= 1 && g.targets.every((t) => t.verdict === "no value"), e.text);
  assert.ok(g.targets.every((t) => t.last === null && t.badSamples === t.samples));
  assert.match(
    e.text,
    /rolled back: canary-5: gate \S+ \S+ \S+ could not be measured; rolled back/,
  );
  assert.match(e.text, / NO VALUE +- +- .*\d {2}\S/);
  assert.deepEqual(e.next, [render(e)]);
});

test("latency: the p95 compared with the live slot's breaches at the 5% step (both under the threshold)", async () => {
  const e = await explained("latency");
  const g = gate(e);
  assert.equal(g.gate, "p95_latency < 2000ms (vs baseline)");
  assert.equal(g.method, "baseline");
  assert.match(g.reason, /the canary is worse than its baseline at 99\.99% confidence/);
  const breached = g.targets.filter((t) => t.verdict === "breached");
  assert.ok(breached.length >= 1);
  assert.ok(breached.every((t) => t.worst! < 2000), "slower, yet under the absolute threshold");
  assert.match(e.text, /\n {4}target +verdict +last +worst +samples +requests +over 2000ms\n/);
  assert.match(
    e.text,
    /gate p95_latency < 2000ms \(vs baseline\) \(baseline, 99\.99% confidence\)/,
  );
  assert.deepEqual(e.next, [render(e)]);
});

test("slow: the p95 latency gate breached, the values above 2000 ms, the baseline comparison failed too", async () => {
  const e = await explained("slow");
  const g = gate(e);
  assert.equal(g.gate, "p95_latency < 2000ms");
  const breached = g.targets.filter((t) => t.verdict === "breached");
  assert.ok(breached.length >= 1 && breached.every((t) => t.worst! >= 2000), e.text);
  assert.deepEqual(g.otherGates, ["p95_latency < 2000ms (vs baseline)"]);
  assert.match(e.text, /also failed: p95_latency < 2000ms \(vs baseline\)/);
  assert.match(e.text, / BREACHED +\d{4}ms +\d{4}ms /);
});

test("high-error-rate: the same fault as canary-errors, named the same way", async () => {
  const e = await explained("high-error-rate");
  const g = gate(e);
  assert.equal(g.gate, "error_rate < 1%");
  assert.ok(g.targets.some((t) => t.verdict === "breached" && t.worst! >= 1));
  assert.match(
    e.text,
    /ROLLED BACK\n {2}rolled back: canary-5: gate error_rate < 1% breached for /,
  );
});

test("crashloop (staging: the failed slot is kept for debugging): kubectl logs of the crashed container, which works", async () => {
  const e = await explained("crashloop");
  const c = e.json.cause;
  assert.equal(c?.kind, "pod", e.text);
  if (c?.kind !== "pod") return;
  assert.equal(c.reason, "CrashLoopBackOff");
  assert.equal(c.podsRunning, true);
  assert.match(c.lastLine ?? "", /crashed on start-up/);
  assert.match(e.text, /kept for debugging/);
  const sandboxDir = e.sandboxDir;
  const logs =
    `kubectl --kubeconfig ${sandboxDir}/kubeconfig logs ${c.pod} -n tracktion-staging --previous`;
  assert.deepEqual(e.next, [
    logs,
    `kubectl --kubeconfig ${sandboxDir}/kubeconfig describe pod ${c.pod} -n tracktion-staging`,
    render(e),
  ]);
  assert.match(pasted(e, logs), /crashed on start-up/);
  assert.match(pasted(e, e.next[1]!), new RegExp(`Name: +${c.pod}[^]*BackOff`));
});

test("tests-fail: the failed smoke tests check with its evidence, and the kubectl command its message names, which works", async () => {
  const e = await explained("tests-fail");
  const c = e.json.cause;
  assert.equal(c?.kind, "check", e.text);
  if (c?.kind !== "check") return;
  assert.equal(c.stage, "switch");
  assert.equal(c.check, "smoke tests");
  assert.match(
    c.message,
    /smoke tests failed: Job tracktion-staging\/smoke-tests-\S+ BackoffLimitExceeded/,
  );
  assert.ok(c.evidence.some(([k, v]) => k === "condition" && /BackoffLimitExceeded/.test(v)));
  assert.match(flat(e.text), /switch: required check "smoke tests" failed smoke tests failed: Job/);
  assert.match(e.text, /\n {4}failed: 1\n/);
  const job = /job\/(smoke-tests-\S+)/.exec(c.message)![1];
  const logs =
    `kubectl --kubeconfig ${e.sandboxDir}/kubeconfig logs -n tracktion-staging job/${job}`;
  assert.deepEqual(e.next, [logs, render(e)]);
  assert.match(pasted(e, logs), /\S/);
});

/** Runs a command as on-call would paste it into a shell. */
async function shell(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("sh", {
    args: ["-c", command],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** What a pasted command printed (it must have succeeded). */
function pasted(e: Explained, command: string): string {
  const out = e.pasted.get(command);
  assert.ok(out, `${command} was not run: ${[...e.pasted.keys()].join(", ")}`);
  assert.equal(out.code, 0, `${command}: ${out.stderr}`);
  return out.stdout;
}
