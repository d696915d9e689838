/**
 * What a rendered report shows, worked out once from a run's report so that its HTML and its
 * Markdown say the same: the header's facts (who, what, when, where), the approvals, the
 * verification result, the stages on one time axis, every gate's samples per target against
 * its threshold, the checks with their evidence, and the rollback. Nothing in it that is not
 * in the report (or in the verification result handed in).
 * @module
 */
import type { GateRecord, Report, SampleRecord } from "../report/types.ts";
import type {
  Fact,
  GatePoint,
  GateView,
  ReportView,
  RollbackView,
  TimelineRow,
  VerificationLine,
} from "./types.ts";

/** The verification shown when none was handed in. */
const UNVERIFIED: readonly VerificationLine[] = [
  { check: "verification", ok: null, detail: "not verified when this was rendered" },
];

/**
 * A number for people: at most four significant digits, no exponent for everyday sizes.
 *
 * @param value The number.
 * @returns Its text.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./view.ts";
 * console.assert(formatNumber(3.5999999999999996) === "3.6");
 * console.assert(formatNumber(2000) === "2000");
 * ```
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** A duration in ms for people: `840 ms`, `12.3 s`, `14 min 51 s`. */
function duration(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${formatNumber(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

/** Seconds from `origin` to `iso`, or undefined when either is not a time. */
function offset(origin: number, iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) && Number.isFinite(origin) ? (t - origin) / 1000 : undefined;
}

/** A value of the report for people: text as it is, anything else as compact JSON. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? String(value);
}

function facts(report: Report): Fact[] {
  const out: Fact[] = [
    { label: "run", value: report.runId },
    { label: "pipeline", value: `${report.pipeline.name} (${report.pipeline.file})` },
    { label: "environment", value: report.environment },
    { label: "version", value: report.version ?? "none" },
    { label: "status", value: report.dryRun ? `${report.status} (dry run)` : report.status },
    { label: "who", value: `${report.who.user} on ${report.who.host}` },
    {
      label: "when",
      value: `${report.startedAt} → ${report.finishedAt} (${duration(report.durationMs)})`,
    },
    {
      label: "git",
      value: `${report.git.commit ?? "unknown commit"} on ${report.git.branch ?? "no branch"}${
        report.git.dirty ? " (dirty tree)" : ""
      }`,
    },
  ];
  for (const [key, value] of Object.entries(report.target)) {
    if (key === "approvals" || value === undefined) continue;
    out.push({ label: `where: ${key}`, value: text(value) });
  }
  if (!Object.keys(report.target).some((k) => k !== "approvals")) {
    out.push({ label: "where", value: "not recorded" });
  }
  if (report.error) out.push({ label: "error", value: report.error });
  return out;
}

function approvals(report: Report): string[] {
  const out: string[] = [];
  const evidence = [
    ...(report.target.approvals ? [{ where: "plan", e: report.target.approvals }] : []),
    ...report.stages.flatMap((s) =>
      s.approval?.evidence ? [{ where: `stage ${s.id}`, e: s.approval.evidence }] : []
    ),
  ];
  for (const { where, e } of evidence) {
    out.push(
      `${where}: plan ${e.planDigest} approved through ${e.source}, ${e.required} required, ` +
        `deployed by ${e.deployer}`,
    );
    for (const a of e.approvals) {
      out.push(
        a.kind === "github"
          ? `${where}: ${a.name} <${a.email}> as @${a.github} on GitHub at ${a.at} (${a.url})`
          : `${where}: ${a.name} <${a.email}> signed with ${a.fingerprint} at ${a.signedAt}${
            a.rehearsal ? " (rehearsal approver)" : ""
          }${a.comment ? `: ${a.comment}` : ""}`,
      );
    }
  }
  for (const s of report.stages) {
    if (s.approval) {
      const a = s.approval;
      out.push(
        `stage ${s.id}: "${a.phrase}" ${
          a.approved ? "given" : "NOT given"
        } by ${a.by} at ${a.at} ` +
          `(${a.method})`,
      );
    }
    if (s.decision) {
      const d = s.decision;
      out.push(`stage ${s.id}: ${d.action} decided by ${d.by} at ${d.at} (${d.method})`);
    }
  }
  return out;
}

function timeline(report: Report): { rows: TimelineRow[]; span: number } {
  const origin = Date.parse(report.startedAt);
  const last = offset(origin, report.finishedAt) ?? 0;
  const rows = report.stages.map((s): TimelineRow => {
    const start = offset(origin, s.startedAt);
    const finish = offset(origin, s.finishedAt);
    const open = start !== undefined && finish === undefined;
    return {
      id: s.id,
      kind: s.kind,
      status: s.status,
      start,
      end: open ? Math.max(last, start) : finish,
      open,
      duration: duration(s.durationMs),
      attempts: s.attempts.length,
      reason: s.reason ?? "",
    };
  });
  const span = Math.max(last, ...rows.map((r) => r.end ?? 0));
  return { rows, span };
}

function labelText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
}

/** What tells each target from the others: the labels whose values differ among them. */
function seriesNames(keys: readonly string[], labels: Map<string, Record<string, string>>) {
  const all = [...labels.values()];
  const names = new Set(all.flatMap((l) => Object.keys(l)));
  const telling = [...names].filter((k) => new Set(all.map((l) => l[k])).size > 1);
  return new Map(keys.map((key) => {
    const l = labels.get(key) ?? {};
    const name = telling.length > 0
      ? telling.map((k) => (telling.length === 1 ? l[k] ?? "" : `${k}=${l[k] ?? ""}`)).join(",")
      : key;
    return [key, name || "all targets"];
  }));
}

function point(look: number, s: SampleRecord): GatePoint {
  const e = s.evidence;
  const d = s.decision;
  const detail = [
    s.detail ?? "",
    d
      ? [
        d.state,
        d.breachE !== undefined ? `breach e ${formatNumber(d.breachE)}` : "",
        d.passE !== undefined ? `pass e ${formatNumber(d.passE)}` : "",
        d.pValue !== undefined ? `p ${formatNumber(d.pValue)}` : "",
      ].filter(Boolean).join(", ")
      : "",
    s.baseline
      ? `baseline ${s.baseline.requests} requests, ${
        s.baseline.errors ?? s.baseline.over ?? "?"
      } events`
      : "",
  ].filter(Boolean).join("; ");
  return {
    look,
    at: s.at,
    value: typeof s.value === "number" && Number.isFinite(s.value) ? s.value : null,
    verdict: s.verdict,
    requests: e ? String(e.requests) : "",
    events: e ? String(e.errors ?? e.over ?? "") : "",
    window: e ? `${e.from} → ${e.to}` : "",
    detail,
  };
}

function gateView(stage: string, g: GateRecord): GateView {
  const byTarget = new Map<string, SampleRecord[]>();
  const labels = new Map<string, Record<string, string>>();
  for (const s of g.samples) {
    const key = labelText(s.labels) || "all targets";
    if (!byTarget.has(key)) byTarget.set(key, []);
    byTarget.get(key)!.push(s);
    labels.set(key, s.labels ?? {});
  }
  const names = seriesNames([...byTarget.keys()], labels);
  const method = g.method ?? "fixed";
  const dec = g.decision;
  return {
    stage,
    title: method === "fixed" ? g.gate : `${g.gate} (${method})`,
    metric: g.metric,
    operator: g.operator,
    threshold: g.threshold,
    unit: g.unit,
    verdict: g.verdict,
    reason: g.reason ?? "",
    method,
    decision: dec
      ? `${dec.method} at ${formatNumber(dec.confidence * 100)}% confidence: ${dec.state}${
        dec.decidedAt ? ` at ${dec.decidedAt}` : ""
      }, ${dec.requests} requests, ${dec.events} events`
      : "",
    samples: g.samples.length,
    series: [...byTarget].map(([key, samples]) => ({
      name: names.get(key) ?? key,
      labels: key,
      points: samples.map((s, i) => point(i + 1, s)),
    })),
  };
}

function rollback(report: Report): RollbackView {
  const r = report.rollback;
  const summary = !r.performed
    ? "no rollback ran"
    : `rollback ran (${r.stages.join(", ")}): ${
      r.succeeded === true ? "succeeded" : r.succeeded === false ? "FAILED" : "unknown outcome"
    }`;
  const stages = report.stages.filter((s) => s.rollback).map((s) => ({
    id: s.id,
    status: s.status,
    reason: s.reason ?? "",
    output: s.output === undefined ? "" : JSON.stringify(s.output, null, 2) ?? "",
  }));
  return { summary, stages };
}

function notes(report: Report): string[] {
  const out: string[] = [];
  if (report.rebuilt) {
    out.push(
      "This report was rebuilt from the journal of a run whose runner died: checks, gates and " +
        "calls are only in the stage logs.",
    );
  }
  if (report.target.clock === "scaled" || report.target.clock === "virtual") {
    out.push(
      `The run's clock was ${String(report.target.clock)}${
        typeof report.target.timeScale === "number" ? ` (×${report.target.timeScale})` : ""
      }: the timeline places stages by their recorded timestamps; durations are the run clock's.`,
    );
  }
  for (const r of report.resumes ?? []) {
    out.push(`resumed at ${r.at} by ${r.by}, reusing ${r.reused.join(", ") || "nothing"}`);
  }
  for (const u of report.undelivered ?? []) out.push(`undelivered: ${text(u)}`);
  return out;
}

/**
 * Works out what a rendered report shows from a run's report.
 *
 * @param report The run's report (validated against its schema).
 * @param options `verification`: the lines of its verification (none: shown as not verified).
 * @returns The view both renderers draw.
 *
 * @example
 * ```ts
 * import { reportView } from "./view.ts";
 * import type { Report } from "../report/types.ts";
 * import assert from "node:assert/strict";
 *
 * const report: Report = {
 *   schemaVersion: 1, runId: "r1", pipeline: { name: "deploy", file: "deploy.ts" },
 *   environment: "staging", version: "v1", dryRun: false, status: "succeeded",
 *   who: { user: "ada", host: "box" }, git: { commit: null, dirty: false, branch: null },
 *   target: {}, startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:02.000Z",
 *   durationMs: 2000, stages: [], rollback: { performed: false, stages: [], succeeded: null },
 *   events: { file: "events.jsonl", count: 2, digest: "0".repeat(64) },
 * };
 * const view = reportView(report);
 * assert.equal(view.title, "deploy → staging @ v1");
 * assert.equal(view.span, 2);
 * assert.equal(view.verification[0]!.ok, null);
 * ```
 */
export function reportView(
  report: Report,
  options: { verification?: readonly VerificationLine[] } = {},
): ReportView {
  const { rows, span } = timeline(report);
  return {
    title: `${report.pipeline.name} → ${report.environment}${
      report.version ? ` @ ${report.version}` : ""
    }`,
    status: report.status,
    facts: facts(report),
    approvals: approvals(report),
    verification: options.verification?.length ? options.verification : UNVERIFIED,
    timeline: rows,
    span,
    gates: report.stages.flatMap((s) => s.gates.map((g) => gateView(s.id, g))),
    checks: report.stages.filter((s) => s.checks.length > 0).map((s) => ({
      stage: s.id,
      checks: s.checks,
    })),
    rollback: rollback(report),
    notes: notes(report),
  };
}
