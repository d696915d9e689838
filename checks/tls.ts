/**
 * TLS endpoint check: the certificate a server presents is trusted, matches the host
 * name, and stays valid for N more days (the seed's post-deployment `openssl s_client
 * -connect api...:443 | openssl x509 -checkend 2592000`). The certificate is read with
 * `node:tls` and `node:crypto`; the chain and the name are verified a second time by Deno's
 * own TLS (`Deno.connect`, then `Deno.startTls` with the name as SNI and the trusted CAs), as
 * an HTTPS client would. The address dialled and the name verified may differ (a gateway
 * reached at its published address for the public host). Needs `net` to the host.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import { describeError } from "../lib/probes/timeout.ts";
import { fail, pass } from "./_outcome.ts";
import type { CommonCheckOptions } from "./options.ts";

/** Options for {@linkcode tlsCertificate}. */
export interface TlsCertificateOptions extends CommonCheckOptions {
  /** Port (default 443). */
  readonly port?: number;
  /** The name to verify the certificate for (default: the host). */
  readonly servername?: string;
  /** Minimum days of validity left (default 30). */
  readonly minValidDays?: number;
  /** Trusted CA certificates (PEM) in place of the default roots, e.g. a private CA. */
  readonly ca?: string | readonly string[];
  /** Pass even if the chain is not trusted (the expiry and name are still checked). */
  readonly allowUntrusted?: boolean;
  /** Deadline in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** The clock (for tests). */
  readonly now?: () => number;
}

function isAddress(name: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.includes(":");
}

interface Presented {
  raw: Uint8Array;
  authorized: boolean;
  authorizationError?: string;
}

/** Verifies chain and name with Deno's TLS; the error's message, or undefined when trusted. */
async function denoVerifyError(
  host: string,
  options: TlsCertificateOptions,
  signal: AbortSignal,
): Promise<string | undefined> {
  const ca = options.ca === undefined
    ? undefined
    : typeof options.ca === "string"
    ? [options.ca]
    : [...options.ca];
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  let conn: Deno.TcpConn | undefined;
  let secure: Deno.TlsConn | undefined;
  try {
    conn = await Promise.race([
      Deno.connect({ hostname: host, port: options.port ?? 443 }),
      aborted,
    ]);
    secure = await Deno.startTls(conn, {
      hostname: options.servername ?? host,
      ...(ca ? { caCerts: ca } : {}),
    });
    await Promise.race([secure.handshake(), aborted]);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    try {
      (secure ?? conn)?.close();
    } catch { /* already closed */ }
  }
}

async function presentedCertificate(
  host: string,
  options: TlsCertificateOptions,
  signal: AbortSignal,
): Promise<Presented> {
  // Loaded when used: every stage Worker loads this module, one stage checks certificates.
  const tls = await import("node:tls");
  return await new Promise((resolve, reject) => {
    const servername = options.servername ?? host;
    const socket = tls.connect({
      host,
      port: options.port ?? 443,
      // SNI carries names only, never addresses.
      ...(isAddress(servername) ? {} : { servername }),
      rejectUnauthorized: false,
      ...(options.ca ? { ca: typeof options.ca === "string" ? options.ca : [...options.ca] } : {}),
    });
    const done = (fn: () => void) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      fn();
    };
    const onAbort = () => done(() => reject(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const raw = cert?.raw;
      done(() =>
        raw
          ? resolve({
            raw: new Uint8Array(raw),
            authorized: socket.authorized,
            ...(socket.authorizationError
              ? { authorizationError: String(socket.authorizationError) }
              : {}),
          })
          : reject(new Error("the server presented no certificate"))
      );
    });
    socket.once("error", (err: Error) => done(() => reject(err)));
  });
}

/**
 * The server's certificate is trusted, valid for the host name, and valid for at least
 * `minValidDays` more days.
 *
 * @param host The host name or address, e.g. `api-staging.tracktion.com`.
 * @param options Port, servername, minimum days, extra CAs, deadline, name, required.
 * @returns The check; evidence: host, port, subject, issuer, notAfter, daysLeft, trusted,
 *   hostMatches, fingerprint256.
 *
 * @example
 * ```ts
 * import { tlsCertificate } from "./tls.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tlsCertificate("api.tracktion.com").name, "TLS certificate: api.tracktion.com:443");
 * ```
 */
export function tlsCertificate(host: string, options: TlsCertificateOptions = {}): Check {
  const port = options.port ?? 443;
  const minValidDays = options.minValidDays ?? 30;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: options.name ?? `TLS certificate: ${host}:${port}`,
    required: options.required ?? true,
    run: async (ctx) => {
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ctx.signal]);
      let presented: Presented;
      try {
        presented = await presentedCertificate(host, options, signal);
      } catch (err) {
        const reason = describeError(err, timeoutMs);
        return fail(`Cannot get the certificate of ${host}:${port}: ${reason}`, {
          host,
          port,
          error: reason,
        });
      }
      const { X509Certificate } = await import("node:crypto");
      const cert = new X509Certificate(presented.raw);
      const servername = options.servername ?? host;
      const hostMatches = isAddress(servername)
        ? cert.checkIP(servername) !== undefined
        : cert.checkHost(servername) !== undefined;
      const notAfter = new Date(cert.validTo);
      const now = (options.now ?? Date.now)();
      const daysLeft = Math.floor((notAfter.getTime() - now) / 86_400_000);
      const verifyError = options.allowUntrusted
        ? undefined
        : await denoVerifyError(host, options, signal);
      const trusted = presented.authorized && verifyError === undefined;
      const evidence: Record<string, unknown> = {
        host,
        port,
        servername,
        subject: cert.subject,
        issuer: cert.issuer,
        notAfter: notAfter.toISOString(),
        daysLeft,
        minValidDays,
        trusted,
        ...(presented.authorizationError ? { trustError: presented.authorizationError } : {}),
        ...(verifyError ? { verifyError } : {}),
        hostMatches,
        fingerprint256: cert.fingerprint256,
      };
      const renew = "renew it (or fix the Secret the server presents)";
      // Reached at an address for a name (a gateway's listener): say both.
      const at = servername === host ? `${host}:${port}` : `${servername} (at ${host}:${port})`;
      if (!hostMatches) {
        return fail(
          `The certificate of ${at} is not valid for ${servername} (it names ${
            cert.subjectAltName ?? cert.subject
          }): ${renew}`,
          evidence,
        );
      }
      if (daysLeft < minValidDays) {
        return fail(
          `The certificate of ${at} expires ${evidence.notAfter} (${daysLeft} days left, ${minValidDays} required): ${renew}`,
          evidence,
        );
      }
      if (!trusted && !options.allowUntrusted) {
        const why = presented.authorizationError ?? verifyError;
        return fail(
          `The certificate of ${at} is not trusted${why ? `: ${why}` : ""}`,
          evidence,
        );
      }
      return pass(
        `The certificate of ${at} is valid until ${evidence.notAfter} (${daysLeft} days left)`,
        evidence,
      );
    },
  };
}
