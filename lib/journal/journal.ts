/**
 * The run's journal: `events.jsonl`, append-only, one JSON object a line, each line
 * carrying the hex SHA-256 of the previous line's bytes (without its newline). The
 * first line's `prev` is 64 zeros. Flipping any byte breaks the chain.
 * @module
 */
import { createHash } from "node:crypto";
import type { Redactor } from "./redact.ts";
import { type Clock, realClock } from "../clock/clock.ts";

/** The `prev` of the first line. */
export const GENESIS: string = "0".repeat(64);

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * An event as it is appended: its `type`, and its fields (the journal adds `seq`, `ts` and
 * `prev`).
 *
 * @example
 * ```ts
 * import type { JournalEvent } from "./journal.ts";
 * const e: JournalEvent = { type: "stage.started", stage: "lock" };
 * ```
 */
export interface JournalEvent {
  /** What happened, e.g. `stage.finished`. */
  readonly type: string;
  /** Its fields. */
  readonly [key: string]: unknown;
}

/**
 * Options of {@linkcode Journal.open}.
 *
 * @example
 * ```ts
 * import type { JournalOptions } from "./journal.ts";
 * import { virtualClock } from "../clock/mod.ts";
 * const o: JournalOptions = { clock: virtualClock({ startMs: 0 }) };
 * ```
 */
export interface JournalOptions {
  /** Redacts every event before it is written. */
  readonly redactor?: Redactor | undefined;
  /** Stamps events (`ts`) and is held while a write is in flight (default real time). */
  readonly clock?: Clock | undefined;
}

/**
 * Appends events to `events.jsonl`, chaining each to the one before.
 *
 * @example
 * ```ts
 * import { Journal, verifyJournal } from "./journal.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const j = await Journal.open(path);
 * await j.append({ type: "run.started" });
 * await j.close();
 * assert.equal((await verifyJournal(path)).ok, true);
 * await Deno.remove(path);
 * ```
 */
export class Journal {
  #file: Deno.FsFile;
  #prev = GENESIS;
  #seq = 0;
  #redactor: Redactor | undefined;
  #clock: Clock;
  #encoder = new TextEncoder();
  #queue: Promise<void> = Promise.resolve();
  #observers = new Set<(seq: number, event: JournalEvent) => void>();

  private constructor(file: Deno.FsFile, options: JournalOptions) {
    this.#file = file;
    this.#redactor = options.redactor;
    this.#clock = options.clock ?? realClock;
  }

  /**
   * Creates (or truncates) the journal at `path`.
   *
   * @param path The file.
   * @param options The redactor, and the clock that stamps events (default real time).
   * @returns The journal.
   */
  static async open(path: string, options: JournalOptions = {}): Promise<Journal> {
    const clock = options.clock ?? realClock;
    const file = await clock.track(
      "journal open",
      Deno.open(path, { write: true, create: true, truncate: true }),
    );
    return new Journal(file, options);
  }

  /**
   * Reopens a journal to go on appending to it (a run resumed after its runner died): its
   * chain is verified, a last line cut short by the kill (no newline) is dropped from the
   * file, and new events chain on from the last whole line.
   *
   * @param path The journal.
   * @param options The redactor and the clock.
   * @returns The journal, its events so far, and whether a cut-short line was dropped.
   * @throws {Error} When the journal's chain does not verify (it was edited): nothing is
   * appended.
   */
  static async reopen(
    path: string,
    options: JournalOptions = {},
  ): Promise<{ journal: Journal; events: Record<string, unknown>[]; dropped: boolean }> {
    const clock = options.clock ?? realClock;
    const text = await clock.track("journal read", Deno.readTextFile(path));
    const end = text.lastIndexOf("\n") + 1;
    const whole = text.slice(0, end);
    const dropped = end < text.length;
    const lines = whole.split("\n").slice(0, -1);
    let prev = GENESIS;
    const events: Record<string, unknown>[] = [];
    for (const [i, line] of lines.entries()) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`Cannot resume from ${path}: line ${i + 1} is not JSON`);
      }
      if (parsed.prev !== prev) {
        throw new Error(
          `Cannot resume from ${path}: line ${i + 1} does not carry the hash of line ${i} ` +
            "(the journal was changed after it was written)",
        );
      }
      prev = sha256(line);
      events.push(parsed);
    }
    if (dropped) await clock.track("journal truncate", Deno.truncate(path, end));
    const file = await clock.track("journal open", Deno.open(path, { append: true }));
    const journal = new Journal(file, options);
    journal.#prev = prev;
    journal.#seq = events.length;
    return { journal, events, dropped };
  }

  /** Lines appended but not yet handed to a write, and the write that will take them. */
  #pending: Uint8Array[] = [];
  #batch: Promise<void> | undefined;

  /** Runs `step` after every earlier write, holding the clock until it is done. */
  #enqueue(what: string, step: () => Promise<void>): Promise<void> {
    this.#queue = this.#queue.then(step);
    return this.#clock.track(what, this.#queue);
  }

  /** Writes every pending line in one write (appends of one turn share it). */
  async #writePending(): Promise<void> {
    this.#batch = undefined;
    const lines = this.#pending;
    this.#pending = [];
    const bytes = new Uint8Array(lines.reduce((n, l) => n + l.length, 0));
    let at = 0;
    for (const l of lines) {
      bytes.set(l, at);
      at += l.length;
    }
    let written = 0;
    while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
  }

  /** The SHA-256 of the last line written: the chain digest. */
  get digest(): string {
    return this.#prev;
  }

  /** How many events were written. */
  get length(): number {
    return this.#seq;
  }

  /**
   * Tells `observer` of every event appended from now on, with its `seq` (its line number),
   * as it was given (before redaction), until the returned function is called: e.g. to
   * know which lines hold what another part of the runner journalled.
   *
   * @param observer Told of each event, synchronously, when it is appended.
   * @returns A function that stops telling it.
   *
   * @example
   * ```ts
   * import { Journal } from "./journal.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * const j = await Journal.open(path);
   * const seen: number[] = [];
   * const stop = j.observe((seq) => seen.push(seq));
   * await j.append({ type: "a" });
   * stop();
   * await j.append({ type: "b" });
   * await j.close();
   * assert.deepEqual(seen, [1]);
   * await Deno.remove(path);
   * ```
   */
  observe(observer: (seq: number, event: JournalEvent) => void): () => void {
    // A wrapper of its own: the same function observing twice is told twice.
    const entry = (seq: number, event: JournalEvent) => observer(seq, event);
    this.#observers.add(entry);
    return () => {
      this.#observers.delete(entry);
    };
  }

  /**
   * Appends an event (secrets redacted), stamped with the clock's time and chained when it
   * is called (so lines are in call order). Appends made before the previous write ends are
   * written together; the promise resolves when this event's line is written.
   */
  append(event: JournalEvent): Promise<void> {
    const ts = new Date(this.#clock.now()).toISOString();
    // The event is redacted as a structure, before serialization (escaped forms of a
    // secret cannot slip through); the chain fields are added after, untouched.
    const clean = this.#redactor ? this.#redactor.redactValue(event) : event;
    const body = { seq: ++this.#seq, ts, prev: this.#prev, ...clean };
    const line = JSON.stringify(body);
    this.#prev = sha256(line);
    this.#pending.push(this.#encoder.encode(line + "\n"));
    for (const observer of this.#observers) observer(this.#seq, event);
    // Lines appended before the write starts go with it: one write per turn, not per line.
    this.#batch ??= this.#enqueue("journal append", () => this.#writePending());
    return this.#batch;
  }

  /**
   * Waits for pending appends and forces them to disk (at every stage boundary). Flushes
   * are queued with the appends, so they finish in the order they were asked for.
   */
  flush(): Promise<void> {
    return this.#enqueue("journal flush", () => this.#file.sync());
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    this.#file.close();
  }
}

/** The result of verifying a journal. */
export interface JournalVerification {
  /** Whether every line chains to the one before. */
  readonly ok: boolean;
  /** How many lines were read. */
  readonly lines: number;
  /** The SHA-256 of the last line (the chain digest), when ok. */
  readonly digest: string;
  /** The first line (1-based) whose `prev` does not match, or that is not JSON. */
  readonly brokenAt?: number;
  /** Why verification failed. */
  readonly reason?: string;
}

/**
 * Verifies a journal's hash chain.
 *
 * @param path The `events.jsonl` file.
 * @param options `digest`: the chain digest the report recorded; the last line must match it.
 * @returns Whether the chain holds, and where it breaks.
 *
 * @example
 * ```ts
 * import { verifyJournal } from "./journal.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, '{"prev":"bad","type":"x"}\n');
 * assert.equal((await verifyJournal(path)).ok, false);
 * await Deno.remove(path);
 * ```
 */
export async function verifyJournal(
  path: string,
  options: { digest?: string } = {},
): Promise<JournalVerification> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let prev = GENESIS;
  for (const [i, line] of lines.entries()) {
    let parsed: { prev?: unknown };
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, lines: lines.length, digest: prev, brokenAt: i + 1, reason: "not JSON" };
    }
    if (parsed.prev !== prev) {
      return {
        ok: false,
        lines: lines.length,
        digest: prev,
        brokenAt: i + 1,
        reason: i === 0
          ? "the first line does not start the chain"
          : `line ${i + 1} does not carry the hash of line ${i}`,
      };
    }
    prev = sha256(line);
  }
  if (options.digest !== undefined && options.digest !== prev) {
    return {
      ok: false,
      lines: lines.length,
      digest: prev,
      brokenAt: lines.length,
      reason: "the last line does not match the digest recorded in the report",
    };
  }
  return { ok: true, lines: lines.length, digest: prev };
}
