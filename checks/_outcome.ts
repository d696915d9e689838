/**
 * Private helpers for building check outcomes and reading secret inputs.
 * @module
 */
import type { CheckOutcome, StageContext } from "../lib/dsl/types.ts";
import type { CommonCheckOptions, SecretInput } from "./options.ts";

export type { CommonCheckOptions, SecretInput };

/** A passing outcome. */
export function pass(message: string, evidence: Record<string, unknown> = {}): CheckOutcome {
  return { ok: true, message, evidence };
}

/** A failing outcome. */
export function fail(message: string, evidence: Record<string, unknown> = {}): CheckOutcome {
  return { ok: false, message, evidence };
}

/** A skipped outcome (recorded, neither pass nor fail). */
export function skip(message: string, evidence: Record<string, unknown> = {}): CheckOutcome {
  return { ok: true, skipped: true, message, evidence };
}

/**
 * Resolves a secret input at run time (inside the stage). A `secret_key_ref` is read
 * through the `kubernetes` capability (`readSecret`), in `namespace`.
 *
 * @returns The value, or an error message that names where it was looked for (never the value).
 */
export async function resolveSecret(
  input: SecretInput | undefined,
  where: { ctx?: StageContext; namespace?: string | undefined } = {},
): Promise<{ value: string | undefined } | { error: string }> {
  if (input === undefined) return { value: undefined };
  if (typeof input === "string") return { value: input };
  if (typeof input === "function") {
    try {
      return { value: await input() };
    } catch (err) {
      return { error: `cannot read the secret: ${err instanceof Error ? err.name : "error"}` };
    }
  }
  if ("from_env" in input) {
    try {
      const value = Deno.env.get(input.from_env);
      return value === undefined
        ? { error: `environment variable ${input.from_env} is not set` }
        : { value };
    } catch {
      return { error: `no permission to read environment variable ${input.from_env}` };
    }
  }
  const { name, key } = input.secret_key_ref;
  if (!where.ctx || !where.namespace) {
    return {
      error:
        `secret ${name}/${key} is a Kubernetes secret reference: give the check secretNamespace and declare uses("kubernetes")`,
    };
  }
  try {
    const kube = where.ctx.use<SecretReader>("kubernetes");
    const value = await kube.readSecret(where.namespace, name, key);
    return value === null || value === undefined || value === ""
      ? { error: `secret ${where.namespace}/${name} has no key ${key}` }
      : { value };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { error: `cannot read secret ${where.namespace}/${name}: ${reason}` };
  }
}

/** The part of the `kubernetes` capability secret resolution needs. */
interface SecretReader {
  readSecret(namespace: string, name: string, key: string): Promise<string | null>;
}

/**
 * Replaces every occurrence of the given secret values in a text by `***`.
 *
 * @param text The text.
 * @param secrets Values to hide (empty and very short values are ignored).
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}

/** Parses `"24h"`, `"30m"`, `"10s"`, `"500ms"`, `"2d"` or a number of milliseconds. */
export function toMs(value: string | number, what: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what} must be >= 0`);
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) {
    throw new RangeError(
      `Cannot parse ${what} ${
        JSON.stringify(value)
      }: expected a number and a unit (ms, s, m, h, d)`,
    );
  }
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[match[2] as "ms"];
  return Number(match[1]) * unit;
}
