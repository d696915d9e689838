/**
 * HTTP security checks: required security headers, and no sensitive data (passwords,
 * secrets, tokens, private keys, connection strings) in a public endpoint's output.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import { fail, pass } from "./_outcome.ts";
import { checkUrl, get, type HttpCheckOptions } from "./_http.ts";

/** A header that must be present, and optionally match a pattern. */
export interface HeaderRule {
  /** The header name (case-insensitive). */
  readonly name: string;
  /** The value must match this (default: any non-empty value). */
  readonly pattern?: RegExp;
  /** Only required on `https:` URLs (e.g. Strict-Transport-Security). */
  readonly httpsOnly?: boolean;
}

/** The default rules: X-Content-Type-Options, X-Frame-Options, HSTS (https), CSP. */
export const DEFAULT_SECURITY_HEADERS: readonly HeaderRule[] = [
  { name: "X-Content-Type-Options", pattern: /^nosniff$/i },
  { name: "X-Frame-Options", pattern: /^(DENY|SAMEORIGIN)$/i },
  { name: "Strict-Transport-Security", pattern: /max-age=\d+/i, httpsOnly: true },
  { name: "Content-Security-Policy" },
];

/**
 * The response carries the security headers (default {@linkcode DEFAULT_SECURITY_HEADERS};
 * HSTS only for `https:` URLs), each with an acceptable value.
 *
 * @param url The URL to request (e.g. the API's `/health`).
 * @param options `headers` rules (replacing the defaults), deadline, name, required.
 * @returns The check; evidence: url, present (name → value), missing, invalid.
 *
 * @example
 * ```ts
 * import { securityHeaders } from "./security.ts";
 * import assert from "node:assert/strict";
 * assert.equal(securityHeaders("https://api.example.com/health").name, "Security headers");
 * ```
 */
export function securityHeaders(
  url: string,
  options: HttpCheckOptions & { readonly rules?: readonly HeaderRule[] } = {},
): Check {
  checkUrl(url, options.name ?? "Security headers");
  const rules = options.rules ?? DEFAULT_SECURITY_HEADERS;
  const https = new URL(url).protocol === "https:";
  return {
    name: options.name ?? "Security headers",
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) return fail(`${url} unreachable: ${r.error}`, { url, error: r.error });
      const present: Record<string, string> = {};
      const missing: string[] = [];
      const invalid: string[] = [];
      const skipped: string[] = [];
      for (const rule of rules) {
        if (rule.httpsOnly && !https) {
          skipped.push(rule.name);
          continue;
        }
        const value = r.headers.get(rule.name);
        if (value === null || value.trim() === "") missing.push(rule.name);
        else {
          present[rule.name] = value;
          if (rule.pattern && !rule.pattern.test(value.trim())) invalid.push(rule.name);
        }
      }
      const evidence = { url, status: r.status, present, missing, invalid, notApplicable: skipped };
      if (missing.length > 0 || invalid.length > 0) {
        const parts = [
          ...(missing.length ? [`missing ${missing.join(", ")}`] : []),
          ...(invalid.length ? [`unacceptable ${invalid.join(", ")}`] : []),
        ];
        return fail(`${url}: ${parts.join("; ")}`, evidence);
      }
      return pass(`${url} sends ${Object.keys(present).length} security headers`, evidence);
    },
  };
}

/** A named pattern of sensitive data. */
export interface SensitivePattern {
  /** What it finds, for the evidence (e.g. `"password"`). */
  readonly name: string;
  /** The pattern (use the `g` flag to count every occurrence). */
  readonly pattern: RegExp;
}

/** The default patterns: passwords, secrets, tokens, API keys, private keys, connection strings. */
export const DEFAULT_SENSITIVE_PATTERNS: readonly SensitivePattern[] = [
  { name: "password", pattern: /passw(or)?d|\bpwd\b/gi },
  { name: "secret", pattern: /secret/gi },
  { name: "token", pattern: /token/gi },
  { name: "api key", pattern: /api[_-]?key/gi },
  { name: "private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----|private[_-]?key/gi },
  {
    name: "connection string",
    pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/"']+:[^\s@/"']+@[^\s"']+/gi,
  },
  {
    name: "connection string",
    pattern: /\b(postgres(ql)?|mysql|mongodb(\+srv)?|redis|rediss|amqp):\/\/[^\s"']+/gi,
  },
];

/**
 * Finds sensitive data in a text. Returns where and what kind, never the matched text.
 *
 * @param text The text to scan.
 * @param patterns The patterns (default {@linkcode DEFAULT_SENSITIVE_PATTERNS}).
 * @returns One finding per match: pattern name, line and column (1-based).
 *
 * @example
 * ```ts
 * import { findSensitiveData } from "./security.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(findSensitiveData('{"db":"postgres://u:p@h/db"}').map((f) => f.kind), [
 *   "connection string",
 * ]);
 * ```
 */
export function findSensitiveData(
  text: string,
  patterns: readonly SensitivePattern[] = DEFAULT_SENSITIVE_PATTERNS,
): { kind: string; line: number; column: number }[] {
  const found = new Map<number, { kind: string; line: number; column: number }>();
  for (const { name, pattern } of patterns) {
    const global = pattern.global ? pattern : new RegExp(pattern.source, pattern.flags + "g");
    global.lastIndex = 0;
    for (const match of text.matchAll(global)) {
      const index = match.index ?? 0;
      if (found.has(index)) continue;
      const before = text.slice(0, index);
      const line = before.split("\n").length;
      const column = index - before.lastIndexOf("\n");
      found.set(index, { kind: name, line, column });
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
}

/**
 * A public endpoint's output (e.g. `/health`) contains no sensitive data. The evidence
 * names what kind was found and where (line, column), never the text itself.
 *
 * @param url The URL to request.
 * @param options `patterns` (replacing the defaults), deadline, name, required.
 * @returns The check; evidence: url, status, bytes, findings.
 *
 * @example
 * ```ts
 * import { noSensitiveData } from "./security.ts";
 * import assert from "node:assert/strict";
 * assert.equal(noSensitiveData("http://127.0.0.1:8000/health").name, "No sensitive data exposure");
 * ```
 */
export function noSensitiveData(
  url: string,
  options: HttpCheckOptions & { readonly patterns?: readonly SensitivePattern[] } = {},
): Check {
  checkUrl(url, options.name ?? "No sensitive data exposure");
  return {
    name: options.name ?? "No sensitive data exposure",
    required: options.required ?? true,
    run: async (ctx) => {
      const r = await get(url, options, ctx.signal);
      if (!r.ok) return fail(`${url} unreachable: ${r.error}`, { url, error: r.error });
      const findings = findSensitiveData(r.body, options.patterns);
      const evidence = { url, status: r.status, bytes: r.body.length, findings };
      if (findings.length > 0) {
        const kinds = [...new Set(findings.map((f) => f.kind))];
        return fail(
          `${url} exposes what looks like sensitive data: ${
            kinds.join(", ")
          } (${findings.length} match${findings.length > 1 ? "es" : ""})`,
          evidence,
        );
      }
      return pass(`${url} exposes no sensitive data`, evidence);
    },
  };
}
