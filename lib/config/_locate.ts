/**
 * Maps validation issues back to YAML nodes (line and column) and to the schema (known
 * keys, secret fields), so an environment error names file, line and field.
 * @module
 */
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import type { z } from "zod";
import { SENSITIVE_SCHEMAS } from "./_schema_parts.ts";

export type Path = readonly PropertyKey[];

export interface Position {
  line: number;
  column: number;
}

interface Located {
  key?: Node;
  value?: Node;
}

/** Finds the key and value nodes at `path`; stops at the deepest existing node. */
export function locate(doc: Document, path: Path): { found: Located; depth: number } {
  let current: unknown = doc.contents;
  let found: Located = isNode(current) ? { value: current } : {};
  let depth = 0;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((p) =>
        isScalar(p.key) ? String(p.key.value) === String(segment) : false
      );
      if (!pair) break;
      found = {};
      if (isNode(pair.key)) found.key = pair.key;
      if (isNode(pair.value)) found.value = pair.value;
      current = pair.value;
    } else if (isSeq(current) && typeof segment === "number") {
      const item = current.items[segment];
      if (!isNode(item)) break;
      found = { value: item };
      current = item;
    } else {
      break;
    }
    depth++;
  }
  return { found, depth };
}

function isNode(value: unknown): value is Node {
  return (isScalar(value) || isMap(value) || isSeq(value)) && value.range !== undefined;
}

export function positionOf(node: Node | undefined, lineCounter: LineCounter): Position {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Finds the dotted path of the map key whose node starts at `offset` (for YAML errors). */
export function pathAtOffset(doc: Document, offset: number): string[] | undefined {
  function walk(node: unknown, path: string[]): string[] | undefined {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : "?";
        if (isScalar(pair.key) && pair.key.range?.[0] === offset) return [...path, key];
        const inner = walk(pair.value, [...path, key]);
        if (inner) return inner;
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        const inner = walk(item, [...path, String(index)]);
        if (inner) return inner;
      }
    }
    return undefined;
  }
  return walk(doc.contents, []);
}

/** The first key node named like the key at `offset` in the same map (for duplicates). */
export function firstKeyLine(
  doc: Document,
  path: string[],
  lineCounter: LineCounter,
): number | undefined {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  if (!isMap(parent)) return undefined;
  const name = path[path.length - 1];
  const first = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
  const key = first?.key;
  return isScalar(key) ? positionOf(key, lineCounter).line : undefined;
}

type AnySchema = z.core.$ZodType;

function unwrap(schema: AnySchema, onVisit: (s: AnySchema) => void): AnySchema {
  let current = schema;
  for (;;) {
    onVisit(current);
    const def = current._zod.def as unknown as Record<string, unknown>;
    const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
    if (inner === undefined) return current;
    current = inner as AnySchema;
  }
}

/** Walks the schema along `path`; `sensitive` is true when it passes through a secret. */
export function schemaAt(
  schema: AnySchema,
  path: Path,
): { schema: AnySchema | undefined; sensitive: boolean } {
  let sensitive = false;
  const visit = (s: AnySchema) => {
    if (SENSITIVE_SCHEMAS.has(s)) sensitive = true;
  };
  let current: AnySchema | undefined = unwrap(schema, visit);
  for (const segment of path) {
    if (current === undefined) break;
    const def = current._zod.def as unknown as Record<string, unknown>;
    let next: unknown;
    if (def.type === "object") next = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === "record") next = def.valueType;
    else if (def.type === "array") next = def.element;
    current = next === undefined ? undefined : unwrap(next as AnySchema, visit);
  }
  return { schema: current, sensitive };
}

/** The keys an object schema at `path` accepts. */
export function knownKeys(schema: AnySchema, path: Path): string[] {
  const found = schemaAt(schema, path).schema;
  const def = found?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === "object" ? Object.keys(def.shape as object) : [];
}

/** Edit distance counting an adjacent transposition ("prot" for "port") as one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate when it is close enough to be a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.max(1, Math.min(3, Math.floor((word.length + 1) / 3)));
  return bestDistance <= limit ? best : undefined;
}

/** A short description of an input value for "got ..." (never used for secrets). */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    // Credentials pasted into a URL ("http://user:pass@host") are secrets too.
    const masked = value.replace(/(\/\/[^/\s:@]*:)[^@\s/]*@/g, "$1***@");
    return JSON.stringify(masked.length > 60 ? `${masked.slice(0, 57)}...` : masked);
  }
  return String(value);
}

/** The dotted path of the deepest node whose range contains `offset` (map keys, list indexes). */
export function pathContaining(doc: Document, offset: number): string[] {
  const inside = (node: unknown) =>
    isNode(node) && node.range![0] <= offset && offset < node.range![2];
  const path: string[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && inside(p.value));
      if (!pair) return path;
      path.push(isScalar(pair.key) ? String(pair.key.value) : "?");
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex(inside);
      if (index < 0) return path;
      path.push(String(index));
      node = node.items[index];
    } else return path;
  }
}
