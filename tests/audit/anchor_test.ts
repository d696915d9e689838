// The cluster's side of the chain: anchorRun() writes the run's checkpoint, its previous run
// and the history of checkpoints into deployment-info's annotations (a real sandbox, the real
// capability), which the record's own server-side applies keep, and parseClusterRecord reads.
import assert from "node:assert/strict";
import { targetOf, withCluster } from "../kubernetes/_helpers.ts";
// The stages' gate strings are typed by the pipelines' metrics (a module augmentation).
import "../../pipelines/metrics.ts";
import { anchorRun } from "../../pipelines/stages/record.ts";
import { statusDescription } from "../../pipelines/stages/finish.ts";
import { recordDeployment, writeRunRecord } from "../../lib/kubernetes/strategies/mod.ts";
import {
  CHECKPOINT_ANNOTATION,
  HISTORY_ANNOTATION,
  HISTORY_LIMIT,
  parseClusterRecord,
  PREVIOUS_RUN_ANNOTATION,
} from "../../lib/audit/cluster_record.ts";

const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
const hex = (n: number) => n.toString(16).padStart(64, "0");

Deno.test("anchorRun() keeps the run's checkpoint, previous run and history in deployment-info", async () => {
  await withCluster(async ({ k }) => {
    const target = await targetOf("staging");
    await assert.rejects(
      () => anchorRun(k, { target, checkpoint: { runId: "r0", events: 1, digest: hex(1) } }),
      /deployment-info does not exist/,
    );
    await recordDeployment(k, { target, version: "1.2.4", runId: "r1", slots: {} });
    const first = { runId: "r1", events: 40, digest: hex(40) };
    await anchorRun(k, { target, checkpoint: first, previous: null });
    const second = { runId: "r2", events: 57, digest: hex(57) };
    const link = { runId: "r1", digest: hex(41), events: 41 };
    const written = await anchorRun(k, { target, checkpoint: second, previous: link });
    assert.deepEqual(JSON.parse(written[HISTORY_ANNOTATION]!), [first, second]);
    // The record's own writes (server-side apply of its data) keep the annotations.
    await writeRunRecord(k, {
      target,
      info: { version: "1.2.5", runId: "r2", slots: {} },
    });
    const cm = await k.get(CONFIG_MAP, target.namespace, "deployment-info");
    assert.equal((cm?.data as Record<string, string> | undefined)?.version, "1.2.5");
    const record = parseClusterRecord(cm, { source: "the sandbox" });
    assert.deepEqual(record.problems, []);
    assert.deepEqual(record.checkpoint, second);
    assert.deepEqual(record.previousRun, { runId: "r1", digest: hex(41) });
    assert.deepEqual(record.history, [first, second]);
    // A run anchoring again (resumed, or its rollback after its record) replaces its entry;
    // an unknown previous leaves the annotation as it is.
    const again = { runId: "r2", events: 80, digest: hex(80) };
    await anchorRun(k, { target, checkpoint: again });
    const after = await k.get(CONFIG_MAP, target.namespace, "deployment-info");
    const annotations = after!.metadata.annotations as Record<string, string>;
    assert.deepEqual(JSON.parse(annotations[HISTORY_ANNOTATION]!), [first, again]);
    assert.deepEqual(JSON.parse(annotations[CHECKPOINT_ANNOTATION]!), again);
    assert.deepEqual(JSON.parse(annotations[PREVIOUS_RUN_ANNOTATION]!), link);
  });
});

Deno.test("anchorRun() keeps the last 100 checkpoints, newest last, and drops a history it cannot read", async () => {
  await withCluster(async ({ k }) => {
    const target = await targetOf("staging");
    await recordDeployment(k, { target, version: "1.2.4", runId: "r0", slots: {} });
    await k.patch(CONFIG_MAP, target.namespace, "deployment-info", {
      metadata: { annotations: { [HISTORY_ANNOTATION]: "not json" } },
    }, "merge");
    await anchorRun(k, { target, checkpoint: { runId: "r0", events: 1, digest: hex(1) } });
    const long = Array.from({ length: HISTORY_LIMIT }, (_, i) => ({
      runId: `old-${i}`,
      events: i + 1,
      digest: hex(i + 1),
    }));
    await k.patch(CONFIG_MAP, target.namespace, "deployment-info", {
      metadata: { annotations: { [HISTORY_ANNOTATION]: JSON.stringify(long) } },
    }, "merge");
    const newest = { runId: "new", events: 9, digest: hex(9) };
    const written = await anchorRun(k, { target, checkpoint: newest });
    const history = JSON.parse(written[HISTORY_ANNOTATION]!);
    assert.equal(history.length, HISTORY_LIMIT);
    assert.deepEqual(history.at(-1), newest);
    assert.equal(history[0].runId, "old-1");
  });
});

Deno.test("statusDescription() puts the checkpoint first and stays within GitHub's 140 characters", () => {
  const cp = { runId: "20261202T020052Z-8bb93f", events: 145, digest: hex(145) };
  const short = statusDescription(cp, "v1.2.4 deployed to staging");
  assert.ok(short.startsWith(`run ${cp.runId} digest sha256:${cp.digest} at event 145: `));
  assert.ok(short.length <= 140);
  const long = statusDescription(cp, "v1.2.4 to production failed: canary-5: " + "x".repeat(300));
  assert.equal(long.length, 140);
  assert.ok(long.includes(`sha256:${cp.digest} at event 145`), "the anchor is never cut");
  assert.equal(statusDescription(undefined, "y".repeat(200)), "y".repeat(140));
});
