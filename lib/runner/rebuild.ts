/**
 * A report rebuilt from the journal alone, for a run whose runner died before writing one
 * (`kill -9`, a lost machine): so that no run ever lacks a report. Its status is
 * `interrupted`, `rebuilt: true`; each stage's record is what the journal holds (status,
 * times, attempts, checks, gates with their samples, approval, output; a stage that was
 * running is `interrupted`, one that never started `skipped`); calls are only in the logs,
 * and a gate still being measured when the runner died has no record (its samples so far
 * are the journal's `gate.sample` lines).
 * The chain is verified and its digest recorded, as for any report. What it holds is a
 * function of the journal alone (`rebuiltReport` in `lib/report/derive.ts`), so that
 * `report verify` rebuilds it again and compares every field.
 * @module
 */
import { relative } from "node:path";
import { verifyJournal } from "../journal/journal.ts";
import { type Report, reportSchema } from "../report/schema.ts";
import { type JournalLine, rebuiltReport } from "../report/derive.ts";

/**
 * Rebuilds the report of a run that has a journal and no report, and writes it.
 *
 * @param runDir The run's folder.
 * @returns The report, as written to `<runDir>/report.json`.
 * @throws {Error} When the journal has no `run.started`, or its chain does not verify.
 *
 * @example
 * ```ts ignore
 * const report = await rebuildReport("runs/20260101T120000Z-a1b2c3");
 * console.log(report.status); // "interrupted"
 * ```
 */
export async function rebuildReport(runDir: string): Promise<Report> {
  const path = `${runDir}/events.jsonl`;
  const text = await Deno.readTextFile(path);
  const whole = text.slice(0, text.lastIndexOf("\n") + 1);
  if (whole.length < text.length) {
    // A last line cut short by the kill: not part of the chain.
    await Deno.truncate(path, new TextEncoder().encode(whole).length);
  }
  const chain = await verifyJournal(path);
  if (!chain.ok) {
    throw new Error(
      `Cannot rebuild the report of ${runDir}: the journal is broken at line ${chain.brokenAt}: ${chain.reason}`,
    );
  }
  const events = whole.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as JournalLine);
  if (!events.some((e) => e.type === "run.started")) {
    throw new Error(`Cannot rebuild the report of ${runDir}: no run.started`);
  }
  const report = rebuiltReport(events, {
    file: relative(runDir, path),
    count: chain.lines,
    digest: chain.digest,
  });
  reportSchema.parse(report);
  await Deno.writeTextFile(`${runDir}/report.json.tmp`, JSON.stringify(report, null, 2) + "\n");
  await Deno.rename(`${runDir}/report.json.tmp`, `${runDir}/report.json`);
  return report;
}
