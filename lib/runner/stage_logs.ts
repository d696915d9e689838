/**
 * Per-stage log files: `logs/<stage>.log` in the run folder, one timestamped line
 * per message, secrets redacted.
 * @module
 */
import type { Redactor } from "../journal/redact.ts";
import { type Clock, realClock } from "../clock/clock.ts";

/** Writes `logs/<stage>.log` files. */
export class StageLogs {
  #dir: string;
  #redactor: Redactor;
  #clock: Clock;
  #files = new Map<string, Deno.FsFile>();
  #encoder = new TextEncoder();

  /**
   * @param runDir The run folder.
   * @param redactor Redacts secret values.
   * @param clock Stamps each line (default real time).
   */
  constructor(runDir: string, redactor: Redactor, clock: Clock = realClock) {
    this.#dir = `${runDir}/logs`;
    this.#redactor = redactor;
    this.#clock = clock;
    Deno.mkdirSync(this.#dir, { recursive: true });
  }

  /** The log file of a stage, relative to the run folder. */
  relativePath(stageId: string): string {
    return `logs/${stageId.replace(/[^a-zA-Z0-9._-]/g, "_")}.log`;
  }

  /** Appends a line to a stage's log. */
  write(stageId: string, level: "info" | "warn" | "notice", message: string): void {
    let file = this.#files.get(stageId);
    if (!file) {
      file = Deno.openSync(`${this.#dir}/../${this.relativePath(stageId)}`, {
        append: true,
        create: true,
      });
      this.#files.set(stageId, file);
    }
    const line = `${new Date(this.#clock.now()).toISOString()} ${level.toUpperCase()} ${
      this.#redactor.redact(message)
    }\n`;
    file.writeSync(this.#encoder.encode(line));
  }

  /** Closes every file. */
  close(): Promise<void> {
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
    return Promise.resolve();
  }
}
