// Runs tests/report/fixtures/audited.ts in-process on a virtual clock, its gates measured by
// the real gate analyzer from a scripted metrics source; and helpers to edit a copy of a run.
import { createGateAnalyzer } from "../../lib/analysis/gate_analyzer.ts";
import type { Measurement, MetricsProvider } from "../../lib/analysis/provider.ts";
import { virtualClock } from "../../lib/clock/mod.ts";
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun, type RunOutcome } from "../../lib/runner/run.ts";
import { metrics } from "../runner/fixtures/metrics.ts";

export const START = Date.parse("2026-03-01T12:00:00.000Z");

/** The breaching value: the worker's error rate at the second look. */
export const BREACH = 2.439;

/** Error rates and latencies by service and look; the worker breaches at look 2 unless ok. */
function scripted(ok: boolean): MetricsProvider {
  const looks = new Map<string, number>();
  return {
    name: "scripted",
    measure(metric, target): Promise<Measurement> {
      const key = `${metric.name} ${target.service}`;
      const look = (looks.get(key) ?? 0) + 1;
      looks.set(key, look);
      const to = new Date(START + look * 60_000).toISOString();
      const from = new Date(START + (look - 1) * 60_000).toISOString();
      const evidence = { requests: 1200, errors: 3, windowMs: 60_000, from, to };
      if (metric.name === "p95_latency") {
        return Promise.resolve({ kind: "value", value: 180 + look, evidence });
      }
      const breach = !ok && target.service === "worker" && look === 2;
      return Promise.resolve({ kind: "value", value: breach ? BREACH : 0.25, evidence });
    },
  };
}

/** A run of the audited pipeline, in its own runs folder. */
export async function auditedRun(
  o: {
    mode?: "breach" | "ok";
    dryRun?: boolean;
    runsDir?: string;
    runId?: string;
    resume?: string;
  } = {},
): Promise<RunOutcome & { runsDir: string; cleanup(): Promise<void> }> {
  const runsDir = o.runsDir ?? await Deno.makeTempDir({ prefix: "tracktion-verify-" });
  const clock = virtualClock({ startMs: START });
  const prepared = await prepareRun({
    pipelineFile: new URL("./fixtures/audited.ts", import.meta.url).pathname,
    environment: "development",
    options: {},
    skipTypeCheck: true,
  });
  const outcome = await executeRun(prepared, {
    runsDir,
    clock,
    runId: o.runId ?? `audited-${o.mode ?? "breach"}${o.dryRun ? "-dry" : ""}`,
    dryRun: o.dryRun ?? false,
    ...(o.resume ? { resume: o.resume } : {}),
    user: "ann@example.com",
    analyze: createGateAnalyzer({
      provider: scripted(o.mode === "ok"),
      metrics,
      defaultTarget: { namespace: "audit" },
      clock,
    }),
    approve: (_stage, phrase) =>
      Promise.resolve({
        phrase,
        approved: true,
        by: "ann@example.com",
        at: new Date(clock.now()).toISOString(),
        method: "flag",
      }),
    target: {
      kind: "test",
      namespace: "audit",
      approvals: {
        planDigest: `sha256:${"ab".repeat(32)}`,
        source: "github",
        deployer: "ann@example.com",
        required: 1,
        approvals: [{
          kind: "github",
          name: "Bob",
          email: "bob@example.com",
          github: "bob",
          commentId: 42,
          url: "https://github.com/o/r/issues/1#issuecomment-42",
          at: "2026-03-01T11:59:00.000Z",
          comment: "approve",
          digest: `sha256:${"ab".repeat(32)}`,
        }],
      },
    },
  });
  return { ...outcome, runsDir, cleanup: () => Deno.remove(runsDir, { recursive: true }) };
}

/** A report or a journal line, parsed, to edit freely. */
// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

/** A copy of a run folder, to edit. */
export async function copyRun(runDir: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-tamper-" });
  for (const name of ["report.json", "events.jsonl"]) {
    await Deno.copyFile(`${runDir}/${name}`, `${dir}/${name}`);
  }
  return dir;
}

/** Edits a copy's report.json as JSON (written back as the runner writes it). */
export async function editReport(
  dir: string,
  edit: (report: Json) => void,
): Promise<void> {
  const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  edit(report);
  await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report, null, 2) + "\n");
}

/** The journal's lines, parsed. */
export async function journalOf(dir: string): Promise<Json[]> {
  const text = await Deno.readTextFile(`${dir}/events.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}
