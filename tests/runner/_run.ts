// Helpers for the runner tests: run a fixture pipeline in-process or through the CLI.
import { prepareRun } from "../../lib/runner/prepare.ts";
import { executeRun, type RunOutcome } from "../../lib/runner/run.ts";
import type { ApprovalRecord, StageRecord } from "../../lib/report/schema.ts";
import type { Clock } from "../../lib/clock/mod.ts";

export const FIXTURES = new URL("./fixtures/", import.meta.url);

export function fixture(name: string): string {
  return new URL(name, FIXTURES).pathname;
}

export async function runFixture(
  name: string,
  o: {
    options?: Record<string, string>;
    concurrency?: number;
    env?: Record<string, string>;
    signal?: AbortSignal;
    dryRun?: boolean;
    approve?: (stage: string, phrase: string) => Promise<ApprovalRecord>;
    clock?: Clock;
    runId?: string;
    runsDir?: string;
    failure?: AbortSignal;
    onChange?: (record: StageRecord, running: boolean) => void;
  } = {},
): Promise<RunOutcome & { cleanup(): Promise<void> }> {
  const runsDir = o.runsDir ?? await Deno.makeTempDir({ prefix: "tracktion-runs-" });
  const prepared = await prepareRun({
    pipelineFile: fixture(name),
    environment: "development",
    options: o.options ?? {},
    skipTypeCheck: true,
    ...(o.env ? { readEnv: (n: string) => o.env![n] } : {}),
  });
  const outcome = await executeRun(prepared, {
    runsDir,
    concurrency: o.concurrency ?? 4,
    dryRun: o.dryRun ?? false,
    approve: o.approve ?? (() => Promise.reject(new Error("no approvals in this test"))),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.failure ? { failure: o.failure } : {}),
    ...(o.onChange ? { onChange: o.onChange } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.runId ? { runId: o.runId } : {}),
  });
  return { ...outcome, cleanup: () => Deno.remove(runsDir, { recursive: true }) };
}

/** Runs `deno <args>` to its end, stdin closed, no colour; the output as text. */
export async function denoOutput(
  args: string[],
  o: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", ...(o.env ?? {}) },
    ...(o.cwd ? { cwd: o.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Runs the CLI in a subprocess. */
export function cli(
  args: string[],
  o: { env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return denoOutput(["run", "-A", "lib/cli/main.ts", ...args], o);
}

export function stageOf(outcome: RunOutcome, id: string) {
  const s = outcome.report.stages.find((x) => x.id === id);
  if (!s) throw new Error(`no stage ${id} in the report`);
  return s;
}
