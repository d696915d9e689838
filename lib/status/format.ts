/**
 * An environment's status as a person reads it: a header line (where, when), a table with a
 * row per service (live slot and version with its ready pods, the idle slot likewise, the
 * traffic split, the idle slot's clean-up time), then the last run, the deployment record and
 * the lock. Colours only when asked (the CLI asks at a terminal without `NO_COLOR`).
 * @module
 */
import type { EnvironmentStatus, LastRun, LockStatus, ServiceStatus, SlotStatus } from "./types.ts";

const STYLE = {
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  red: "\x1b[31m",
} as const;
type Style = keyof typeof STYLE;

interface Cell {
  readonly text: string;
  readonly style?: Style | undefined;
}

/** Options of {@linkcode formatStatus}. */
export interface FormatStatusOptions {
  /** Colour the output (ANSI). Default false. */
  readonly colour?: boolean | undefined;
}

/** Seconds as `2d 3h`, `23h 59m`, `4m 10s`, `12s`. */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * A time as the table shows it: ISO to the second, and how far from `now`.
 *
 * @param iso The time.
 * @param now The time now (ms).
 * @returns e.g. `2026-01-02T00:00:00Z (in 23h 59m)`.
 *
 * @example
 * ```ts
 * import { when } from "./format.ts";
 * import assert from "node:assert/strict";
 * const now = Date.parse("2026-01-01T00:00:00Z");
 * assert.equal(when("2026-01-01T01:30:00.000Z", now), "2026-01-01T01:30:00Z (in 1h 30m)");
 * assert.equal(when("2025-12-31T23:59:50.000Z", now), "2025-12-31T23:59:50Z (10s ago)");
 * ```
 */
export function when(iso: string, now: number): string {
  const at = Date.parse(iso);
  const shown = new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
  return at >= now ? `${shown} (in ${span(at - now)})` : `${shown} (${span(now - at)} ago)`;
}

function slotCells(s: SlotStatus | null): Cell[] {
  if (!s) return [{ text: "-", style: "dim" }, { text: "" }];
  return [
    { text: `${s.slot} ${s.version ?? "(no version label)"}` },
    {
      text: `${s.ready}/${s.desired}`,
      style: s.desired === 0 ? "dim" : s.ready < s.desired ? "yellow" : undefined,
    },
  ];
}

function trafficCell(s: ServiceStatus): Cell {
  const t = s.traffic;
  if (!t) return { text: "none", style: s.deployed ? "red" : "dim" };
  const parts = (["blue", "green"] as const).filter((slot) => t[slot] > 0);
  return { text: parts.map((slot) => `${slot} ${t[slot]}%`).join(" ") };
}

function cleanupCell(s: ServiceStatus, now: number): Cell {
  const idle = s.idle;
  if (!idle) return { text: "" };
  if (idle.deleteAfter) {
    return Date.parse(idle.deleteAfter) > now
      ? { text: `after ${when(idle.deleteAfter, now)}` }
      : { text: `due since ${when(idle.deleteAfter, now)}`, style: "yellow" };
  }
  return idle.desired === 0 ? { text: "scaled down", style: "dim" } : { text: "none scheduled" };
}

function row(s: ServiceStatus, now: number): Cell[] {
  if (!s.deployed) {
    return [{ text: s.service }, { text: "not deployed", style: "dim" }];
  }
  return [
    { text: s.service },
    ...(s.live ? slotCells(s.live) : [{ text: "no live slot", style: "red" as const }, {
      text: "",
    }]),
    ...slotCells(s.idle),
    trafficCell(s),
    cleanupCell(s, now),
  ];
}

function table(rows: Cell[][], paint: (c: Cell) => string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.text.length));
  return rows.map((r) =>
    r.map((c, i) => paint({ ...c, text: i === r.length - 1 ? c.text : c.text.padEnd(widths[i]!) }))
      .join("  ").trimEnd()
  );
}

function targetText(s: EnvironmentStatus): string {
  const t = s.target;
  if (t.kind === "kubernetes") {
    return `cluster ${t.cluster} (kubeconfig ${t.kubeconfig}${
      t.context ? `, context ${t.context}` : ""
    })`;
  }
  const how = t.state === "running"
    ? "running"
    : t.state === "restored"
    ? "started from its saved state for this read"
    : "no saved state";
  return `sandbox ${t.stateDir} (${how})`;
}

function lockLine(l: LockStatus, now: number, paint: (c: Cell) => string): string {
  const who = `${l.user}${l.runId ? ` for run ${l.runId}` : ""}`;
  if (l.state === "held") {
    return `${paint({ text: "held", style: "yellow" })} by ${who} since ${
      l.since ? when(l.since, now) : "an unknown time"
    }, expires ${l.expiresAt ? when(l.expiresAt, now) : "never"} unless renewed`;
  }
  if (l.state === "expired") {
    return `${paint({ text: "free", style: "green" })}: the hold of ${who} expired ${
      l.expiresAt ? when(l.expiresAt, now) : "(no renew time)"
    }: its runner stopped renewing it, the next deploy takes it over`;
  }
  return paint({ text: "free", style: "green" });
}

function runStyle(status: string): Style | undefined {
  if (status === "succeeded") return "green";
  if (status === "running" || status === "unfinished") return "yellow";
  return "red";
}

function lastRunLines(r: LastRun | null, s: EnvironmentStatus, paint: (c: Cell) => string) {
  if (!r) return [`none in ${s.runsDir}`];
  const now = Date.parse(s.at);
  const status = paint({ text: r.status, style: runStyle(r.status) });
  const head = `${r.runId} ${r.pipeline}${r.version ? ` ${r.version}` : ""}: ${status}`;
  if (r.reportPath) {
    return [
      `${head}, finished ${r.finishedAt ? when(r.finishedAt, now) : "at an unknown time"}`,
      `report: ${r.reportPath}`,
    ];
  }
  return [
    r.status === "running"
      ? `${head} since ${when(r.startedAt, now)} (it holds the lock)`
      : `${head}: no report in ${r.runDir} (its runner stopped?): deno task resume ${r.runId}`,
  ];
}

function recordLines(s: EnvironmentStatus, paint: (c: Cell) => string): string[] {
  const rec = s.record;
  if (!rec.exists) return ["none (no deployment-info ConfigMap)"];
  const lines: string[] = [];
  const run = rec.run;
  if (run) {
    const state = paint({ text: run.state, style: runStyle(run.state) });
    lines.push(
      `run ${run.runId}: ${run.version} by ${run.by}, ${state}${
        run.finishedAt ? ` ${when(run.finishedAt, Date.parse(s.at))}` : ""
      }`,
    );
    if (run.state === "in-progress" && s.lock.runId !== run.runId) {
      lines.push(
        paint({
          text: `run ${run.runId} never finished and holds no lock: traffic may be split; ` +
            `roll it back: deno task rollback ${s.environment}`,
          style: "red",
        }),
      );
    }
  }
  if (rec.release) lines.push(`release ${rec.release.version} (run ${rec.release.runId})`);
  for (const p of rec.problems) lines.push(paint({ text: `unreadable: ${p}`, style: "red" }));
  return lines.length > 0 ? lines : ["no run recorded"];
}

function nothingDeployed(s: EnvironmentStatus): string {
  if (s.target.kind === "sandbox" && s.target.state === "none") {
    return `nothing deployed: the sandbox has no saved state in ${s.target.stateDir} ` +
      "(nothing was ever deployed to it)";
  }
  if (!s.namespaceExists) {
    return `nothing deployed: the cluster has no namespace ${s.namespace}`;
  }
  return `nothing deployed: no Service or slot Deployment of app ${s.app} in ${s.namespace}`;
}

/**
 * The status as text: a header, the services' table (or "nothing deployed"), then the last
 * run, the deployment record and the lock, each on its own labelled lines.
 *
 * @param s The status.
 * @param o Colours.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { formatStatus } from "./format.ts";
 * import type { EnvironmentStatus } from "./types.ts";
 * import assert from "node:assert/strict";
 * const s: EnvironmentStatus = {
 *   kind: "environment-status", schemaVersion: 1, environment: "staging",
 *   namespace: "shop-staging", app: "shop", strategy: "blue-green",
 *   target: { kind: "sandbox", stateDir: "sb", state: "running" },
 *   at: "2026-01-01T00:00:00.000Z", namespaceExists: true, deployed: true,
 *   services: [{
 *     service: "web", deployed: true,
 *     live: { slot: "green", deployment: "web-green", version: "1.1.0", desired: 2, ready: 2, deleteAfter: null },
 *     idle: { slot: "blue", deployment: "web-blue", version: "1.0.0", desired: 2, ready: 2,
 *       deleteAfter: "2026-01-02T00:00:00.000Z" },
 *     traffic: { source: "selector", blue: 0, green: 100, weights: null },
 *   }],
 *   lock: {
 *     namespace: "shop-staging", name: "lock", state: "free", holder: null, user: null,
 *     runId: null, since: null, renewedAt: null, expiresAt: null, durationSeconds: null,
 *   },
 *   record: { exists: false, run: null, release: null, problems: [] },
 *   lastRun: null, runsDir: "runs",
 * };
 * const text = formatStatus(s);
 * assert.match(text, /web +green 1\.1\.0 +2\/2 +blue 1\.0\.0 +2\/2 +green 100% +after 2026-01-02T00:00:00Z \(in 1d 0h\)/);
 * assert.match(text, /^lock +free$/m);
 * assert.ok(!text.includes("\x1b["));
 * ```
 */
export function formatStatus(s: EnvironmentStatus, o: FormatStatusOptions = {}): string {
  const paint = (c: Cell) =>
    o.colour && c.style && c.text !== "" ? `${STYLE[c.style]}${c.text}\x1b[0m` : c.text;
  const now = Date.parse(s.at);
  const lines = [
    `${paint({ text: s.environment, style: "bold" })}: namespace ${s.namespace}, ${s.strategy}, ${
      targetText(s)
    }, read at ${s.at.replace(/\.\d{3}Z$/, "Z")}`,
    "",
  ];
  if (s.deployed) {
    const header = ["SERVICE", "LIVE", "READY", "IDLE", "READY", "TRAFFIC", "IDLE CLEANUP"];
    lines.push(
      ...table([
        header.map((text) => ({ text, style: "bold" as const })),
        ...s.services.map((x) => row(x, now)),
      ], paint),
    );
  } else lines.push(nothingDeployed(s));
  lines.push("");
  const labelled = (label: string, body: string[]) =>
    body.map((line, i) => `${(i === 0 ? label : "").padEnd(10)}${line}`);
  lines.push(...labelled("last run", lastRunLines(s.lastRun, s, paint)));
  lines.push(...labelled("record", recordLines(s, paint)));
  lines.push(...labelled("lock", [lockLine(s.lock, now, paint)]));
  return `${lines.join("\n")}\n`;
}
