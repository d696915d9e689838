/**
 * Small reports for the renderers' unit tests: one whose every field a person reads carries
 * something that would be markup if it were not escaped (a stage named
 * `</script><script>…`, an `<img onerror>` in a check's evidence, `|`, `@team`, backticks),
 * with a gate sampled for two targets (a breach, an inconclusive sample with no value), a
 * gate never sampled, and a rollback; and a journal of a run whose runner died, for a
 * rebuilt (`interrupted`) report.
 * @module
 */
import { Journal } from "../../lib/journal/journal.ts";
import type { GateRecord, Report, SampleRecord, StageRecord } from "../../lib/report/types.ts";

/** A stage name that would end a script element and start another. */
export const EVIL_STAGE = '</script><script>document.title="pwned"</script>';
/** Evidence that would be an image running script. */
export const EVIL_EVIDENCE =
  '<img src="http://127.0.0.1:9/x.png" onerror="document.title=\'pwned\'">';

const NO_GRANT: StageRecord["permissions"] = {
  read: [],
  write: [],
  net: [],
  env: [],
  run: [],
  ffi: [],
  proxied: [],
  fullTrust: false,
};

function stageRecord(
  id: string,
  o: Partial<StageRecord> & { start?: number; end?: number } = {},
): StageRecord {
  const { start, end, ...rest } = o;
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();
  return {
    id,
    kind: "normal",
    rollback: false,
    needs: [],
    status: "succeeded",
    attempts: start === undefined ? [] : [{
      attempt: 1,
      startedAt: at(start),
      durationMs: ((end ?? start) - start) * 1000,
      status: "succeeded",
    }],
    permissions: NO_GRANT,
    checks: [],
    gates: [],
    calls: [],
    log: `logs/${id.replace(/[^a-zA-Z0-9._-]/g, "_")}.log`,
    ...(start === undefined ? {} : { startedAt: at(start) }),
    ...(end === undefined ? {} : { finishedAt: at(end), durationMs: (end - (start ?? 0)) * 1000 }),
    ...rest,
  };
}

function sample(service: string, second: number, value: number | null): SampleRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();
  return {
    at,
    value,
    verdict: value === null ? "inconclusive" : value < 1 ? "successful" : "failed",
    ...(value === null ? { detail: "no traffic in the window" } : {}),
    labels: { namespace: "prod", service, slot: "green" },
    evidence: {
      requests: value === null ? 0 : 400,
      errors: value === null ? 0 : Math.round(value * 4),
      windowMs: 15000,
      from: at,
      to: at,
    },
  };
}

/** A gate sampled three times for `api` and `worker`: `worker` breaches at its third look. */
export function errorGate(): GateRecord {
  return {
    gate: "error_rate < 1%",
    metric: "error_rate",
    operator: "<",
    threshold: 1,
    unit: "%",
    failureLimit: 0,
    consecutiveErrorLimit: 3,
    inconclusivePolicy: "fail",
    verdict: "failed",
    reason: "error_rate < 1% breached for service=worker: 3.25 >= 1",
    samples: [
      sample("api", 21, 0.25),
      sample("worker", 21, 0.5),
      sample("api", 22, null),
      sample("worker", 22, 0.75),
      sample("api", 23, 0.5),
      sample("worker", 23, 3.25),
    ],
  };
}

/** A report with every part the renderers draw, and data that must stay data. */
export function smallReport(): Report {
  const latency: GateRecord = {
    ...errorGate(),
    gate: "p95_latency < 2000ms",
    metric: "p95_latency",
    threshold: 2000,
    unit: "ms",
    verdict: "not_measured",
    reason: "analysis stopped when error_rate < 1% breached",
    samples: [],
  };
  return {
    schemaVersion: 1,
    runId: "20260101T120000Z-abc123",
    pipeline: { name: "deploy", file: "pipelines/deploy.ts" },
    environment: "prod",
    version: "v2.0.0",
    dryRun: false,
    status: "rolled_back",
    who: { user: "ada@example.com", host: "laptop" },
    git: { commit: "0123456789abcdef0123456789abcdef01234567", dirty: false, branch: "main" },
    target: { kind: "sandbox", cluster: "local", namespace: "prod" },
    startedAt: "2026-01-01T12:00:00.000Z",
    finishedAt: "2026-01-01T12:00:30.000Z",
    durationMs: 30000,
    stages: [
      stageRecord("lock", { start: 0, end: 1 }),
      stageRecord("preflight:a", {
        start: 1,
        end: 5,
        checks: [{
          name: "Secrets | present @team",
          required: true,
          status: "passed",
          message: "2 secrets present `ok`",
          evidence: { namespace: "prod", note: EVIL_EVIDENCE, keys: ["a", "b"] },
          startedAt: "2026-01-01T12:00:01.000Z",
          durationMs: 100,
        }],
      }),
      stageRecord(EVIL_STAGE, { start: 2, end: 6 }),
      stageRecord("confirm", {
        start: 6,
        end: 7,
        approval: {
          phrase: "DEPLOY",
          approved: true,
          by: "ada@example.com",
          at: "2026-01-01T12:00:07.000Z",
          method: "flag",
        },
      }),
      stageRecord("canary-5", {
        start: 20,
        end: 24,
        status: "failed",
        reason: "error_rate < 1% breached",
        gates: [errorGate(), latency],
      }),
      stageRecord("promote", { status: "skipped", reason: 'needs "canary-5", which failed' }),
      stageRecord("rollback", {
        start: 24,
        end: 29,
        kind: "onFailure",
        rollback: true,
        output: { messages: ["api: back on blue ``` </details>"] },
      }),
    ],
    rollback: { performed: true, stages: ["rollback"], succeeded: true },
    error: 'stage "canary-5" failed: error_rate < 1% breached',
    events: { file: "events.jsonl", count: 40, digest: "0".repeat(64) },
  };
}

/**
 * Writes the journal of a run whose runner died in `canary-5`, with no report: what
 * `rebuildReport` turns into an `interrupted` report.
 *
 * @param dir The run's folder (it must exist).
 */
export async function diedJournal(dir: string): Promise<void> {
  const journal = await Journal.open(`${dir}/events.jsonl`);
  const stages = ["lock", "canary-5", "promote"].map((id, i) => ({
    id,
    kind: "normal",
    rollback: false,
    needs: i === 0 ? [] : [["lock", "canary-5"][i - 1]],
    permissions: NO_GRANT,
  }));
  await journal.append({
    type: "run.started",
    runId: "20260101T120000Z-dead01",
    pipeline: "deploy",
    pipelineFile: "pipelines/deploy.ts",
    environment: "prod",
    version: "v2.0.0",
    who: { user: "ada", host: "laptop" },
    git: { commit: null, dirty: false, branch: null },
    stages,
  });
  await journal.append({ type: "stage.started", stage: "lock" });
  await journal.append({ type: "stage.finished", stage: "lock", status: "succeeded" });
  await journal.append({ type: "stage.started", stage: "canary-5" });
  await journal.close();
}
