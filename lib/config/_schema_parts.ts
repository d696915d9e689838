/**
 * Small zod builders whose messages read "expected ..."; the loader appends ", got <value>".
 * @module
 */
import { z } from "zod";
import { type Duration, parseDuration } from "./duration.ts";
import { parseByteSize, parseQuantity } from "./quantity.ts";
import type { SecretRef } from "./secret_ref.ts";

/** Schemas whose input must never be echoed in messages (secret references). */
export const SENSITIVE_SCHEMAS: WeakSet<object> = new WeakSet();

export function integer(min: number, max?: number) {
  const error = max === undefined
    ? `expected an integer >= ${min}`
    : `expected an integer from ${min} to ${max}`;
  const base = z.int({ error }).min(min, { error });
  return max === undefined ? base : base.max(max, { error });
}

/**
 * A count: an integer >= `min` ("expected an integer >= 0" below it, as {@linkcode integer})
 * and at most `max`, which `why` explains ("the most replicas one service may have").
 *
 * @example
 * ```ts
 * import { count } from "./_schema_parts.ts";
 * const replicas = count(0, 1000, "the most replicas one service may have");
 * console.assert(replicas.safeParse(1001).success === false);
 * ```
 */
export function count(min: number, max: number, why: string) {
  return z.int({ error: `expected an integer >= ${min}` })
    .min(min, { error: `expected an integer >= ${min}` })
    .max(max, { error: `expected an integer <= ${max} (${why})` });
}

export function boolean() {
  return z.boolean({ error: "expected true or false" });
}

export function pattern(regex: RegExp, what: string) {
  return z.string({ error: `expected ${what}` }).regex(regex, { error: `expected ${what}` });
}

export function text(what: string) {
  return z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const error = `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return z.enum(values, { error });
}

export function mapping<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: "expected a mapping" });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;

export function dnsLabel(what: string) {
  return pattern(DNS_LABEL, `${what} (lowercase letters, digits and "-", at most 63)`);
}

/** A DNS subdomain name (most Kubernetes object names): lowercase, digits, "-" and ".". */
export function dnsSubdomain(what: string) {
  return pattern(DNS_LABEL_OR_SUBDOMAIN, `${what} (lowercase letters, digits, "-" and ".")`);
}

export function hostname() {
  return pattern(HOSTNAME, 'a host name like "db.example.internal"');
}

export function port() {
  return integer(1, 65535);
}

const DURATION_HINT = 'expected a duration like "30s", "15m", "1h30m", "24h" or "7 days"';

export function duration() {
  return z.string({ error: DURATION_HINT }).transform((value, ctx): Duration => {
    const parsed = parseDuration(value);
    if (parsed === undefined || parsed.ms <= 0) {
      ctx.addIssue({ code: "custom", message: DURATION_HINT });
      return z.NEVER;
    }
    return parsed;
  });
}

export function quantity(kind: "cpu" | "memory") {
  const error = kind === "cpu"
    ? 'expected a Kubernetes CPU quantity like "500m" or "2"'
    : 'expected a Kubernetes memory quantity like "512Mi" or "2Gi"';
  return z.union([z.string(), z.number()], { error }).transform((value, ctx): string => {
    const textValue = String(value);
    const parsed = parseQuantity(textValue);
    // A memory quantity with a milli suffix ("512m" bytes) is a classic typo for "512Mi".
    if (parsed === undefined || parsed <= 0 || (kind === "memory" && textValue.endsWith("m"))) {
      ctx.addIssue({ code: "custom", message: error });
      return z.NEVER;
    }
    return textValue;
  });
}

/**
 * A percentage written as `"0.05%"` (0% to 100%), read as a fraction (`0.0005`).
 *
 * @example
 * ```ts
 * import { percentage } from "./_schema_parts.ts";
 * console.assert(percentage().parse("0.05%") === 0.0005);
 * ```
 */
export function percentage() {
  const error = 'expected a percentage like "0.05%" (from 0% to 100%)';
  return z.string({ error }).transform((value, ctx): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    const fraction = m ? Number(m[1]) / 100 : NaN;
    if (!(fraction >= 0 && fraction <= 1)) {
      ctx.addIssue({ code: "custom", message: error });
      return z.NEVER;
    }
    return fraction;
  });
}

/**
 * A rate: a number >= 0 and at most `max`, which `why` explains.
 *
 * @example
 * ```ts
 * import { rate } from "./_schema_parts.ts";
 * console.assert(rate(100, "the most").safeParse(-1).success === false);
 * ```
 */
export function rate(max: number, why: string) {
  const error = "expected a number >= 0 (requests per second)";
  return z.number({ error }).min(0, { error }).max(max, {
    error: `expected a number <= ${max} (${why})`,
  });
}

export function byteSize() {
  const error = 'expected a storage size like "20GB" or "500Gi"';
  return z.string({ error }).refine((value) => (parseByteSize(value) ?? 0) > 0, { error });
}

export function httpUrl() {
  const error = 'expected an http(s) URL like "http://prometheus.example.internal:9090"';
  return z.string({ error }).refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  }, { error }).refine((value) => {
    const url = URL.canParse(value) ? new URL(value) : undefined;
    return url === undefined || (url.username === "" && url.password === "");
  }, { error: "expected a URL without credentials (use a secret reference for those)" });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_EXPECTED = "expected a secret reference ({ from_env: NAME } or " +
  "{ secret_key_ref: { name: SECRET, key: KEY } })";

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkSecretKeyRef(value: unknown, ctx: z.RefinementCtx): SecretRef | undefined {
  if (!isMapping(value)) {
    ctx.addIssue({
      code: "custom",
      path: ["secret_key_ref"],
      message: "expected a mapping with the Kubernetes Secret's name and key",
    });
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(value)) {
    if (key !== "name" && key !== "key") {
      ctx.addIssue({
        code: "custom",
        path: ["secret_key_ref", key],
        message: 'unknown key (expected "name" and "key")',
      });
      ok = false;
    }
  }
  const name = value.name;
  if (typeof name !== "string" || !DNS_LABEL_OR_SUBDOMAIN.test(name)) {
    ctx.addIssue({
      code: "custom",
      path: ["secret_key_ref", "name"],
      message: 'expected a Kubernetes Secret name like "db-credentials"',
    });
    ok = false;
  }
  const key = value.key;
  if (typeof key !== "string" || !SECRET_KEY.test(key)) {
    ctx.addIssue({
      code: "custom",
      path: ["secret_key_ref", "key"],
      message: 'expected a key of the Secret like "password"',
    });
    ok = false;
  }
  return ok ? { secret_key_ref: { name: name as string, key: key as string } } : undefined;
}

const DNS_LABEL_OR_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** A secret reference; its input is never echoed in messages (it may be a pasted secret). */
export function secretRef() {
  const schema = z.custom<Record<string, unknown>>(isMapping, {
    error: (issue) =>
      typeof issue.input === "string"
        ? `${SECRET_EXPECTED}, got a plain string (value not shown): ` +
          "never write a secret's value in an environment file"
        : SECRET_EXPECTED,
  }).transform((value, ctx): SecretRef => {
    const keys = Object.keys(value);
    if (keys.length !== 1 || (keys[0] !== "from_env" && keys[0] !== "secret_key_ref")) {
      ctx.addIssue({ code: "custom", message: SECRET_EXPECTED });
      return z.NEVER;
    }
    if (keys[0] === "from_env") {
      const name = value.from_env;
      if (typeof name !== "string" || !ENV_NAME.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["from_env"],
          message: 'expected an environment variable name like "DB_PASSWORD"',
        });
        return z.NEVER;
      }
      return { from_env: name };
    }
    return checkSecretKeyRef(value.secret_key_ref, ctx) ?? z.NEVER;
  });
  SENSITIVE_SCHEMAS.add(schema);
  return schema;
}
