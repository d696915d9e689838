/**
 * Secret redaction: every string bound for a log, an event, a report or the screen
 * passes through a {@linkcode Redactor} holding the run's secret values.
 *
 * A registered secret is recognised in these forms, each of them also when
 * percent-encoded (any character outside `A-Z a-z 0-9 - . _ ~` raw or as `%XX` of its UTF-8
 * bytes in either hex case, a space also as `+`, so `encodeURIComponent`, `URLSearchParams`,
 * `encodeURI` and the `URL` setters are all covered):
 *
 * - the value itself;
 * - its JSON-escaped form (what `JSON.stringify` puts between the quotes), and that form
 *   escaped once more (JSON text kept as a string inside JSON);
 * - the base64 of its UTF-8 bytes, standard and URL-safe alphabets, with and without padding.
 *
 * @module
 */

/** The text that stands where a secret value was.
 *
 * @example
 * ```ts
 * import { REDACTED, Redactor } from "./redact.ts";
 * import assert from "node:assert/strict";
 * const r = new Redactor();
 * r.add("hunter2");
 * assert.equal(r.redact("hunter2"), REDACTED);
 * assert.equal(REDACTED, "[redacted]");
 * ```
 */
export const REDACTED = "[redacted]";

/**
 * Secrets shorter than this are refused where they enter the runner (an environment
 * variable at load, a Kubernetes Secret when read): they cannot be told apart from
 * ordinary text, so they could not be kept out of logs reliably.
 *
 * @example
 * ```ts
 * import { MIN_SECRET_LENGTH } from "./redact.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MIN_SECRET_LENGTH, 4);
 * ```
 */
export const MIN_SECRET_LENGTH = 4;

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const REGEXP_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const encoder = new TextEncoder();

function escapeRegExp(text: string): string {
  return text.replace(REGEXP_SYNTAX, "\\$&");
}

/** `[aA]` for a hex letter, the digit itself otherwise. */
function hexDigit(d: string): string {
  return /[A-F]/.test(d) ? `[${d}${d.toLowerCase()}]` : d;
}

/** Per character of `form`, a pattern that matches it raw or percent-encoded. */
function percentTolerant(form: string): string[] {
  const out: string[] = [];
  for (const ch of form) {
    if (UNRESERVED.test(ch)) {
      out.push(ch);
      continue;
    }
    let pct = "";
    for (const b of encoder.encode(ch)) {
      const hex = b.toString(16).toUpperCase().padStart(2, "0");
      pct += `%${hexDigit(hex[0]!)}${hexDigit(hex[1]!)}`;
    }
    out.push(`(?:${escapeRegExp(ch)}|${pct}${ch === " " ? "|\\+" : ""})`);
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The literal forms of one secret (see the module documentation). */
function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const b64 = base64(encoder.encode(value));
  const b64url = b64.replaceAll("+", "-").replaceAll("/", "_");
  return [
    value,
    json,
    JSON.stringify(json).slice(1, -1),
    b64,
    b64.replace(/=+$/, ""),
    b64url,
    b64url.replace(/=+$/, ""),
  ];
}

interface Compiled {
  /** Finds the first secret form (no marker), to return early for the common line. */
  find: RegExp;
  /** At every position, the longest form (or the marker) starting there, as group 1. */
  scan: RegExp;
}

/**
 * Replaces known secret values, and their escaped and encoded forms, in text and in
 * structures bound for JSON.
 *
 * Matching is done with one regular expression over all forms of all secrets (a trie of
 * them, so a log line is scanned once however many secrets there are), rebuilt on the first
 * {@linkcode Redactor.redact} after an {@linkcode Redactor.add}. Longer forms win
 * over shorter ones at the same position, and overlapping occurrences are replaced as one
 * span, so no part of a secret survives next to a marker. A `[redacted]` already in the text
 * is left alone, so redacting twice gives the same text as redacting once, even with a
 * one-letter secret.
 *
 * @example
 * ```ts
 * import { Redactor } from "./redact.ts";
 * import assert from "node:assert/strict";
 * const r = new Redactor();
 * r.add('pa"ss');
 * assert.equal(r.redact("password=pa\"ss"), "password=[redacted]");
 * assert.equal(JSON.stringify(r.redactValue({ password: 'pa"ss' })), '{"password":"[redacted]"}');
 * assert.equal(r.redact(JSON.stringify({ password: 'pa"ss' })), '{"password":"[redacted]"}');
 * ```
 */
export class Redactor {
  #secrets = new Set<string>();
  #forms = new Set<string>();
  #patternForms = new Set<string>();
  #compiled: Compiled | undefined;

  /**
   * Registers a secret value: it and its forms are redacted from now on. Any non-empty
   * string is accepted, however short (a one-character secret redacts that character
   * everywhere); the empty string is ignored. A short secret also matches inside JSON text
   * given to {@linkcode Redactor.redact} (a secret `:` would break it): redact structures
   * with {@linkcode Redactor.redactValue} before serializing them.
   *
   * @throws {TypeError} When `value` is not a string.
   *
   * @example
   * ```ts
   * import { Redactor } from "./redact.ts";
   * import assert from "node:assert/strict";
   * const r = new Redactor();
   * r.add("");
   * assert.equal(r.size, 0);
   * r.add("x7");
   * assert.equal(r.redact("id=x7"), "id=[redacted]");
   * assert.equal(r.redact(`auth=${btoa("x7")}`), "auth=[redacted]");
   * ```
   */
  add(value: string): void {
    if (typeof value !== "string") {
      throw new TypeError(`Redactor.add() expects a string, got ${typeof value}`);
    }
    if (value === "" || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    for (const form of formsOf(value)) {
      this.#forms.add(form);
      this.#patternForms.add(form);
    }
    // The URL-encoded forms are counted in `size`; the percent-tolerant patterns of the
    // forms above match them (and other percent-encodings), so they need no pattern.
    this.#forms.add(encodeURIComponent(value.toWellFormed()));
    this.#forms.add(new URLSearchParams({ v: value }).toString().slice(2));
    this.#compiled = undefined;
  }

  /**
   * How many distinct forms are registered: for each secret the value, its JSON-escaped,
   * base64 and URL-encoded forms, each form counted once across all secrets.
   *
   * @example
   * ```ts
   * import { Redactor } from "./redact.ts";
   * import assert from "node:assert/strict";
   * const r = new Redactor();
   * assert.equal(r.size, 0);
   * r.add("hunter2"); // hunter2, aHVudGVyMg==, aHVudGVyMg
   * assert.equal(r.size, 3);
   * r.add("hunter2");
   * assert.equal(r.size, 3);
   * ```
   */
  get size(): number {
    return this.#forms.size;
  }

  /**
   * Returns `text` with every occurrence of every form of every registered secret replaced
   * by {@linkcode REDACTED}. A value that is not a string is converted with `String()` first.
   *
   * @example
   * ```ts
   * import { Redactor } from "./redact.ts";
   * import assert from "node:assert/strict";
   * const r = new Redactor();
   * r.add("a b/c");
   * r.add("a b/c+d"); // the first one is a prefix of this one
   * assert.equal(r.redact("x a b/c+d y"), "x [redacted] y");
   * assert.equal(r.redact("q=a+b%2Fc&r=a%20b%2fc%2Bd"), "q=[redacted]&r=[redacted]");
   * assert.equal(r.redact(`Basic ${btoa("a b/c")}`), "Basic [redacted]");
   * ```
   */
  redact(text: string): string {
    if (typeof text !== "string") text = String(text);
    if (this.#forms.size === 0 || text.length === 0) return text;
    const { find, scan } = this.#compiled ??= this.#compile();
    const first = text.search(find);
    if (first < 0) return text;

    // Every position from (just before) the first match on: the longest form starting there.
    // Spans that overlap are merged; a marker already in the text is kept as it is.
    let out = "";
    let spanStart = -1;
    let spanEnd = -1;
    let kept = 0;
    let markerEnd = -1;
    scan.lastIndex = Math.max(0, first - REDACTED.length + 1);
    for (let m = scan.exec(text); m !== null; m = scan.exec(text)) {
      const start = m.index;
      const end = start + m[1]!.length;
      scan.lastIndex = start + 1;
      if (m[1] === REDACTED) {
        markerEnd = Math.max(markerEnd, end);
        continue;
      }
      if (end <= markerEnd) continue;
      if (start < spanEnd) {
        spanEnd = Math.max(spanEnd, end);
        continue;
      }
      if (spanEnd >= 0) {
        out += text.slice(kept, spanStart) + REDACTED;
        kept = spanEnd;
      }
      spanStart = start;
      spanEnd = end;
    }
    if (spanEnd < 0) return text;
    return out + text.slice(kept, spanStart) + REDACTED + text.slice(spanEnd);
  }

  /**
   * Returns a copy of `value` with every string in it, object keys included, redacted
   * before it is ever serialized, so a secret's escaped form cannot slip through
   * `JSON.stringify`.
   *
   * - Strings are redacted with {@linkcode Redactor.redact}; arrays and objects are copied.
   * - A value with a `toJSON()` method (a `Date`, say) is replaced by what it returns, and
   *   an object that is not a plain object by its own enumerable properties, as
   *   `JSON.stringify` would do; boxed strings, numbers and booleans become primitives.
   * - Everything else (numbers, booleans, `null`, `undefined`, bigints, functions, symbols)
   *   is kept as it is, except a `toJSON` function property of a copied object (the copy's
   *   serialization must not call what the original's would not have called).
   * - When two keys of one object redact to the same key, the later one's value wins (as
   *   with `JSON.parse` of duplicate keys).
   * - The same object may appear more than once; a **cycle** throws a `TypeError` naming
   *   the path of the repeated object (`JSON.stringify` would throw on it too).
   *
   * @throws {TypeError} When `value` contains a cycle.
   *
   * @example
   * ```ts
   * import { Redactor } from "./redact.ts";
   * import assert from "node:assert/strict";
   * const r = new Redactor();
   * r.add("s3cr\\et");
   * const out = r.redactValue({ dsn: "pg://u:s3cr\\et@db", n: 1, ok: true, none: null });
   * assert.deepEqual(out, { dsn: "pg://u:[redacted]@db", n: 1, ok: true, none: null });
   * const cyclic: Record<string, unknown> = {};
   * cyclic.self = cyclic;
   * assert.throws(() => r.redactValue(cyclic), TypeError);
   * ```
   */
  redactValue<T>(value: T): T {
    const ancestors = new Set<object>();
    const path: (string | number)[] = [];
    const keys = new Map<string, string>();
    const walk = (v: unknown, key: string): unknown => {
      if (typeof v === "object" && v !== null) {
        // As JSON.stringify: toJSON() once, and what it returns is serialized as it is.
        const toJSON = (v as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === "function") v = toJSON.call(v, key);
      }
      return serialize(v);
    };
    const serialize = (v: unknown): unknown => {
      if (typeof v === "string") return this.redact(v);
      if (typeof v !== "object" || v === null) return v;
      if (v instanceof String) return this.redact(String(v));
      if (v instanceof Number || v instanceof Boolean) return v.valueOf();
      if (ancestors.has(v)) {
        const where = path.map((p) => typeof p === "number" ? `[${p}]` : `.${p}`).join("");
        throw new TypeError(`Redactor.redactValue(): circular reference at $${where}`);
      }
      ancestors.add(v);
      try {
        if (Array.isArray(v)) {
          const out: unknown[] = new Array(v.length);
          for (let i = 0; i < v.length; i++) {
            path.push(i);
            out[i] = walk(v[i], String(i));
            path.pop();
          }
          return out;
        }
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v)) {
          path.push(k);
          const rk = keys.get(k) ?? this.redact(k);
          keys.set(k, rk);
          const rv = walk((v as Record<string, unknown>)[k], k);
          // A toJSON() that JSON.stringify would not have called must not be called later.
          if (k === "toJSON" && typeof rv === "function") {
            path.pop();
            continue;
          }
          // A "__proto__" key must stay an own property: assignment would set the prototype.
          if (rk === "__proto__") {
            Object.defineProperty(out, rk, {
              value: rv,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else out[rk] = rv;
          path.pop();
        }
        return out;
      } finally {
        ancestors.delete(v);
      }
    };
    return walk(value, "") as T;
  }

  #compile(): Compiled {
    const forms = [...this.#patternForms].map(percentTolerant);
    const marker = [...REDACTED].map(escapeRegExp);
    return {
      find: new RegExp(trie(forms)),
      scan: new RegExp(`(?=(${trie([...forms, marker])}))`, "g"),
    };
  }
}

interface TrieNode {
  children: Map<string, TrieNode>;
  end: boolean;
  /** The most tokens below this node. */
  depth: number;
}

/** One pattern for all token sequences, sharing prefixes; longer continuations first. */
function trie(sequences: string[][]): string {
  const root: TrieNode = { children: new Map(), end: false, depth: 0 };
  for (const tokens of sequences) {
    let node = root;
    for (let i = 0; i < tokens.length; i++) {
      if (node.depth < tokens.length - i) node.depth = tokens.length - i;
      let next = node.children.get(tokens[i]!);
      if (next === undefined) {
        next = { children: new Map(), end: false, depth: 0 };
        node.children.set(tokens[i]!, next);
      }
      node = next;
    }
    node.end = true;
  }
  const emit = (node: TrieNode): string => {
    let out = "";
    // A chain of single children is a plain sequence.
    while (node.children.size === 1 && !node.end) {
      const [token, child] = node.children.entries().next().value!;
      out += token;
      node = child;
    }
    if (node.children.size === 0) return out;
    const alternatives: string[] = [];
    const children = [...node.children].sort((a, b) => b[1].depth - a[1].depth);
    for (const [token, child] of children) alternatives.push(token + emit(child));
    if (node.end) alternatives.push("");
    return `${out}(?:${alternatives.join("|")})`;
  };
  return emit(root);
}
