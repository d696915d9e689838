/**
 * Reading an environment file's text before it is parsed: a folder, a file too large to be
 * an environment, and bytes that are not UTF-8 are refused with where they are (a lossy
 * decode would quietly turn a Latin-1 `é` into U+FFFD and validate). Also finds where an
 * unclosed quote opened, which the YAML parser reports only at the end of the file.
 * @module
 */
import { ConfigError } from "./config_error.ts";

/** The largest environment file read: 1 MiB (the repository's are about 5 KiB). */
export const MAX_ENVIRONMENT_BYTES = 1024 * 1024;

/** The offset of the first byte of `bytes` that is not part of valid UTF-8, or -1. */
function firstInvalidByte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const extra = b < 0x80
      ? 0
      : b >= 0xc2 && b < 0xe0
      ? 1
      : b >= 0xe0 && b < 0xf0
      ? 2
      : b >= 0xf0 && b < 0xf5
      ? 3
      : -1;
    if (extra < 0) return i;
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += extra + 1;
  }
  return -1;
}

/**
 * Reads `path` as UTF-8 text, refusing a folder, a file over {@linkcode MAX_ENVIRONMENT_BYTES}
 * and invalid UTF-8 (at its line and column).
 *
 * @param path The file.
 * @param file The file as messages name it.
 * @param name The environment's name.
 * @returns The text.
 * @throws {Deno.errors.NotFound} When there is no such file (the caller lists the known ones).
 * @throws {ConfigError} For the other problems.
 */
export async function readEnvironmentSource(
  path: string,
  file: string,
  name: string,
): Promise<string> {
  const fail = (line: number, column: number, message: string): never => {
    throw new ConfigError([{ file, line, column, path: "", message }]);
  };
  const info = await Deno.stat(path);
  if (info.isDirectory) {
    fail(0, 0, `Cannot read environment ${JSON.stringify(name)}: ${file} is a folder, not a file`);
  }
  if (info.size > MAX_ENVIRONMENT_BYTES) {
    fail(
      0,
      0,
      `${file}: the file is ${(info.size / MAX_ENVIRONMENT_BYTES).toFixed(1)} MiB: an ` +
        "environment file is at most 1 MiB (is it the right file?)",
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw error;
    return fail(0, 0, `Cannot read environment ${JSON.stringify(name)}: ${file}: ${String(error)}`);
  }
  const bad = firstInvalidByte(bytes);
  if (bad >= 0) {
    const before = new TextDecoder().decode(bytes.subarray(0, bad));
    const lines = before.split("\n");
    fail(
      lines.length,
      lines.at(-1)!.length + 1,
      `the file is not UTF-8 text (byte 0x${bytes[bad]!.toString(16).padStart(2, "0")}): ` +
        "save it as UTF-8",
    );
  }
  return new TextDecoder().decode(bytes);
}

/**
 * The line where a quoted value that is never closed opened: a `quote` at the start of a
 * value (after `:`, `-`, `[`, `{`, `,` or the indentation) outside comments and other quotes.
 *
 * @param source The YAML text.
 * @param quote `"` or `'`.
 * @returns The 1-based line, or undefined when every such quote is closed.
 */
export function unclosedQuoteLine(source: string, quote: '"' | "'"): number | undefined {
  let open: number | undefined;
  let line = 1;
  let previous = "\n"; // the last character outside a quote that is not a space
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\n") line++;
    if (open !== undefined) {
      if (quote === '"' && c === "\\") i++;
      else if (c === quote && quote === "'" && source[i + 1] === "'") i++;
      else if (c === quote) open = undefined;
      continue;
    }
    if (c === "#" && /[\s]/.test(source[i - 1] ?? "\n")) {
      while (i + 1 < source.length && source[i + 1] !== "\n") i++;
      continue;
    }
    if ((c === '"' || c === "'") && /[\n:\-[{,]/.test(previous)) {
      if (c === quote) open = line;
      else {
        const end = source.indexOf(c, i + 1);
        if (end > i) {
          line += source.slice(i, end).split("\n").length - 1;
          i = end;
        }
      }
    }
    if (!/[ \t]/.test(c)) previous = c;
  }
  return open;
}
