/**
 * Following files as they grow: {@linkcode FileTail} hands out each whole line appended to a
 * file since its last read (a line still being written waits for its newline; bytes are
 * split at newlines before decoding, so a character is never cut in two), and
 * {@linkcode changes} wakes a reader when anything in a folder changes (inotify through
 * `Deno.watchFs`, with a slow poll beside it in case a change is missed). The dashboard
 * follows a run's `events.jsonl` and its stage logs with them.
 * @module
 */

/**
 * The whole lines appended to a file since the last {@linkcode FileTail.read}. The file is
 * opened only while it is read (the tail holds no handle between reads). A file that
 * shrank below what was read (rewritten, or a cut-short last line dropped by a resume) is
 * read again from its start, and {@linkcode FileTail.restarted} says so.
 *
 * @example
 * ```ts
 * import { FileTail } from "./tail.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const tail = new FileTail(path);
 * await Deno.writeTextFile(path, '{"seq":1}\n{"seq":', { append: true });
 * assert.deepEqual(await tail.read(), ['{"seq":1}']);
 * await Deno.writeTextFile(path, "2}\n", { append: true });
 * assert.deepEqual(await tail.read(), ['{"seq":2}']);
 * assert.deepEqual(await tail.read(), []);
 * await Deno.remove(path);
 * ```
 */
export class FileTail {
  /** The file followed. */
  readonly path: string;
  #offset = 0;
  #restarted = false;
  #decoder = new TextDecoder();

  /**
   * A tail at the file's start.
   *
   * @param path The file to follow (it need not exist yet).
   */
  constructor(path: string) {
    this.path = path;
  }

  /** The bytes handed out so far (up to the last newline read). */
  get offset(): number {
    return this.#offset;
  }

  /** Whether the last read found the file shorter than before and started over. */
  get restarted(): boolean {
    return this.#restarted;
  }

  /**
   * Reads what was appended since the last read.
   *
   * @returns The new whole lines, without their newlines (none while the file is missing).
   */
  async read(): Promise<string[]> {
    this.#restarted = false;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
    try {
      const { size } = await file.stat();
      if (size < this.#offset) {
        this.#offset = 0;
        this.#restarted = true;
      }
      if (size === this.#offset) return [];
      await file.seek(this.#offset, Deno.SeekMode.Start);
      const bytes = new Uint8Array(size - this.#offset);
      let got = 0;
      while (got < bytes.length) {
        const n = await file.read(bytes.subarray(got));
        if (n === null) break;
        got += n;
      }
      const end = bytes.subarray(0, got).lastIndexOf(10);
      if (end < 0) return [];
      this.#offset += end + 1;
      return this.#decoder.decode(bytes.subarray(0, end)).split("\n");
    } finally {
      file.close();
    }
  }
}

/**
 * Wakes whoever reads it when something under `dir` changes: yields once at once, then
 * after each batch of file-system events under it, and at least every `pollMs` (a change a
 * watcher missed, or a folder created after the watch began, is still seen). Ends when
 * `signal` aborts.
 *
 * @param dir The folder to watch (watched recursively; polled while it is missing).
 * @param o `signal` ends it; `pollMs` the slowest wake-up (default 1000).
 * @returns The wake-ups.
 *
 * @example
 * ```ts
 * import { changes } from "./tail.ts";
 * const dir = await Deno.makeTempDir();
 * const stop = new AbortController();
 * let woke = 0;
 * for await (const _ of changes(dir, { signal: stop.signal })) {
 *   if (++woke === 1) await Deno.writeTextFile(`${dir}/a`, "x");
 *   else stop.abort();
 * }
 * console.assert(woke === 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function* changes(
  dir: string,
  o: { signal: AbortSignal; pollMs?: number },
): AsyncGenerator<void> {
  const pollMs = o.pollMs ?? 1000;
  let watcher: Deno.FsWatcher | undefined;
  let wake: (() => void) | undefined;
  let pending = false;
  const poke = () => {
    pending = true;
    wake?.();
  };
  const onAbort = () => poke();
  o.signal.addEventListener("abort", onAbort);
  const watch = async () => {
    try {
      watcher = Deno.watchFs(dir, { recursive: true });
      for await (const _ of watcher) poke();
    } catch {
      watcher = undefined; // missing folder or no watcher: the poll still wakes
    }
  };
  let watching: Promise<void> | undefined;
  try {
    while (!o.signal.aborted) {
      watching ??= watch();
      yield;
      if (o.signal.aborted) break;
      if (!pending) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, pollMs);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      pending = false;
      if (watcher === undefined) watching = undefined; // try the watch again
    }
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    try {
      watcher?.close();
    } catch { /* closed */ }
    await watching;
  }
}
