/**
 * POSTs JSON with a deadline per attempt and retries (jittered exponential backoff on a
 * clock, `Retry-After` honoured: see `retry.ts`), never throws, and scrubs secrets from errors.
 * @module
 */
import { realClock } from "../clock/clock.ts";
import { deliver } from "./retry.ts";
import type { NotifyResult, TransportOptions } from "./types.ts";

/**
 * Every form in which a secret might appear in an error message.
 *
 * @example
 * ```ts
 * import { secretForms } from "./_send.ts";
 * console.assert(secretForms(["https://hooks.example/services/T0SECRET"]).includes("T0SECRET"));
 * ```
 */
export function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    if (URL.canParse(secret)) {
      const url = new URL(secret);
      forms.add(url.href);
      if (url.pathname.length > 1) forms.add(url.pathname);
      for (const part of url.pathname.split("/")) if (part.length >= 8) forms.add(part);
      if (url.search) forms.add(url.search);
    }
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Replaces every form of every secret by `***`.
 *
 * @example
 * ```ts
 * import { scrub } from "./_send.ts";
 * console.assert(scrub("failed: https://h.example/x/T0SECRET", ["https://h.example/x/T0SECRET"]) === "failed: ***");
 * ```
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const form of secretForms(secrets)) out = out.split(form).join("***");
  return out;
}

/**
 * POSTs a JSON body; retries network errors, timeouts, 408, 429 and 5xx (`retry.ts`).
 * A 4xx that is the caller's fault is not retried.
 *
 * @example
 * ```ts
 * import { postJson } from "./_send.ts";
 * const r = await postJson("slack", "http://127.0.0.1:1/hook", {}, { secrets: [], attempts: 1 });
 * console.assert(!r.ok && r.attempts === 1);
 * ```
 */
export async function postJson(
  channel: NotifyResult["channel"],
  url: string,
  body: unknown,
  options: TransportOptions & { secrets: readonly string[] },
): Promise<NotifyResult> {
  const clock = options.clock ?? realClock;
  const t0 = clock.now();
  let d;
  try {
    d = await deliver(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }, {
      policy: {
        ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.retryDelayMs !== undefined ? { baseDelayMs: options.retryDelayMs } : {}),
        ...(options.maxRetryDelayMs !== undefined ? { maxDelayMs: options.maxRetryDelayMs } : {}),
      },
      clock,
      fetch: options.fetch,
      random: options.random,
      signal: options.signal,
    });
  } catch {
    d = { ok: false, attempts: 0, error: "cancelled", response: undefined };
  }
  const durationMs = Math.round(clock.since(t0));
  const status = d.response?.status;
  return {
    channel,
    ok: d.ok,
    ...(status !== undefined ? { status } : {}),
    ...(d.ok ? {} : { error: scrub(d.error ?? "not delivered", options.secrets) }),
    attempts: d.attempts,
    durationMs,
  };
}
