/**
 * A tar reader for image layers: ustar and GNU headers, GNU long names (`L`) and pax
 * extended headers (`x`, their `path`), regular files with their bytes. Enough to list what
 * a layer holds; not a general archiver.
 * @module
 */

/** One entry of a tar archive. */
export interface TarEntry {
  /** The path, without a leading `./` or `/`. */
  readonly path: string;
  /** `file`, `dir`, `symlink`, `hardlink` or `other`. */
  readonly type: "file" | "dir" | "symlink" | "hardlink" | "other";
  /** The permission bits. */
  readonly mode: number;
  /** A regular file's bytes (empty for the others). */
  readonly data: Uint8Array;
  /** A link's target. */
  readonly linkname: string;
}

function text(block: Uint8Array, at: number, len: number): string {
  const bytes = block.subarray(at, at + len);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(block: Uint8Array, at: number, len: number): number {
  // GNU base-256 for large sizes: the high bit of the first byte set.
  if ((block[at] ?? 0) & 0x80) {
    let n = 0;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + (block[i] ?? 0);
    return n;
  }
  const s = text(block, at, len).trim();
  return s === "" ? 0 : parseInt(s, 8);
}

function paxPath(data: Uint8Array): string | undefined {
  const records = new TextDecoder().decode(data);
  let at = 0;
  let path: string | undefined;
  while (at < records.length) {
    const space = records.indexOf(" ", at);
    if (space < 0) break;
    const len = parseInt(records.slice(at, space), 10);
    if (!(len > 0)) break;
    const record = records.slice(space + 1, at + len - 1);
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") path = record.slice(eq + 1);
    at += len;
  }
  return path;
}

function clean(path: string): string {
  return path.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
}

const TYPES: Readonly<Record<string, TarEntry["type"]>> = {
  "0": "file",
  "\0": "file",
  "": "file",
  "7": "file",
  "5": "dir",
  "2": "symlink",
  "1": "hardlink",
};

/**
 * Reads every entry of a tar archive.
 *
 * @param tar The archive's bytes (uncompressed).
 * @returns The entries, in order.
 * @throws {SyntaxError} When a header's checksum does not match or an entry is cut short.
 *
 * @example
 * ```ts ignore
 * import { readTar } from "./_tar.ts";
 * const entries = readTar(bytes);
 * ```
 */
export function readTar(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== octal(header, 148, 8)) {
      throw new SyntaxError(`Cannot read the layer: a tar header at byte ${at} is corrupt`);
    }
    const size = octal(header, 124, 12);
    const flag = String.fromCharCode(header[156] ?? 0);
    const start = at + 512;
    if (start + size > tar.length) {
      throw new SyntaxError(`Cannot read the layer: the entry at byte ${at} is cut short`);
    }
    const data = tar.subarray(start, start + size);
    at = start + Math.ceil(size / 512) * 512;
    if (flag === "L") {
      longName = text(data, 0, data.length);
      continue;
    }
    if (flag === "x") {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (flag === "g") continue;
    const prefix = text(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    const type = TYPES[flag] ?? "other";
    entries.push({
      path: clean(name),
      type,
      mode: octal(header, 100, 8),
      data: type === "file" ? data : new Uint8Array(),
      linkname: text(header, 157, 100),
    });
  }
  return entries;
}
