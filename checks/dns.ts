/**
 * DNS check: a name resolves (with `Deno.resolveDns`, optionally against a given name
 * server), optionally to expected addresses. Needs `net` permission.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import { round } from "../lib/probes/http.ts";
import { deadlineSignal, describeError } from "../lib/probes/timeout.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";

/** Options for {@linkcode dnsResolves}. */
export interface DnsCheckOptions extends CommonCheckOptions {
  /** Record type (default `"A"`). */
  readonly recordType?: "A" | "AAAA" | "CNAME" | "TXT" | "MX" | "NS" | "SRV";
  /** Ask this server instead of the system resolver (port default 53). */
  readonly nameServer?: { readonly ipAddr: string; readonly port?: number };
  /** Every one of these must be among the answers (for A/AAAA/CNAME/NS). */
  readonly expect?: readonly string[];
  /** Deadline in milliseconds (default 5 000). */
  readonly timeoutMs?: number;
}

function show(record: unknown): string {
  if (typeof record === "string") return record;
  if (Array.isArray(record)) return record.join("");
  return JSON.stringify(record);
}

/**
 * The hostname resolves (the seed's `nslookup tracktion.com`).
 *
 * @param hostname The name to resolve.
 * @param options Record type, name server, expected answers, deadline, name, required.
 * @returns The check; evidence: hostname, recordType, answers, latencyMs, nameServer.
 *
 * @example
 * ```ts
 * import { dnsResolves } from "./dns.ts";
 * import assert from "node:assert/strict";
 * assert.equal(dnsResolves("tracktion.com").name, "DNS resolution: tracktion.com");
 * ```
 */
export function dnsResolves(hostname: string, options: DnsCheckOptions = {}): Check {
  const recordType = options.recordType ?? "A";
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    name: options.name ?? `DNS resolution: ${hostname}`,
    required: options.required ?? true,
    run: async (ctx) => {
      const nameServer = options.nameServer
        ? { ipAddr: options.nameServer.ipAddr, port: options.nameServer.port ?? 53 }
        : undefined;
      const evidence: Record<string, unknown> = {
        hostname,
        recordType,
        nameServer: nameServer ? `${nameServer.ipAddr}:${nameServer.port}` : "system",
      };
      const signal = deadlineSignal(timeoutMs, ctx.signal);
      const t0 = performance.now();
      let answers: string[];
      try {
        const lookup = Deno.resolveDns(
          hostname,
          recordType as "A",
          { signal, ...(nameServer ? { nameServer } : {}) },
        );
        // Real work the run waits on: a virtual clock must not jump past it.
        const records = await (ctx.clock ? ctx.clock.track(`DNS ${hostname}`, lookup) : lookup);
        answers = (records as unknown[]).map(show);
      } catch (err) {
        const reason = err instanceof Deno.errors.NotFound
          ? "no such name (NXDOMAIN or no records)"
          : describeError(signal.aborted ? signal.reason : err, timeoutMs);
        return fail(`Cannot resolve ${hostname} (${recordType}): ${reason}`, {
          ...evidence,
          error: reason,
          latencyMs: round(performance.now() - t0),
        });
      }
      evidence.answers = answers;
      evidence.latencyMs = round(performance.now() - t0);
      if (answers.length === 0) return fail(`${hostname} has no ${recordType} records`, evidence);
      const missing = (options.expect ?? []).filter((e) =>
        !answers.some((a) => a.replace(/\.$/, "") === e.replace(/\.$/, ""))
      );
      if (missing.length > 0) {
        evidence.missing = missing;
        return fail(
          `${hostname} resolves to ${answers.join(", ")}, not ${missing.join(", ")}`,
          evidence,
        );
      }
      return pass(`${hostname} resolves to ${answers.join(", ")}`, evidence);
    },
  };
}
