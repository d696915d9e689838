/**
 * The stages of a run as its journal builds them (private to `derive.ts`): each stage's
 * record, event by event, and the line of each of its fields; and what `derive.ts` and its
 * callers share (the journal format, a parsed line, the path of a field, the error of a
 * journal that does not hold together).
 * @module
 */
import type { StageRecord } from "./schema.ts";

/**
 * The journal format this runner writes: 2 carries every fact of the report (an older
 * journal, without `journal` in its `run.started`, only the run's and its stages' status).
 *
 * @example
 * ```ts
 * import { JOURNAL_FORMAT } from "./derive.ts";
 * console.assert(JOURNAL_FORMAT === 2);
 * ```
 */
export const JOURNAL_FORMAT = 2;

/** A journal line, parsed. */
export type JournalLine = Readonly<Record<string, unknown>>;

/**
 * A journal that does not hold together: no `run.started`, or a line naming a line that is
 * not what it says.
 *
 * @example
 * ```ts
 * import { JournalInconsistencyError } from "./derive.ts";
 * const e = new JournalInconsistencyError("no run.started", 1);
 * console.assert(e.line === 1);
 * ```
 */
export class JournalInconsistencyError extends Error {
  /** The line (1-based) where it shows. */
  readonly line: number;
  /**
   * Says what does not hold, and where.
   *
   * @param message What does not hold.
   * @param line Where (1-based).
   */
  constructor(message: string, line: number) {
    super(message);
    this.name = "JournalInconsistencyError";
    this.line = line;
  }
}

/**
 * The path of a field inside a report, as an auditor finds it: `stages[3].gates[0].value`,
 * `target["companion-scope"]`.
 *
 * @param path The path of the object (`""` for the report).
 * @param key The field's name, or an index.
 * @returns The field's path.
 *
 * @example
 * ```ts
 * import { fieldPath } from "./derive.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fieldPath(fieldPath("stages", 3), "status"), "stages[3].status");
 * assert.equal(fieldPath("target", "a-b"), 'target["a-b"]');
 * ```
 */
export function fieldPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === "" ? key : `${path}.${key}`;
}

const ENVELOPE = ["seq", "ts", "prev", "type", "stage"];

function without(e: JournalLine, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e).filter(([k]) => !keys.includes(k)));
}

export const text = (v: unknown) => typeof v === "string" ? v : undefined;
export const num = (v: unknown) => typeof v === "number" ? v : undefined;

interface GraphEntry {
  readonly id: string;
  readonly description?: string;
  readonly kind?: StageRecord["kind"];
  readonly rollback?: boolean;
  readonly needs?: string[];
  readonly permissions?: StageRecord["permissions"];
}

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

export interface Options {
  /** A rebuilt report: a stage that started and never finished was interrupted. */
  readonly rebuilt: boolean;
  /** The journal's format (1: before it carried the report's facts). */
  readonly format: number;
  /** Each line by its `seq`. */
  readonly bySeq: ReadonlyMap<number, { line: number; event: JournalLine }>;
}

/** One stage's record as the journal builds it, and the line of each of its fields. */
export class StageFacts {
  #graph: GraphEntry;
  #graphLine: number;
  readonly #o: Options;
  record!: StageRecord;
  lines!: Map<string, number>;

  constructor(graph: GraphEntry, graphLine: number, o: Options) {
    this.#graph = graph;
    this.#graphLine = graphLine;
    this.#o = o;
    this.reset();
  }

  /** A resumed run's graph (`run.graph`): what the resuming runner granted the stage. */
  regraph(graph: GraphEntry, line: number): void {
    this.#graph = graph;
    this.#graphLine = line;
    const { calls: _c, log: _l, ...fresh } = this.#initial();
    const r = this.record as unknown as Record<string, unknown>;
    for (const k of ["description", "kind", "rollback", "needs", "permissions"] as const) {
      r[k] = fresh[k];
    }
    this.lines.set("", line);
  }

  /** As the engine starts it: not started, skipped until it runs. */
  reset(): void {
    this.record = this.#initial();
    this.lines = new Map([["", this.#graphLine]]);
  }

  #initial(): StageRecord {
    const g = this.#graph;
    return {
      id: g.id,
      ...(g.description ? { description: g.description } : {}),
      kind: g.kind ?? "normal",
      rollback: g.rollback ?? false,
      needs: g.needs ?? [],
      status: "skipped",
      reason: this.#o.rebuilt ? "never started: the runner died" : undefined,
      startedAt: undefined,
      finishedAt: undefined,
      durationMs: undefined,
      attempts: [],
      permissions: g.permissions ?? NO_GRANT,
      checks: [],
      gates: [],
      approval: undefined,
      decision: undefined,
      calls: [],
      output: undefined,
      log: `logs/${g.id.replace(/[^a-zA-Z0-9._-]/g, "_")}.log`,
    };
  }

  apply(e: JournalLine, line: number): void {
    const r = this.record;
    const full = this.#o.format >= JOURNAL_FORMAT;
    switch (e.type) {
      case "stage.started":
        r.status = this.#o.rebuilt ? "interrupted" : r.status;
        r.reason = this.#o.rebuilt ? "running when the runner died" : r.reason;
        r.startedAt = text(e.startedAt) ?? String(e.ts);
        r.finishedAt = undefined;
        r.durationMs = undefined;
        if (full) {
          r.output = undefined;
          r.attempts = [];
          r.checks = [];
          r.gates = [];
          r.decision = undefined;
        }
        this.lines = new Map([["", this.#graphLine], ["startedAt", line]]);
        if (this.#o.rebuilt) this.#at(line, "status", "reason");
        return;
      case "stage.attempt":
        if (full) this.#push("attempts", attemptOf(e), line);
        return;
      case "check":
        if (full) this.#push("checks", without(e, ENVELOPE), line);
        return;
      case "approval":
        r.approval = without(e, ENVELOPE) as unknown as StageRecord["approval"];
        this.#at(line, "approval");
        return;
      case "stage.decision":
        if (!full) return;
        r.decision = without(e, ENVELOPE) as unknown as StageRecord["decision"];
        this.#at(line, "decision");
        return;
      case "gate.verdict":
        if (full) this.#gate(e, line);
        return;
      case "stage.finished":
        r.status = e.status as StageRecord["status"];
        r.reason = text(e.reason);
        r.finishedAt = full ? text(e.finishedAt) : String(e.ts);
        r.durationMs = num(e.durationMs);
        if ("output" in e) r.output = e.output;
        else if (full) r.output = undefined;
        this.#at(line, "status", "reason", "finishedAt", "durationMs", "output");
        if (full && e.attempt !== null && typeof e.attempt === "object") {
          this.#push("attempts", e.attempt as StageRecord["attempts"][number], line);
        }
    }
  }

  #at(line: number, ...keys: string[]): void {
    for (const k of keys) this.lines.set(k, line);
  }

  #push<K extends "attempts" | "checks">(key: K, item: unknown, line: number): void {
    const list = this.record[key] as unknown[];
    this.lines.set(fieldPath(key, list.length), line);
    list.push(item);
  }

  #gate(e: JournalLine, line: number): void {
    const { index, sampleSeqs, ...gate } = without(e, ENVELOPE);
    if (typeof index !== "number" || !Array.isArray(sampleSeqs)) {
      throw new JournalInconsistencyError("a gate.verdict without its index or samples", line);
    }
    const path = fieldPath("gates", index);
    this.lines.set(path, line);
    const samples = sampleSeqs.map((seq, j) => {
      const found = this.#o.bySeq.get(Number(seq));
      if (found?.event.type !== "gate.sample" || found.event.stage !== this.#graph.id) {
        throw new JournalInconsistencyError(
          `the gate.verdict of "${gate.gate}" (stage "${this.#graph.id}") names line ${seq} as ` +
            "its sample, which is not a gate.sample of that stage",
          line,
        );
      }
      this.lines.set(fieldPath(fieldPath(path, "samples"), j), found.line);
      return without(found.event, [...ENVELOPE, "gate", "method", "index"]);
    });
    this.record.gates[index] = { ...gate, samples } as unknown as StageRecord["gates"][number];
  }
}

function attemptOf(e: JournalLine): StageRecord["attempts"][number] {
  return {
    attempt: Number(e.attempt),
    startedAt: String(e.startedAt),
    durationMs: Number(e.durationMs),
    status: (text(e.status) ?? "failed") as StageRecord["attempts"][number]["status"],
    error: text(e.error),
  };
}

/** Every stage's facts, from the journal's events in order. */
export function stagesOf(
  events: readonly JournalLine[],
  started: { event: JournalLine; line: number },
  o: Options,
): StageFacts[] {
  const graph = (Array.isArray(started.event.stages) ? started.event.stages : []) as GraphEntry[];
  const facts = new Map(graph.map((g) => [String(g.id), new StageFacts(g, started.line, o)]));
  for (const [i, e] of events.entries()) {
    // A resumed run's runner starts every stage's record afresh (what it reuses is settled
    // again, from the journal); a rebuilt report keeps what the journal said before.
    if (e.type === "run.resumed" && !o.rebuilt) { for (const f of facts.values()) f.reset(); }
    if (e.type === "run.graph" && Array.isArray(e.stages)) {
      for (const g of e.stages as GraphEntry[]) facts.get(String(g.id))?.regraph(g, i + 1);
    }
    const f = typeof e.stage === "string" ? facts.get(e.stage) : undefined;
    f?.apply(e, i + 1);
  }
  return [...facts.values()];
}
