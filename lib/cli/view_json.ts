/**
 * `--json`: a run's events as NDJSON on standard output, for machines and CI logs. The lines
 * are the run's journal (`events.jsonl`) as it grows — one JSON object a line, `run.started`
 * to `run.finished`, redacted as the journal is (no secret reaches it), each with its `seq`,
 * `ts` and `prev` (the SHA-256 chain `deno task report verify` checks) — followed while the
 * run goes and read to its end when it finishes.
 * @module
 */
import { join } from "node:path";
import { FileTail } from "../ui/tail.ts";

/** Where the lines go. */
export interface LineSink {
  /** Writes `text` (whole lines) as it is. */
  write(text: string): void;
}

/**
 * Follows a run's journal and writes each new line, whole, to the sink: every `pollMs` of
 * wall time while the run goes, and once more (to the end) when {@linkcode JournalStream.end}
 * is called. One stream per run.
 *
 * @example
 * ```ts
 * import { JournalStream } from "./view_json.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * let out = "";
 * const stream = new JournalStream({ write: (t) => out += t });
 * stream.follow(dir);
 * await Deno.writeTextFile(`${dir}/events.jsonl`, '{"seq":1,"type":"run.started"}\n');
 * await stream.end();
 * assert.equal(out, '{"seq":1,"type":"run.started"}\n');
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class JournalStream {
  #out: LineSink;
  #pollMs: number;
  #tail: FileTail | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The read in flight: reads never overlap, so lines keep their order. */
  #reading: Promise<void> = Promise.resolve();

  /**
   * A stream that follows nothing yet.
   *
   * @param out Where the lines go (standard output).
   * @param pollMs How often the journal is read while the run goes (default 100 ms).
   */
  constructor(out: LineSink, pollMs = 100) {
    this.#out = out;
    this.#pollMs = pollMs;
  }

  #read(): Promise<void> {
    const tail = this.#tail;
    if (!tail) return this.#reading;
    this.#reading = this.#reading.catch(() => {}).then(async () => {
      const lines = await tail.read();
      if (lines.length > 0) this.#out.write(lines.map((l) => `${l}\n`).join(""));
    });
    return this.#reading;
  }

  /**
   * Starts following the journal of the run in `runDir` (it need not exist yet).
   *
   * @param runDir The run's folder.
   */
  follow(runDir: string): void {
    this.#tail = new FileTail(join(runDir, "events.jsonl"));
    this.#timer ??= setInterval(() => void this.#read().catch(() => {}), this.#pollMs);
  }

  /**
   * Stops following, once every line written so far is out.
   *
   * @returns When the last lines are written.
   */
  async end(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#read();
    this.#tail = undefined;
  }
}
