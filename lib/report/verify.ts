/**
 * Checks a run's report against its journal ({@linkcode verifyReport}): the journal's hash
 * chain, the report's record of it (`events`), every field the journal states (re-derived
 * by `derive.ts`: the run's status, each stage's status, reason, attempts, checks, gates
 * with every sample, approvals, the rollback, the error, ...), and the digest `run.finished`
 * recorded of the whole report, which covers what no event states. The first field that
 * disagrees is named as a path an auditor can find, with the journal's line:
 * `report.json stages[12].gates[0].samples[3].value is 0.439, the journal (line 48) says 2.439`.
 *
 * A report rebuilt from the journal of a killed run (no `run.finished`) is a function of the
 * journal: it is rebuilt again and every field compared (there is no digest: what the journal
 * of a killed run does not hold — its calls, a gate it was still measuring — is not in such a
 * report either, and an edit that adds it is caught as a field the journal has none of).
 * @module
 */
import { createHash } from "node:crypto";
import { GENESIS } from "../journal/journal.ts";
import { reportSchema } from "./schema.ts";
import {
  type Derivation,
  deriveReport,
  fieldPath,
  JournalInconsistencyError,
  type JournalLine,
} from "./derive.ts";
import { digestOf } from "../approval/signatures.ts";

/** The first field of a report that its journal does not agree with. */
export interface ReportMismatch {
  /** The field's path in `report.json` (`stages[3].status`), or the file that is wrong. */
  readonly field: string;
  /** The journal's line that says otherwise, when one does. */
  readonly line?: number | undefined;
  /** What the report says (absent: not there). */
  readonly report?: unknown;
  /** What the journal says (absent: nothing). */
  readonly journal?: unknown;
  /** One line for people, naming where. */
  readonly message: string;
}

/**
 * The verification of a run's report against its journal.
 *
 * @example
 * ```ts
 * import type { ReportVerification } from "./verify.ts";
 * const say = (v: ReportVerification) => v.ok ? "verified" : v.mismatch!.message;
 * ```
 */
export interface ReportVerification {
  /** Whether the journal's chain holds and the report agrees with it in every field. */
  readonly ok: boolean;
  /** The journal: its lines, whether its chain holds, its digest (of the last line). */
  readonly journal: {
    readonly ok: boolean;
    readonly lines: number;
    readonly digest: string;
    readonly brokenAt?: number | undefined;
    readonly reason?: string | undefined;
  };
  /** How much the journal states (see `Derivation.kind`); absent when it was not derived. */
  readonly derived?: Derivation["kind"] | undefined;
  /** How many fields were compared with the journal's. */
  readonly fields: number;
  /** The fields compared, as patterns (`stages[].gates[].samples[].value`). */
  readonly checked: readonly string[];
  /**
   * The digest `run.finished` recorded of the report: `matched`, `changed`, or `none` (a
   * rebuilt report, or a journal written before reports had one).
   */
  readonly digest: "matched" | "changed" | "none";
  /** The line of `run.finished`, which holds that digest. */
  readonly digestLine?: number | undefined;
  /** The first thing that does not hold. */
  readonly mismatch?: ReportMismatch | undefined;
}

/**
 * The digest `run.finished` records of the report it is about to write: the SHA-256 of the
 * canonical JSON of the report without its `events` (written after the journal closes).
 *
 * @param report The report (with or without `events`), or `report.json` parsed.
 * @returns `sha256:` and 64 hex digits.
 *
 * @example
 * ```ts
 * import { reportDigest } from "./verify.ts";
 * import assert from "node:assert/strict";
 * const report = { status: "succeeded", events: { count: 3 } };
 * assert.equal(await reportDigest(report), await reportDigest({ status: "succeeded" }));
 * ```
 */
export async function reportDigest(report: object): Promise<string> {
  const { events: _events, ...rest } = report as Record<string, unknown>;
  // As written: what JSON leaves out (undefined members) is not part of it.
  return await digestOf(JSON.parse(JSON.stringify(rest)));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The journal's lines, parsed, and its chain. */
function readJournal(text: string): {
  events: JournalLine[];
  chain: ReportVerification["journal"];
} {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const events: JournalLine[] = [];
  let prev = GENESIS;
  for (const [i, line] of lines.entries()) {
    const broken = (reason: string) => ({
      events,
      chain: { ok: false, lines: lines.length, digest: prev, brokenAt: i + 1, reason },
    });
    let parsed: JournalLine;
    try {
      parsed = JSON.parse(line);
    } catch {
      return broken(`line ${i + 1} is not JSON`);
    }
    if (parsed === null || typeof parsed !== "object" || parsed.prev !== prev) {
      return broken(
        i === 0
          ? "line 1 does not start the chain"
          : `line ${i + 1} does not carry the hash of line ${i} (line ${i} or ${
            i + 1
          } was changed, or a line between them removed)`,
      );
    }
    prev = sha256(line);
    events.push(parsed);
  }
  return { events, chain: { ok: true, lines: lines.length, digest: prev } };
}

function show(value: unknown): string {
  if (value === undefined) return "absent";
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** The line that states a field: its own, or the nearest enclosing object's. */
function lineOf(lines: ReadonlyMap<string, number>, path: string): number | undefined {
  for (let p = path;;) {
    const line = lines.get(p);
    if (line !== undefined || p === "") return line;
    const parent = p.replace(/(^|\.)[A-Za-z_$][\w$]*$|\[(\d+|"(?:[^"\\]|\\.)*")\]$/, "");
    if (parent === p) return lines.get("");
    p = parent;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Compares a report with what its journal says, field by field, in the report's order. */
class Comparison {
  readonly #d: Derivation;
  fields = 0;
  readonly checked = new Set<string>();

  constructor(d: Derivation) {
    this.#d = d;
  }

  first(expected: unknown, actual: unknown, path: string): ReportMismatch | undefined {
    if (this.#d.partial.has(path) && isObject(expected) && isObject(actual)) {
      for (const k of Object.keys(expected)) {
        const m = this.first(expected[k], actual[k], fieldPath(path, k));
        if (m) return m;
      }
      return undefined;
    }
    if (Array.isArray(expected) && Array.isArray(actual)) {
      for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
        const m = this.first(expected[i], actual[i], fieldPath(path, i));
        if (m) return m;
      }
      return undefined;
    }
    if (isObject(expected) && isObject(actual)) {
      for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
        const m = this.first(expected[k], actual[k], fieldPath(path, k));
        if (m) return m;
      }
      return undefined;
    }
    this.fields++;
    this.checked.add(path.replace(/\[\d+\]/g, "[]"));
    if (expected === actual) return undefined;
    const line = lineOf(this.#d.lines, path);
    const where = line === undefined ? "the journal" : `the journal (line ${line})`;
    return {
      field: path,
      line,
      report: actual,
      journal: expected,
      message: `report.json ${path} is ${show(actual)}, ${where} ${
        expected === undefined ? "has none" : `says ${show(expected)}`
      }`,
    };
  }
}

/** The journal's record in the report (`events`) against the journal itself. */
function eventsMismatch(
  events: unknown,
  chain: ReportVerification["journal"],
): ReportMismatch | undefined {
  const e = events as { file: string; count: number; digest: string };
  if (e.file !== "events.jsonl") {
    return {
      field: "events.file",
      report: e.file,
      journal: "events.jsonl",
      message: `report.json events.file is ${show(e.file)}: a run's journal is events.jsonl`,
    };
  }
  if (e.count !== chain.lines) {
    return {
      field: "events.count",
      report: e.count,
      journal: chain.lines,
      message: `report.json events.count is ${e.count}, the journal has ${chain.lines} lines (${
        e.count > chain.lines
          ? "lines were removed from the end of events.jsonl"
          : "events.jsonl has lines the report does not know: it was appended to after the report"
      })`,
    };
  }
  if (e.digest !== chain.digest) {
    return {
      field: "events.digest",
      line: chain.lines,
      report: e.digest,
      journal: chain.digest,
      message:
        `report.json events.digest is ${e.digest}, the journal's last line (line ${chain.lines}) ` +
        `hashes to ${chain.digest}: line ${chain.lines} was changed, or the report is of another journal`,
    };
  }
  return undefined;
}

/**
 * Verifies a run's `report.json` against its `events.jsonl`. Nothing is changed.
 *
 * @param runDir The run's folder.
 * @returns The verification: the journal's chain, the fields compared, the first mismatch.
 * @throws {Deno.errors.NotFound} When the folder has no report or no journal.
 *
 * @example
 * ```ts ignore
 * const v = await verifyReport("runs/20260101T120000Z-a1b2c3");
 * console.log(v.ok ? `${v.fields} fields agree` : v.mismatch!.message);
 * ```
 */
export async function verifyReport(runDir: string): Promise<ReportVerification> {
  const [reportText, journalText] = await Promise.all([
    Deno.readTextFile(`${runDir}/report.json`),
    Deno.readTextFile(`${runDir}/events.jsonl`),
  ]);
  const { events, chain } = readJournal(journalText);
  const base = { journal: chain, fields: 0, checked: [], digest: "none" as const };
  const fail = (mismatch: ReportMismatch, more: Partial<ReportVerification> = {}) => ({
    ...base,
    ...more,
    ok: false,
    mismatch,
  });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(reportText);
  } catch (error) {
    return fail({
      field: "report.json",
      message: `report.json is not JSON (${(error as Error).message})`,
    });
  }
  if (!chain.ok) {
    return fail({
      field: "events.jsonl",
      line: chain.brokenAt,
      message: `events.jsonl is broken at line ${chain.brokenAt}: ${chain.reason}`,
    });
  }
  const schema = reportSchema.safeParse(raw);
  if (!schema.success) {
    const issue = schema.error.issues[0]!;
    const field = issue.path.reduce<string>((p, k) => fieldPath(p, k as string | number), "");
    return fail({
      field,
      message: `report.json ${
        field || "(the whole file)"
      } does not match the report's schema: ${issue.message}`,
    });
  }
  const recorded = eventsMismatch(raw.events, chain);
  if (recorded) return fail(recorded);
  let d: Derivation;
  try {
    d = deriveReport(events);
  } catch (error) {
    if (!(error instanceof JournalInconsistencyError)) throw error;
    return fail({
      field: "events.jsonl",
      line: error.line,
      message: `events.jsonl line ${error.line} does not hold together: ${error.message}`,
    });
  }
  const compare = new Comparison(d);
  const { events: _events, ...report } = raw;
  const mismatch = compare.first(d.expected, report, "");
  const done = { derived: d.kind, fields: compare.fields, checked: [...compare.checked] };
  if (mismatch) return fail(mismatch, done);
  const digest = d.finished?.reportDigest;
  if (digest === undefined) return { ...base, ...done, ok: true };
  const digestLine = d.finished!.line;
  if (await reportDigest(raw) !== digest) {
    return fail({
      field: "report.json",
      line: digestLine,
      message: "report.json was changed after the run: it does not match the digest the " +
        `journal's run.finished (line ${digestLine}) recorded`,
    }, { ...done, digest: "changed", digestLine });
  }
  return { ...base, ...done, ok: true, digest: "matched", digestLine };
}
