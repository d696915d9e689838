/**
 * Label and field selectors: parsing (`app=x,tier in (a,b),!canary`), matching objects, and
 * `matchLabels`/`matchExpressions` selector objects.
 * @module
 */
import type { KObject } from "./resources.ts";
import { ApiError } from "./errors.ts";

/** One requirement of a label or field selector. */
export interface Requirement {
  /** The label key or field path. */
  key: string;
  /** The operator. */
  op: "=" | "!=" | "in" | "notin" | "exists" | "!exists";
  /** The values compared against. */
  values: string[];
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  if (current.trim() !== "") parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

/**
 * Parse a label selector string (`a=b,c!=d,e in (x,y),!f,g`).
 *
 * @example
 * ```ts
 * import { parseLabelSelector } from "./selectors.ts";
 * console.assert(parseLabelSelector("app=web").length === 1);
 * ```
 */
export function parseLabelSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    let m = part.match(/^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/);
    if (m) {
      const values = (m[3] ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
      out.push({ key: m[1] ?? "", op: m[2] as "in" | "notin", values });
      continue;
    }
    m = part.match(/^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/);
    if (m) {
      out.push({ key: m[1] ?? "", op: m[2] === "!=" ? "!=" : "=", values: [m[3] ?? ""] });
      continue;
    }
    m = part.match(/^!\s*([^\s!=()]+)$/);
    if (m) {
      out.push({ key: m[1] ?? "", op: "!exists", values: [] });
      continue;
    }
    m = part.match(/^([^\s!=()]+)$/);
    if (m) {
      out.push({ key: m[1] ?? "", op: "exists", values: [] });
      continue;
    }
    throw ApiError.badRequest(
      `unable to parse requirement: found '${part}', expected: valid selector`,
    );
  }
  return out;
}

/** Whether a label map satisfies every requirement. */
export function matchesLabels(
  requirements: Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const value = l[r.key];
    switch (r.op) {
      case "=":
        return has && value === r.values[0];
      case "!=":
        return !has || value !== r.values[0];
      case "in":
        return has && r.values.includes(value ?? "");
      case "notin":
        return !has || !r.values.includes(value ?? "");
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
  });
}

/** Parse a field selector (`metadata.name=x,status.phase!=Failed`). */
export function parseFieldSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const m = part.match(/^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) {
      throw ApiError.badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    }
    out.push({ key: m[1] ?? "", op: m[2] === "!=" ? "!=" : "=", values: [m[3] ?? ""] });
  }
  return out;
}

function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return "";
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return "";
  return String(cur);
}

/** Whether an object satisfies every field requirement. */
export function matchesFields(requirements: Requirement[], obj: KObject): boolean {
  return requirements.every((r) => {
    const value = fieldValue(obj, r.key);
    return r.op === "=" ? value === r.values[0] : value !== r.values[0];
  });
}

/** Whether a `LabelSelector` object (matchLabels / matchExpressions) matches labels. */
export function matchesSelectorObject(
  selector: Record<string, unknown> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const reqs: Requirement[] = [];
  const ml = (selector.matchLabels ?? {}) as Record<string, string>;
  for (const [key, value] of Object.entries(ml)) reqs.push({ key, op: "=", values: [value] });
  const exprs = (selector.matchExpressions ?? []) as {
    key: string;
    operator: string;
    values?: string[];
  }[];
  for (const e of exprs) {
    const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" } as const)[
      e.operator as "In"
    ];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  if (reqs.length === 0) return true;
  return matchesLabels(reqs, labels);
}

/** Format a LabelSelector object as a selector string. */
export function selectorString(selector: Record<string, unknown> | undefined): string {
  if (!selector) return "";
  const parts: string[] = [];
  const ml = (selector.matchLabels ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(ml)) parts.push(`${k}=${v}`);
  const exprs = (selector.matchExpressions ?? []) as {
    key: string;
    operator: string;
    values?: string[];
  }[];
  for (const e of exprs) {
    if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(",")})`);
  }
  return parts.join(",");
}
