// Typed errors cross the Worker boundary (issue 10): a capability call that fails in the
// main thread reaches the stage as a CapabilityError with the original name, status,
// reason and plain fields, redacted; a stage that lets one through fails with its name
// and status in the report; a forged error from a Worker cannot crash the runner; a
// message of any size, either way, is redacted, then cut to 4 KiB (never leaving part of a
// secret). The real kubernetes capability over a real sandbox.
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";
import { type PreparedRun, prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun, type RunOutcome } from "../../lib/runner/run.ts";
import type { CapabilityProvider } from "../../lib/runner/engine.ts";
import { callCapability } from "../../lib/runner/stage_records.ts";
import { boundedMessage, CallFailedError, ERROR_LIMITS } from "../../lib/runner/call_errors.ts";
import { WorkerPool } from "../../lib/runner/worker_pool.ts";
import type { RunRequest } from "../../lib/runner/protocol.ts";
import { Redactor } from "../../lib/journal/redact.ts";
import type { StageRecord } from "../../lib/report/schema.ts";
import type { StageDescription } from "../../lib/dsl/describe.ts";
import { CapabilityError } from "../../mod.ts";
import { fixture, stageOf } from "./_run.ts";
import { type Clock, virtualClock } from "../../lib/clock/mod.ts";
import { HUGE, SECRET } from "./fixtures/huge_errors.ts";

function prepare(mode: string): Promise<PreparedRun> {
  return prepareRun({
    pipelineFile: fixture("typed_errors.ts"),
    environment: "development",
    options: { mode },
    skipTypeCheck: true,
  });
}

async function execute(
  prepared: PreparedRun,
  capabilities: Record<string, CapabilityProvider>,
  clock?: Clock,
): Promise<RunOutcome & { events: Record<string, unknown>[] }> {
  const runsDir = await Deno.makeTempDir({ prefix: "typed-errors-runs-" });
  try {
    const out = await executeRun(prepared, {
      runsDir,
      capabilities,
      ...(clock ? { clock } : {}),
      approve: () => Promise.reject(new Error("no approvals")),
    });
    const journal = await Deno.readTextFile(`${out.runDir}/events.jsonl`);
    const events = journal.trim().split("\n").map((l) => JSON.parse(l));
    return { ...out, events };
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
}

/** Runs the fixture in `mode` against a fresh sandbox holding the environment's namespace. */
async function inSandbox(mode: string, clock?: Clock) {
  const prepared = await prepare(mode);
  const stateDir = await Deno.makeTempDir({ prefix: "typed-errors-sandbox-" });
  const sandbox = await startSandbox({
    stateDir,
    port: 0,
    reset: true,
    trafficRate: 0,
    seed: { namespaces: [{ name: prepared.env.environment.namespace }] },
  });
  try {
    const kubernetes = createKubernetesCapability({
      kubeconfigPath: sandbox.kubeconfigPath,
      ...(clock ? { clock } : {}),
    });
    return await execute(
      prepared,
      { kubernetes: kubernetes as unknown as CapabilityProvider },
      clock,
    );
  } finally {
    await sandbox.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("a stage catches a capability's 409 Conflict as a CapabilityError with its name, status and reason", async () => {
  const out = await inSandbox("catch");
  const work = stageOf(out, "work");
  assert.equal(work.status, "succeeded", work.reason ?? "");
  const caught = work.output as Record<string, Record<string, unknown>>;
  assert.deepEqual(
    { ...caught.stale, message: undefined },
    {
      typed: true,
      isError: true,
      name: "KubernetesApiError",
      status: 409,
      reason: "Conflict",
      capability: "kubernetes",
      operation: "patch",
      details: {},
      message: undefined,
    },
  );
  assert.match(String(caught.stale!.message), /Cannot patch ConfigMap .*typed/);
  // A held Lease: the original class name and its plain fields.
  assert.equal(caught.lease!.name, "LeaseHeldError");
  assert.equal(caught.lease!.operation, "acquireLease");
  assert.equal(caught.lease!.status, null);
  assert.equal((caught.lease!.details as Record<string, unknown>).holder, "alice");
  assert.match(String((caught.lease!.details as Record<string, unknown>).expiresAt), /^\d{4}-/);
  // Refused in the main thread before the API server: still typed, by name.
  assert.equal(caught.scope!.typed, true);
  assert.equal(caught.scope!.name, "ScopeError");
  assert.match(String(caught.scope!.message), /may not get ConfigMap in namespace elsewhere/);
  assert.equal(caught.unknown!.typed, true);
  assert.match(String(caught.unknown!.message), /has no operation "noSuchOperation"/);
  // Every failed call is in the record, with its redacted message.
  const failed = work.calls.filter((c) => !c.ok).map((c) => c.method);
  assert.deepEqual(failed, ["patch", "acquireLease", "get"]);
});

Deno.test("on a virtual clock the same calls, through the Worker and the API server, take no run time", async () => {
  const start = Date.UTC(2026, 0, 1);
  const clock = virtualClock({ startMs: start });
  const out = await inSandbox("catch", clock);
  const work = stageOf(out, "work");
  assert.equal(work.status, "succeeded", work.reason ?? "");
  const caught = work.output as Record<string, Record<string, unknown>>;
  assert.equal(caught.stale!.status, 409);
  assert.equal(caught.lease!.name, "LeaseHeldError");
  // alice's lease was taken on the run's clock: held for its 600 s from the start.
  assert.equal(
    (caught.lease!.details as Record<string, unknown>).expiresAt,
    new Date(start + 600_000).toISOString(),
  );
  assert.deepEqual(work.calls.filter((c) => !c.ok).map((c) => c.method), [
    "patch",
    "acquireLease",
    "get",
  ]);
  // Real work only: the clock was held throughout, so no run time passed.
  assert.ok(work.calls.every((c) => c.at === new Date(start).toISOString() && c.durationMs === 0));
  assert.equal(out.report.durationMs, 0);
  assert.deepEqual(clock.held(), []);
});

Deno.test("a typed error the stage does not catch fails it with its name and status in the report and the journal", async () => {
  const out = await inSandbox("uncaught");
  const work = stageOf(out, "work");
  assert.equal(out.report.status, "failed");
  assert.equal(work.status, "failed");
  const expected =
    /^KubernetesApiError from kubernetes\.patch \(409 Conflict\): Cannot patch ConfigMap/;
  assert.match(work.reason!, expected);
  assert.match(work.attempts[0]!.error!, expected);
  assert.match(
    out.report.error!,
    /stage "work" failed: KubernetesApiError from kubernetes\.patch \(409/,
  );
  const attempt = out.events.find((e) => e.type === "stage.attempt")!;
  assert.equal(attempt.errorName, "KubernetesApiError");
  assert.match(String(attempt.error), expected);
});

Deno.test("an error the stage throws itself keeps its message in the report, as before, and its name in the journal", async () => {
  const out = await execute(await prepare("own"), {});
  const work = stageOf(out, "work");
  assert.equal(work.status, "failed");
  assert.equal(work.reason, "replicas must be at most 10");
  assert.equal(work.attempts[0]!.error, "replicas must be at most 10");
  const attempt = out.events.find((e) => e.type === "stage.attempt")!;
  assert.equal(attempt.errorName, "RangeError");
});

for (const mode of ["oversized", "malformed"]) {
  Deno.test(`a forged ${mode} error from a Worker fails that stage alone: report written, handlers run`, async () => {
    const out = await execute(await prepare(mode), {});
    const forge = stageOf(out, "forge");
    assert.equal(forge.status, "failed");
    assert.equal(stageOf(out, "always").status, "succeeded");
    assert.equal(out.report.status, "failed");
    if (mode === "malformed") {
      assert.match(forge.reason!, /malformed message/);
    } else {
      // Bounded: the name, capability and reason are cut, the details not carried.
      assert.ok(forge.reason!.length < 1_000, `reason of ${forge.reason!.length} characters`);
      assert.match(forge.reason!, /^N+… from c+…\.op \(409 r+…\): forged$/);
      const attempt = out.events.find((e) => e.type === "stage.attempt")!;
      assert.equal(String(attempt.errorName).length, ERROR_LIMITS.name);
    }
  });
}

Deno.test("callCapability() redacts a failed call's message and fields, and keeps only plain fields", async () => {
  const redactor = new Redactor();
  redactor.add("hunter2-secret");
  const record = { calls: [] } as unknown as StageRecord;
  const spec = { id: "s", uses: ["vault"] } as unknown as StageDescription;
  const vault = {
    open: () => {
      throw Object.assign(new Error("auth failed for hunter2-secret"), {
        name: "VaultError",
        status: 401,
        reason: "Unauthorized: hunter2-secret",
        token: "hunter2-secret",
        retryable: false,
        nested: { token: "hunter2-secret" },
      });
    },
  };
  const err = await callCapability(
    { spec, record, capabilities: { vault }, redactor },
    { resource: "vault", method: "open", args: [] },
  ).catch((e) => e);
  assert.ok(err instanceof CallFailedError);
  assert.deepEqual(err.error, {
    name: "VaultError",
    message: "auth failed for [redacted]",
    capability: "vault",
    operation: "open",
    status: 401,
    reason: "Unauthorized: [redacted]",
    details: { token: "[redacted]", retryable: false },
  });
  assert.equal(record.calls[0]!.error, "auth failed for [redacted]");
  // What the Worker raises from it.
  const raised = new CapabilityError(err.error.message, err.error);
  assert.ok(raised instanceof CapabilityError && raised instanceof Error);
  assert.equal(raised.name, "VaultError");
  assert.equal(raised.status, 401);
});

/** `HUGE` redacted and cut: before the marker, not through it nor the secret. */
const HUGE_BOUNDED = "x".repeat(4_090) + "…";

Deno.test("a huge message is redacted, then cut to 4 KiB, never through a marker or a secret", () => {
  const redactor = new Redactor();
  redactor.add(SECRET);
  const redact = (t: string) => redactor.redact(t);
  assert.equal(ERROR_LIMITS.message, 4_096);
  assert.equal(boundedMessage(HUGE, redact), HUGE_BOUNDED);
  // Cut first, the secret's first characters would have survived the redactor.
  assert.doesNotMatch(boundedMessage(HUGE, redact), /hunter/);
  const after = boundedMessage("x".repeat(5_000) + SECRET, redact);
  assert.equal(after, "x".repeat(4_095) + "…");
  // Not through a surrogate pair either.
  const emoji = boundedMessage("x".repeat(4_094) + "😀".repeat(10));
  assert.equal(emoji, "x".repeat(4_094) + "…");
  assert.equal(boundedMessage("short [redacted]"), "short [redacted]");
});

Deno.test("a capability's huge error reaches the call record and the stage redacted and bounded", async () => {
  const redactor = new Redactor();
  redactor.add(SECRET);
  const record = { calls: [] } as unknown as StageRecord;
  const spec = { id: "s", uses: ["vault"] } as unknown as StageDescription;
  const vault = { open: () => Promise.reject(new Error(HUGE)) };
  const err = await callCapability(
    { spec, record, capabilities: { vault }, redactor },
    { resource: "vault", method: "open", args: [] },
  ).catch((e) => e);
  assert.ok(err instanceof CallFailedError);
  assert.equal(err.error.message, HUGE_BOUNDED);
  assert.equal(record.calls[0]!.error, HUGE_BOUNDED);

  // The same through a stage's Worker: what the stage catches.
  const prepared = await prepareFixture("huge_errors.ts", "call");
  prepared.redactor.add(SECRET);
  const github = { start: () => Promise.reject(new Error(HUGE)) };
  const out = await execute(prepared, { github: github as unknown as CapabilityProvider });
  const work = stageOf(out, "work");
  assert.equal(work.status, "succeeded", work.reason ?? "");
  assert.deepEqual(work.output, { typed: true, name: "Error", message: HUGE_BOUNDED, details: {} });
});

Deno.test("a stage's own huge error is redacted, then cut, in the report, the journal and the logs", async () => {
  const prepared = await prepareFixture("huge_errors.ts", "throw");
  prepared.redactor.add(SECRET);
  const runsDir = await Deno.makeTempDir({ prefix: "huge-errors-runs-" });
  try {
    const out = await executeRun(prepared, {
      runsDir,
      approve: () => Promise.reject(new Error("no approvals")),
    });
    const work = stageOf(out, "work");
    assert.equal(work.status, "failed");
    assert.equal(work.reason, HUGE_BOUNDED);
    assert.equal(work.attempts[0]!.error, HUGE_BOUNDED);
    // Nothing the run wrote holds any part of the secret, nor the megabyte after it.
    for await (const path of filesUnder(out.runDir)) {
      const text = await Deno.readTextFile(path);
      assert.doesNotMatch(text, /hunter/, path);
      assert.ok(text.length < 100_000, `${path}: ${text.length} characters`);
    }
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});

Deno.test("a failed call the hooks did not describe still reaches the stage redacted", async () => {
  const prepared = await prepareFixture("huge_errors.ts", "call");
  const redactor = new Redactor();
  redactor.add(SECRET);
  const pool = new WorkerPool(prepared.pipelineUrl, { redactor });
  const request: RunRequest = {
    type: "run",
    stageId: "work",
    pipeline: prepared.definition.name,
    runId: "pool",
    user: "test",
    environmentName: "development",
    env: prepared.env,
    version: undefined,
    options: prepared.options,
    dryRun: false,
    attempt: 1,
    outputs: {},
    failures: [],
  };
  const hooks = {
    log() {},
    check() {},
    // Not a CallFailedError: the pool describes it itself.
    call: () =>
      Promise.reject(
        Object.assign(new Error(`token ${SECRET} refused`), { name: "AuthError", token: SECRET }),
      ),
  };
  try {
    const output = await pool.run(prepared.grants.get("work")!, request, hooks);
    assert.deepEqual(output, {
      typed: true,
      name: "AuthError",
      message: "token [redacted] refused",
      details: { token: "[redacted]" },
    });
  } finally {
    pool.close();
  }
});

function prepareFixture(file: string, mode: string): Promise<PreparedRun> {
  return prepareRun({
    pipelineFile: fixture(file),
    environment: "development",
    options: { mode },
    skipTypeCheck: true,
  });
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* filesUnder(path);
    else if (entry.isFile) yield path;
  }
}
