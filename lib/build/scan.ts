/**
 * Vulnerability scans of a pushed image: `grype` (`grype registry:<image> -o json`) or
 * `trivy` (`trivy image --format json`), whichever is installed, their JSON read into counts
 * per severity, and a verdict against limits (e.g. the runbook's: no critical, at most five
 * high). Neither scanner is packaged by Debian: a missing one is said as such
 * (`{ missing }`), and whether that fails is the caller's policy.
 * @module
 */

/** Severities, highest first (grype's and trivy's, lower-cased). */
export const SCAN_SEVERITIES = [
  "critical",
  "high",
  "medium",
  "low",
  "negligible",
  "unknown",
] as const;
/** A severity. */
export type ScanSeverity = typeof SCAN_SEVERITIES[number];

/** One finding. */
export interface ScanFinding {
  /** The vulnerability's id (CVE-..., GHSA-...). */
  readonly id: string;
  /** Its severity. */
  readonly severity: ScanSeverity;
  /** The package it is in (`name@version`). */
  readonly package: string;
}

/** A scanner's report, read. */
export interface ScanReport {
  /** `grype` or `trivy`. */
  readonly format: "grype" | "trivy";
  /** Findings per severity (every severity present, 0 where none). */
  readonly counts: Readonly<Record<ScanSeverity, number>>;
  /** The findings. */
  readonly findings: readonly ScanFinding[];
}

function severityOf(text: unknown): ScanSeverity {
  const s = String(text ?? "unknown").toLowerCase();
  return (SCAN_SEVERITIES as readonly string[]).includes(s) ? s as ScanSeverity : "unknown";
}

/**
 * Reads grype's (`matches[].vulnerability.severity`) or trivy's
 * (`Results[].Vulnerabilities[].Severity`) JSON report.
 *
 * @param text The scanner's standard output.
 * @returns The counts and findings.
 * @throws {SyntaxError} When it is not JSON, or neither scanner's format.
 *
 * @example
 * ```ts
 * import { parseScanReport } from "./scan.ts";
 * import assert from "node:assert/strict";
 * const r = parseScanReport(JSON.stringify({ matches: [
 *   { vulnerability: { id: "CVE-1", severity: "High" }, artifact: { name: "openssl", version: "3.0.1" } },
 * ] }));
 * assert.equal(r.counts.high, 1);
 * assert.equal(r.findings[0]?.package, "openssl@3.0.1");
 * ```
 */
export function parseScanReport(text: string): ScanReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SyntaxError("The scanner's output is not JSON");
  }
  const findings: ScanFinding[] = [];
  let format: ScanReport["format"];
  const d = doc as Record<string, unknown> | null;
  if (d && Array.isArray(d.matches)) {
    format = "grype";
    for (const m of d.matches as Record<string, Record<string, unknown> | undefined>[]) {
      findings.push({
        id: String(m.vulnerability?.id ?? "?"),
        severity: severityOf(m.vulnerability?.severity),
        package: `${m.artifact?.name ?? "?"}@${m.artifact?.version ?? "?"}`,
      });
    }
  } else if (d && (Array.isArray(d.Results) || d.SchemaVersion !== undefined)) {
    format = "trivy";
    for (const r of (d.Results ?? []) as { Vulnerabilities?: Record<string, unknown>[] }[]) {
      for (const v of r.Vulnerabilities ?? []) {
        findings.push({
          id: String(v.VulnerabilityID ?? "?"),
          severity: severityOf(v.Severity),
          package: `${v.PkgName ?? "?"}@${v.InstalledVersion ?? "?"}`,
        });
      }
    }
  } else {
    throw new SyntaxError(
      "The scanner's output is neither grype's JSON (matches) nor trivy's (Results)",
    );
  }
  const counts = Object.fromEntries(SCAN_SEVERITIES.map((s) => [s, 0])) as Record<
    ScanSeverity,
    number
  >;
  for (const f of findings) counts[f.severity]++;
  return { format, counts, findings };
}

/** The most findings allowed per severity (a severity left out: any number). */
export type ScanLimits = Readonly<Partial<Record<ScanSeverity, number>>>;

/** A scan's verdict. */
export interface ScanVerdict {
  /** Within every limit. */
  readonly ok: boolean;
  /** One line per limit exceeded (`critical: 1 (max 0)`). */
  readonly exceeded: readonly string[];
  /** Up to 20 findings at the severities that exceeded their limit. */
  readonly blocking: readonly string[];
}

/**
 * Judges a report against limits: a severity over its limit fails.
 *
 * @param report The report.
 * @param limits E.g. `{ critical: 0, high: 5 }` (the runbook's).
 * @returns The verdict.
 *
 * @example
 * ```ts
 * import { scanVerdict } from "./scan.ts";
 * import assert from "node:assert/strict";
 * const counts = { critical: 0, high: 6, medium: 0, low: 0, negligible: 0, unknown: 0 };
 * const v = scanVerdict({ format: "grype", counts, findings: [] }, { critical: 0, high: 5 });
 * assert.deepEqual(v.exceeded, ["high: 6 (max 5)"]);
 * ```
 */
export function scanVerdict(report: ScanReport, limits: ScanLimits): ScanVerdict {
  const exceeded: string[] = [];
  const over = new Set<ScanSeverity>();
  for (const s of SCAN_SEVERITIES) {
    const max = limits[s];
    if (max !== undefined && report.counts[s] > max) {
      exceeded.push(`${s}: ${report.counts[s]} (max ${max})`);
      over.add(s);
    }
  }
  const blocking = report.findings.filter((f) => over.has(f.severity)).slice(0, 20)
    .map((f) => `${f.id} (${f.severity}, ${f.package})`);
  return { ok: exceeded.length === 0, exceeded, blocking };
}

/** What {@linkcode runScanner} takes. */
export interface RunScannerOptions {
  /** The programs to try, in order (default `["grype", "trivy"]`). */
  readonly programs?: readonly string[];
  /** The image, `host:port/repository@sha256:...`. */
  readonly image: string;
  /** The registry is plain HTTP (a loopback one). */
  readonly plainHttp?: boolean;
  /** Stops the scan. */
  readonly signal?: AbortSignal;
}

/** What {@linkcode runScanner} found. */
export type ScannerResult =
  | { readonly scanner: string; readonly report: ScanReport }
  | { readonly missing: string };

function argsFor(program: string, image: string, plainHttp: boolean): string[] {
  const name = program.split("/").at(-1) ?? program;
  if (name.includes("trivy")) {
    return ["image", "--quiet", "--format", "json", ...(plainHttp ? ["--insecure"] : []), image];
  }
  return [`registry:${image}`, "-o", "json", "-q"];
}

/**
 * Scans an image with the first scanner installed.
 *
 * @param o The programs, the image, whether its registry is plain HTTP.
 * @returns The scanner and its report, or `{ missing }` naming what was looked for.
 * @throws {Error} When the scanner ran and failed, or printed no report it can read.
 *
 * @example
 * ```ts
 * import { runScanner } from "./scan.ts";
 * import assert from "node:assert/strict";
 * const r = await runScanner({ programs: ["/nonexistent/grype"], image: "127.0.0.1:5000/a@sha256:00" });
 * assert.ok("missing" in r);
 * ```
 */
export async function runScanner(o: RunScannerOptions): Promise<ScannerResult> {
  const programs = o.programs ?? ["grype", "trivy"];
  for (const program of programs) {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(program, {
        args: argsFor(program, o.image, o.plainHttp ?? false),
        env: o.plainHttp ? { GRYPE_REGISTRY_INSECURE_USE_HTTP: "true" } : {},
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        ...(o.signal ? { signal: o.signal } : {}),
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    const stdout = new TextDecoder().decode(output.stdout);
    let report: ScanReport;
    try {
      report = parseScanReport(stdout);
    } catch (err) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5);
      throw new Error(
        `${program} failed to scan ${o.image} (exit ${output.code}): ${
          stderr.join(" ") || (err as Error).message
        }`,
      );
    }
    return { scanner: program, report };
  }
  return {
    missing: `no scanner is installed (looked for ${programs.join(", ")}; neither grype nor ` +
      "trivy is packaged by Debian)",
  };
}
