/**
 * POSTs JSON with a deadline and retries, never throws, and scrubs secrets from errors.
 * @module
 */
import { delay } from "../async/delay.ts";
import { describeError } from "../probes/timeout.ts";
import type { NotifyResult, TransportOptions } from "./types.ts";

/** Every form in which a secret might appear in an error message. */
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

/** Replaces every form of every secret by `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const form of secretForms(secrets)) out = out.split(form).join("***");
  return out;
}

/** POSTs a JSON body; retries network errors, 429 and 5xx. */
export async function postJson(
  channel: NotifyResult["channel"],
  url: string,
  body: unknown,
  options: TransportOptions & { secrets: readonly string[] },
): Promise<NotifyResult> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const attempts = Math.max(1, options.attempts ?? 2);
  const t0 = performance.now();
  let status: number | undefined;
  let error = "not sent";
  let attempt = 0;
  while (attempt < attempts) {
    attempt++;
    const signal = options.signal
      ? AbortSignal.any([AbortSignal.timeout(timeoutMs), options.signal])
      : AbortSignal.timeout(timeoutMs);
    try {
      const response = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
      });
      status = response.status;
      const text = (await response.text()).slice(0, 300);
      if (response.ok) {
        return {
          channel,
          ok: true,
          status,
          attempts: attempt,
          durationMs: Math.round(performance.now() - t0),
        };
      }
      error = `HTTP ${status}${text ? `: ${text.replace(/\s+/g, " ").trim()}` : ""}`;
      if (status !== 429 && status < 500) break;
    } catch (err) {
      status = undefined;
      error = describeError(signal.aborted ? signal.reason : err, timeoutMs);
      if (options.signal?.aborted) break;
    }
    if (attempt < attempts) {
      await delay(options.retryDelayMs ?? 500);
    }
  }
  return {
    channel,
    ok: false,
    ...(status !== undefined ? { status } : {}),
    error: scrub(error, options.secrets),
    attempts: attempt,
    durationMs: Math.round(performance.now() - t0),
  };
}
