/**
 * A promotion train's history as `deno task report audit` reads it (real journals,
 * `_history.ts`): on a virtual clock a build step and the deploy after it start at the same
 * instant, so their order comes from their links, not from their ids (the deploy's id may sort
 * first); and only the deploy pipeline's runs count as deploys for DORA, though a build's or a
 * smoke test's run carries the version too.
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../lib/cli/main.ts";
import { chainOrder, environmentRuns } from "../../lib/audit/run_link.ts";
import { environmentsTrusting, newKey, type RunSpec, writeHistory } from "./_history.ts";

const KEY = await newKey();
const ENVIRONMENTS = await environmentsTrusting(KEY);

async function auditJson(runsDir: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([
    "report",
    "audit",
    "production",
    "--runs-dir",
    runsDir,
    "--environments-dir",
    ENVIRONMENTS,
    "--since",
    "all",
    "--until",
    "2026-04-01",
    "--json",
  ], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), tty: false, colour: false });
  return { code, stderr: err.join(""), json: JSON.parse(out.join("")) };
}

/**
 * A train at one instant, twice: a build (zero time), then the deploy. The second train's
 * deploy has an id that sorts before its build's (`…-aaa` < `…-zzz`).
 */
const TRAIN: RunSpec[] = [
  {
    runId: "20260302T100000Z-mmm",
    startedAt: "2026-03-02T10:00:00.000Z",
    finishedAt: "2026-03-02T10:00:00.000Z",
    pipeline: "build",
    version: "v1.0.0",
    checkpoint: false,
  },
  {
    runId: "20260302T100000Z-nnn",
    startedAt: "2026-03-02T10:00:00.000Z",
    finishedAt: "2026-03-02T10:30:00.000Z",
    version: "v1.0.0",
  },
  {
    runId: "20260303T100000Z-zzz",
    startedAt: "2026-03-03T10:00:00.000Z",
    finishedAt: "2026-03-03T10:00:00.000Z",
    pipeline: "build",
    version: "v1.1.0",
    checkpoint: false,
  },
  {
    runId: "20260303T100000Z-aaa",
    startedAt: "2026-03-03T10:00:00.000Z",
    finishedAt: "2026-03-03T10:30:00.000Z",
    version: "v1.1.0",
  },
];

Deno.test("environmentRuns(): runs that start at one instant are ordered by their links, then by id", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-train-" });
  try {
    await writeHistory(runsDir, TRAIN, KEY);
    const runs = await environmentRuns(runsDir, "production");
    // By id alone the second train would read aaa (deploy) before zzz (its build).
    assert.deepEqual(runs.map((r) => r.runId), TRAIN.map((s) => s.runId));
    assert.equal(runs[3]!.previous?.runId, "20260303T100000Z-zzz");
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});

Deno.test("environmentRuns(): two unlinked runs at one instant fall back to their ids", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-train-" });
  try {
    await writeHistory(runsDir, [
      { runId: "20260302T100000Z-bbb", startedAt: "2026-03-02T10:00:00.000Z", previous: null },
      { runId: "20260302T100000Z-aaa", startedAt: "2026-03-02T10:00:00.000Z", previous: null },
    ], KEY);
    const runs = await environmentRuns(runsDir, "production");
    assert.deepEqual(runs.map((r) => r.runId), ["20260302T100000Z-aaa", "20260302T100000Z-bbb"]);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});

Deno.test("chainOrder(): three runs linked at one instant, ids against their order, come in their links' order", () => {
  const at = "2026-03-02T10:00:00.000Z";
  const runs = chainOrder([
    { runId: "c", startedAt: at, previous: { runId: "b" } },
    { runId: "b", startedAt: at, previous: { runId: "a" } },
    { runId: "a", startedAt: at, previous: null },
    { runId: "0", startedAt: "2026-03-01T10:00:00.000Z", previous: null },
  ]);
  assert.deepEqual(runs.map((r) => r.runId), ["0", "a", "b", "c"]);
});

Deno.test("report audit: a train's zero-time steps are a whole chain, and only its deploys are DORA's deploys", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-train-" });
  try {
    await writeHistory(runsDir, TRAIN, KEY);
    const r = await auditJson(runsDir);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.json.problems));
    // Ordered by id, the second train's deploy would precede the build it links to: a fork.
    assert.deepEqual(r.json.problems, []);
    assert.deepEqual(
      r.json.dora.deploys.map((d: { runId: string }) => d.runId),
      ["20260302T100000Z-nnn", "20260303T100000Z-aaa"],
    );
    assert.equal(r.json.dora.deploymentFrequency.successful, 2);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});
