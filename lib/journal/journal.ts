/**
 * The run's journal: `events.jsonl`, append-only, one JSON object a line, each line
 * carrying the hex SHA-256 of the previous line's bytes (without its newline). The
 * first line's `prev` is 64 zeros. Flipping any byte breaks the chain.
 * @module
 */
import { createHash } from "node:crypto";
import type { Redactor } from "./redact.ts";

/** The `prev` of the first line. */
export const GENESIS: string = "0".repeat(64);

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
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
  #encoder = new TextEncoder();
  #queue: Promise<void> = Promise.resolve();

  private constructor(file: Deno.FsFile, redactor: Redactor | undefined) {
    this.#file = file;
    this.#redactor = redactor;
  }

  /** Creates (or truncates) the journal at `path`. */
  static async open(path: string, options: { redactor?: Redactor } = {}): Promise<Journal> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new Journal(file, options.redactor);
  }

  /** The SHA-256 of the last line written: the chain digest. */
  get digest(): string {
    return this.#prev;
  }

  /** How many events were written. */
  get length(): number {
    return this.#seq;
  }

  /** Appends an event (secrets redacted). Appends are serialised in call order. */
  append(event: { type: string; [key: string]: unknown }): Promise<void> {
    const run = async () => {
      // The event is redacted as a structure, before serialization (escaped forms of a
      // secret cannot slip through); the chain fields are added after, untouched.
      const clean = this.#redactor ? this.#redactor.redactValue(event) : event;
      const body = { seq: ++this.#seq, ts: new Date().toISOString(), prev: this.#prev, ...clean };
      const line = JSON.stringify(body);
      this.#prev = sha256(line);
      const bytes = this.#encoder.encode(line + "\n");
      let written = 0;
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
    };
    this.#queue = this.#queue.then(run);
    return this.#queue;
  }

  /** Waits for pending appends and forces them to disk (at every stage boundary). */
  async flush(): Promise<void> {
    await this.#queue;
    await this.#file.sync();
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
