import assert from "node:assert/strict";
import { rolloutStatusOf, waitForRolloutWith } from "../../lib/kubernetes/rollout.ts";
import type { KubeObject } from "../../lib/kubernetes/capability.ts";
import { testDeployment, withCluster } from "./_helpers.ts";

function deployment(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  generation = 2,
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", generation },
    spec,
    status,
  };
}

const DEADLINE = {
  type: "Progressing",
  status: "False",
  reason: "ProgressDeadlineExceeded",
};

Deno.test("rolloutStatusOf() waits for the spec update to be observed first", () => {
  const s = rolloutStatusOf(
    deployment({ replicas: 3 }, {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
      conditions: [DEADLINE],
    }),
  );
  assert.equal(s.done, false);
  assert.equal(s.failed, false, "a deadline on an older generation is not this rollout's");
  assert.equal(s.message, "Waiting for deployment spec update to be observed...");
});

Deno.test("rolloutStatusOf() fails on ProgressDeadlineExceeded", () => {
  const s = rolloutStatusOf(
    deployment({ replicas: 3 }, {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 0,
      conditions: [{ type: "Available", status: "False" }, DEADLINE],
    }),
  );
  assert.equal(s.failed, true);
  assert.equal(s.done, false);
  assert.equal(s.message, 'deployment "web" exceeded its progress deadline');
});

Deno.test("rolloutStatusOf() gives kubectl's waiting messages in kubectl's order", () => {
  const base = { observedGeneration: 2, conditions: [{ type: "Progressing", status: "True" }] };
  const updated = rolloutStatusOf(
    deployment({ replicas: 3 }, { ...base, replicas: 4, updatedReplicas: 1, availableReplicas: 3 }),
  );
  assert.equal(
    updated.message,
    'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
  );
  const old = rolloutStatusOf(
    deployment({ replicas: 3 }, { ...base, replicas: 5, updatedReplicas: 3, availableReplicas: 3 }),
  );
  assert.equal(
    old.message,
    'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...',
  );
  const available = rolloutStatusOf(
    deployment({ replicas: 3 }, { ...base, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }),
  );
  assert.equal(
    available.message,
    'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
  );
  assert.deepEqual(
    [available.replicas, available.updatedReplicas, available.availableReplicas],
    [3, 3, 2],
  );
  for (const s of [updated, old, available]) assert.equal(s.done || s.failed, false);
  const done = rolloutStatusOf(
    deployment({ replicas: 3 }, { ...base, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
  );
  assert.deepEqual([done.done, done.failed], [true, false]);
  assert.equal(done.message, 'deployment "web" successfully rolled out');
});

Deno.test("rolloutStatusOf() treats an empty status as waiting and a missing Deployment as failed", () => {
  const fresh = rolloutStatusOf(deployment({ replicas: 2 }, {}, 1));
  assert.equal(fresh.message, "Waiting for deployment spec update to be observed...");
  const zero = rolloutStatusOf(deployment({ replicas: 0 }, { observedGeneration: 2 }));
  assert.equal(zero.done, true);
  const gone = rolloutStatusOf(null, "web");
  assert.deepEqual([gone.done, gone.failed, gone.message], [
    false,
    true,
    'deployment "web" not found',
  ]);
});

Deno.test("waitForRolloutWith() gives up at its timeout with the last message", async () => {
  const stuck = rolloutStatusOf(
    deployment({ replicas: 1 }, { observedGeneration: 2, replicas: 1, updatedReplicas: 1 }),
  );
  const seen: string[] = [];
  const result = await waitForRolloutWith(() => Promise.resolve(stuck), {
    timeoutMs: 150,
    pollMs: 20,
    onProgress: (s) => seen.push(s.message),
  });
  assert.equal(result.done, false);
  assert.equal(result.failed, true);
  assert.match(result.message, /^timed out after 150 ms: Waiting for deployment "web"/);
  assert.equal(seen.length, 1, "progress is reported once per new message");
});

Deno.test("waitForRollout() follows a real rollout from waiting to done", async () => {
  await withCluster(async ({ k }) => {
    await k.apply(testDeployment("tracktion-dev", "slow", { replicas: 3 }));
    const messages: string[] = [];
    let last = await k.rolloutStatus("tracktion-dev", "slow");
    messages.push(last.message);
    const deadline = Date.now() + 60_000;
    while (!last.done && !last.failed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      last = await k.rolloutStatus("tracktion-dev", "slow");
      if (messages.at(-1) !== last.message) messages.push(last.message);
    }
    assert.equal(last.done, true, messages.join("\n"));
    assert.match(messages[0]!, /^Waiting for deployment/);
    assert.equal(messages.at(-1), 'deployment "slow" successfully rolled out');
    const waited = await k.waitForRollout("tracktion-dev", "slow", { timeoutMs: 30_000 });
    assert.equal(waited.done, true);
    assert.equal(waited.availableReplicas, 3);
    const gone = await k.rolloutStatus("tracktion-dev", "missing");
    assert.equal(gone.failed, true);
  }, { scenario: "slow-rollout", timeScale: 300 });
});

Deno.test("waitForRollout() reports ProgressDeadlineExceeded for a crash-looping version", async () => {
  await withCluster(async ({ k }) => {
    const manifest = testDeployment("tracktion-dev", "crashing", { replicas: 2 });
    (manifest.spec as Record<string, unknown>).progressDeadlineSeconds = 60;
    await k.apply(manifest);
    const result = await k.waitForRollout("tracktion-dev", "crashing", {
      timeoutMs: 60_000,
      pollMs: 50,
    });
    assert.equal(result.done, false);
    assert.equal(result.failed, true);
    // kubectl's words, then why (the pods' waiting reason, restarts, last exit code).
    assert.match(result.message, /^deployment "crashing" exceeded its progress deadline/);
    assert.equal(result.availableReplicas, 0);
  }, { scenario: "crashloop", timeScale: 300 });
});

async function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: result.code, out: decode(result.stdout) + decode(result.stderr) };
}

Deno.test("rolloutStatus() agrees with the real kubectl rollout status", async () => {
  await withCluster(async ({ k, sandbox }) => {
    await k.apply(testDeployment("tracktion-dev", "agree", { replicas: 3 }));
    const ours = await k.waitForRollout("tracktion-dev", "agree", { timeoutMs: 30_000 });
    const theirs = await kubectl(sandbox.kubeconfigPath, [
      "-n",
      "tracktion-dev",
      "rollout",
      "status",
      "deployment/agree",
      "--timeout=30s",
    ]);
    assert.equal(theirs.code, 0, theirs.out);
    assert.ok(ours.message.startsWith(theirs.out.trim().split("\n").at(-1)!), ours.message);
  });
  await withCluster(async ({ k, sandbox }) => {
    const manifest = testDeployment("tracktion-dev", "stuck", { replicas: 2 });
    (manifest.spec as Record<string, unknown>).progressDeadlineSeconds = 60;
    await k.apply(manifest);
    const ours = await k.waitForRollout("tracktion-dev", "stuck", {
      timeoutMs: 60_000,
      pollMs: 50,
    });
    const theirs = await kubectl(sandbox.kubeconfigPath, [
      "-n",
      "tracktion-dev",
      "rollout",
      "status",
      "deployment/stuck",
      "--timeout=30s",
    ]);
    assert.notEqual(theirs.code, 0);
    const said = ours.message.split(": ")[0]!; // kubectl's part, before the cause
    assert.ok(theirs.out.includes(said), `kubectl said: ${theirs.out}`);
  }, { scenario: "crashloop", timeScale: 300 });
});

Deno.test("waitForRolloutWith() reads less often while nothing changes, at once again when it does", async () => {
  const { virtualClock } = await import("../../lib/clock/mod.ts");
  const stuck = rolloutStatusOf(
    deployment({ replicas: 1 }, { observedGeneration: 2, replicas: 1, updatedReplicas: 1 }),
  );
  const clock = virtualClock({ startMs: 0 });
  const readAt: number[] = [];
  const result = await waitForRolloutWith(() => {
    readAt.push(clock.now());
    return Promise.resolve(stuck);
  }, { timeoutMs: 1_000, pollMs: 10, maxPollMs: 80, clock });
  assert.equal(result.failed, true);
  const gaps = readAt.slice(1).map((t, i) => t - readAt[i]!);
  assert.deepEqual(
    gaps.slice(0, 5),
    [10, 20, 40, 80, 80],
    "doubling from the first repeat, capped",
  );
  assert.ok(readAt.length < 20, `${readAt.length} reads in 1 s at 10 ms would be 100`);

  // A status that changes at every read is read every pollMs.
  let n = 0;
  const moving = await waitForRolloutWith(() => {
    n++;
    return Promise.resolve({ ...stuck, message: `step ${n}`, done: n === 10 });
  }, { timeoutMs: 1_000, pollMs: 10, maxPollMs: 80, clock });
  assert.equal(moving.done, true);
  assert.equal(n, 10);
  clock.dispose();
});
