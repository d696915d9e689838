/**
 * `deno task report render <run-id|run-dir> --html|--md [--out <file>|-]`: a run's report
 * for people to read. `--html` writes one self-contained page (the charting library inside
 * it, nothing fetched when it is viewed); `--md` the same content as Markdown, for a pull
 * request comment or a deployment's description. The header carries the verification
 * result: the journal's hash chain checked against the digest the report recorded.
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join, resolve } from "node:path";
import { verifyReport } from "../report/verify.ts";
import { checkRunSignature } from "../audit/signature.ts";
import { loadEnvironment } from "../config/mod.ts";
import { verifyJournal } from "../journal/journal.ts";
import { type Report, reportSchema } from "../report/schema.ts";
import {
  readChartLibrary,
  renderHtml,
  renderMarkdown,
  type VerificationLine,
} from "../render/mod.ts";
import { InputError } from "../runner/mod.ts";
import { RUNS_DIR } from "../product/mod.ts";
import { rebuildReport } from "../runner/rebuild.ts";
import { readRunStart } from "../runner/resume_run.ts";
import { EXIT } from "./command.ts";
import type { ReportIo } from "./report_verify.ts";

/**
 * The usage of `report render`.
 *
 * @example
 * ```ts
 * import { RENDER_USAGE } from "./report_render.ts";
 * console.assert(RENDER_USAGE.startsWith("usage: deno task report render"));
 * ```
 */
export const RENDER_USAGE =
  `usage: deno task report render <run-id|run-dir> --html|--md [--out <file>|-] [--runs-dir <dir>]

Renders a run's report for people: --html one self-contained page (timeline, gate charts,
checks with their evidence, rollback; nothing fetched when it is viewed), --md the same as
Markdown (a pull request comment, a deployment's description). The header says whether the
journal's hash chain verifies against the report; when it does not, the file is still
written, marked so, and the exit code is 1.
  --out <file>      where to write (default <run-dir>/report.html or report.md; - for stdout)
  --runs-dir <dir>  where the run folders are (default ${RUNS_DIR})`;

/** The run's folder holding a report, rebuilding that of a run whose runner died. */
async function runDirOf(which: string, runsDir: string, io: ReportIo): Promise<string> {
  const candidates = [which, `${runsDir}/${which}`];
  for (const c of candidates) {
    const stat = await Deno.stat(`${c}/report.json`).catch(() => null);
    if (stat?.isFile) return c;
  }
  for (const c of candidates) {
    const journal = await Deno.stat(`${c}/events.jsonl`).catch(() => null);
    if (!journal?.isFile || !(await readRunStart(c).catch(() => null))) continue;
    // As `report verify` does: a run always has a report (status interrupted, rebuilt).
    await rebuildReport(c).catch((err) => {
      throw new InputError(`Cannot render run "${which}": ${(err as Error).message}`);
    });
    io.stderr(`${c}: no report.json (its runner died): rebuilt from the journal\n`);
    return c;
  }
  throw new InputError(`No run "${which}": no report.json in ${candidates.join(" or ")}`);
}

async function readReport(dir: string): Promise<Report> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  } catch (err) {
    throw new InputError(`Cannot read ${dir}/report.json: ${(err as Error).message}`);
  }
  const checked = reportSchema.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new InputError(
      `Cannot render ${dir}/report.json: it does not match the report schema: ${
        issue.path.join(".") || "(root)"
      }: ${issue.message}`,
    );
  }
  return checked.data;
}

/**
 * The verification shown in the header: the journal's chain against the report's digest.
 * The fuller `report verify` (issue 15: the report re-derived from the journal, the run's
 * signature, its place in the environment's chain) adds its lines here when it exports them.
 */
async function verificationOf(dir: string, report: Report): Promise<VerificationLine[]> {
  const file = report.events.file;
  if (basename(file) !== file) {
    return [{
      check: "journal chain",
      ok: false,
      detail: `the report names a journal outside its run folder (${file})`,
    }];
  }
  let chain;
  try {
    chain = await verifyJournal(`${dir}/${file}`, { digest: report.events.digest });
  } catch (err) {
    return [{
      check: "journal chain",
      ok: false,
      detail: `cannot read ${file}: ${(err as Error).message}`,
    }];
  }
  const lines: VerificationLine[] = [{
    check: "journal chain",
    ok: chain.ok,
    detail: chain.ok
      ? `${chain.lines} events, chain verified, digest ${chain.digest}`
      : `BROKEN at line ${chain.brokenAt}: ${chain.reason}`,
  }];
  if (!chain.ok) return lines;
  // What `report verify` checks beyond the chain, shown on the page: every field against the
  // journal, and the run's signature (judged by `report verify`, not by this command's exit).
  const v = await verifyReport(dir).catch((err: Error) => err);
  lines.push({
    check: "report against journal",
    ok: !(v instanceof Error) && v.ok,
    detail: v instanceof Error
      ? `cannot be checked: ${v.message}`
      : v.ok
      ? `${v.fields} fields agree`
      : v.mismatch?.message ?? "does not verify",
  });
  const env = await loadEnvironment(report.environment).catch(() => undefined);
  const sig = await checkRunSignature(dir, report, {
    ...(env ? { env } : {}),
    sandboxDir: join(dirname(dirname(resolve(dir))), "sandbox"),
  });
  lines.push({ check: "signature", ok: sig.ok, detail: sig.message });
  return lines;
}

/** Refuses an output path whose folder does not exist, or that is a folder. */
async function assertWritable(path: string): Promise<void> {
  const parent = await Deno.stat(dirname(path)).catch(() => null);
  if (!parent?.isDirectory) {
    throw new InputError(`Cannot write ${path}: ${dirname(path)} is not a folder`);
  }
  if ((await Deno.stat(path).catch(() => null))?.isDirectory) {
    throw new InputError(`Cannot write ${path}: it is a folder`);
  }
}

/**
 * Runs `report render`.
 *
 * @param args The arguments after `report render`.
 * @param io Where to write (the document itself with `--out -`).
 * @returns 0 when written and the journal verifies; 1 when written and it does not.
 * @throws {InputError} On bad usage, an unknown run, or a report that is not one (nothing
 * written).
 *
 * @example
 * ```ts
 * import { renderCommand } from "./report_render.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {} };
 * await assert.rejects(() => renderCommand([], io), /usage: deno task report render/);
 * ```
 */
export async function renderCommand(args: string[], io: ReportIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        html: { type: "boolean" },
        md: { type: "boolean" },
        out: { type: "string" },
        "runs-dir": { type: "string" },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n\n${RENDER_USAGE}`);
  }
  const { html, md, out } = parsed.values;
  const [which] = parsed.positionals;
  if (!which || parsed.positionals.length > 1 || html === md || out === "") {
    throw new InputError(RENDER_USAGE);
  }
  if (out !== undefined && out !== "-") await assertWritable(out);
  const dir = await runDirOf(which, parsed.values["runs-dir"] ?? RUNS_DIR, io);
  const target = out ?? `${dir}/report.${html ? "html" : "md"}`;
  const report = await readReport(dir);
  const verification = await verificationOf(dir, report);
  const text = html
    ? renderHtml(report, { chartLibrary: await readChartLibrary(), verification })
    : renderMarkdown(report, { verification });
  if (target === "-") {
    io.stdout(text);
  } else {
    // Written whole or not at all: a temporary file beside it, renamed over it.
    const tmp = `${target}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(tmp, text);
      await Deno.rename(tmp, target);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw new InputError(`Cannot write ${target}: ${(err as Error).message}`);
    }
    io.stdout(`rendered: ${target}\n`);
  }
  // The exit says whether the chain holds; the other checks are on the page (report verify
  // exits on them).
  const ok = verification[0]?.ok !== false;
  if (!ok) io.stderr(`${dir}: the journal does not verify: the rendered report says so\n`);
  return ok ? EXIT.ok : EXIT.failed;
}
