/**
 * The dashboard's HTTP handler: every request goes through {@linkcode authorize} first (no
 * token: 401, whatever the path or method), then:
 *
 * | request | answer |
 * |---|---|
 * | `GET /?environment=&status=` | the run list ({@linkcode listPage}) |
 * | `GET /api/runs?environment=&status=` | the same, as JSON |
 * | `GET /runs/<id>` | a finished run's HTML report (`renderHtml`, its journal verified); else the live page |
 * | `GET /runs/<id>/events` | the run as server-sent events ({@linkcode runEventStream}) |
 * | `POST /runs/<id>/decision` `{"action":"promote"\|"abort"}` | records the decision ({@linkcode decideRun}) |
 *
 * A `?token=` is turned into the cookie and redirected away (it stays out of the history
 * and of any Referer). No response carries CORS headers; every one says `no-store`,
 * `nosniff`, `no-referrer` and may not be framed.
 * @module
 */
import { verifyJournal } from "../journal/journal.ts";
import { readChartLibrary, renderHtml, type VerificationLine } from "../render/mod.ts";
import { reportSchema } from "../report/schema.ts";
import { verifyReport } from "../report/verify.ts";
import { authorize, csrfValue, tokenCookie } from "./auth.ts";
import { decideRun, DecisionRefused } from "./decision.ts";
import { listPage } from "./list_page.ts";
import { runEventStream } from "./live.ts";
import { runPage } from "./run_page.ts";
import { isRunId, RunIndex } from "./runs.ts";

/**
 * What the dashboard serves and who it records decisions as.
 *
 * @example
 * ```ts
 * import type { HandlerOptions } from "./handler.ts";
 * const o: HandlerOptions = { runsDir: ".runs", token: "t", port: 8080, user: "ana" };
 * console.assert(o.user === "ana");
 * ```
 */
export interface HandlerOptions {
  /** The runs folder. */
  readonly runsDir: string;
  /** The token every request must carry. */
  readonly token: string;
  /** The port it listens on (the `Host` it answers to). */
  readonly port: number;
  /** Who a decision made here is recorded as. */
  readonly user: string;
  /** Ends every event stream (the server is stopping). */
  readonly signal?: AbortSignal | undefined;
  /** See {@linkcode RunIndex}'s `staleMs`. */
  readonly staleMs?: number | undefined;
}

const SECURITY = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

function respond(body: BodyInit | null, status: number, headers: Record<string, string> = {}) {
  return new Response(body, { status, headers: { ...SECURITY, ...headers } });
}

function text(status: number, message: string, headers: Record<string, string> = {}) {
  return respond(`${message}\n`, status, {
    "content-type": "text/plain; charset=utf-8",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    ...headers,
  });
}

function json(status: number, value: unknown) {
  return respond(JSON.stringify(value), status, { "content-type": "application/json" });
}

function html(p: { html: string; csp: string }) {
  return respond(p.html, 200, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": p.csp,
  });
}

async function verification(dir: string, digest: string): Promise<VerificationLine[]> {
  const chain = await verifyJournal(`${dir}/events.jsonl`, { digest }).catch((e: Error) => e);
  if (chain instanceof Error) {
    return [{ check: "journal chain", ok: false, detail: `cannot read: ${chain.message}` }];
  }
  const lines: VerificationLine[] = [{
    check: "journal chain",
    ok: chain.ok,
    detail: chain.ok
      ? `${chain.lines} events, chain verified, digest ${chain.digest}`
      : `BROKEN at line ${chain.brokenAt}: ${chain.reason}`,
  }];
  if (!chain.ok) return lines;
  const v = await verifyReport(dir).catch((e: Error) => e);
  lines.push({
    check: "report against journal",
    ok: !(v instanceof Error) && v.ok,
    detail: v instanceof Error
      ? `cannot be checked: ${v.message}`
      : v.ok
      ? `${v.fields} fields agree`
      : v.mismatch?.message ?? "does not verify",
  });
  return lines;
}

async function reportPage(dir: string): Promise<Response> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  } catch (err) {
    return text(500, `Cannot read the report: ${(err as Error).message}`);
  }
  const checked = reportSchema.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    return text(
      500,
      `Cannot render the report: it does not match the report schema: ${
        issue.path.join(".") || "(root)"
      }: ${issue.message}`,
    );
  }
  const report = checked.data;
  const page = renderHtml(report, {
    chartLibrary: await readChartLibrary(),
    verification: await verification(dir, report.events.digest),
  });
  // The page carries its own policy (scripts by hash, no network); the header adds no framing.
  return respond(page, 200, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "frame-ancestors 'none'",
  });
}

function filterOf(url: URL) {
  const environment = url.searchParams.get("environment") || undefined;
  const status = url.searchParams.get("status") || undefined;
  return { environment, status };
}

async function decision(req: Request, o: HandlerOptions, runId: string): Promise<Response> {
  const body = await req.text();
  let action: unknown;
  try {
    if (body.length > 4096) throw new Error("too long");
    action = (JSON.parse(body) as { action?: unknown }).action;
  } catch {
    return json(400, { error: 'the body must be JSON: {"action":"promote"|"abort"}' });
  }
  if (action !== "promote" && action !== "abort") {
    return json(400, {
      error: `the action must be promote or abort, not ${JSON.stringify(action)}`,
    });
  }
  try {
    const { decision, stage } = await decideRun(o.runsDir, { runId, action, user: o.user });
    return json(200, {
      message: `${action} recorded for stage "${stage}" of run ${runId} (by ${decision.by})`,
      stage,
      decision,
    });
  } catch (err) {
    if (err instanceof DecisionRefused) return json(err.status, { error: err.message });
    throw err;
  }
}

/**
 * The dashboard's request handler (see the module's description).
 *
 * @param o The runs folder, the token and port, and who decisions are recorded as.
 * @returns The handler, for `Deno.serve`.
 *
 * @example
 * ```ts
 * import { dashboardHandler } from "./handler.ts";
 * const handle = dashboardHandler({ runsDir: "/nowhere", token: "t", port: 8080, user: "ana" });
 * const refused = await handle(new Request("http://127.0.0.1:8080/api/runs"));
 * const listed = await handle(new Request("http://127.0.0.1:8080/api/runs", {
 *   headers: { authorization: "Bearer t" },
 * }));
 * console.assert(refused.status === 401 && listed.status === 200);
 * console.assert(JSON.stringify(await listed.json()) === "[]");
 * ```
 */
export function dashboardHandler(o: HandlerOptions): (req: Request) => Promise<Response> {
  const index = new RunIndex(o.runsDir, o.staleMs === undefined ? {} : { staleMs: o.staleMs });
  const auth = { token: o.token, port: o.port };
  return async (req) => {
    const allowed = authorize(req, auth);
    if (!allowed.ok) {
      return text(
        allowed.status,
        `${allowed.status === 401 ? "Unauthorized" : "Refused"}: ${allowed.reason}`,
        allowed.status === 401 ? { "www-authenticate": 'Bearer realm="dashboard"' } : {},
      );
    }
    const url = new URL(req.url);
    if (allowed.via === "query") {
      url.searchParams.delete("token");
      const to = `${url.pathname}${url.search}`;
      return respond(null, 303, { location: to, "set-cookie": tokenCookie(auth) });
    }
    const parts = url.pathname.split("/").slice(1).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return "\0";
      }
    });
    const get = req.method === "GET" || req.method === "HEAD";
    if (url.pathname === "/" || url.pathname === "/api/runs") {
      if (!get) return text(405, `Method ${req.method} is not allowed here`, { allow: "GET" });
      const filter = filterOf(url);
      const runs = await index.list(filter);
      if (url.pathname === "/api/runs") return json(200, runs);
      const environments = [...new Set((await index.list()).map((r) => r.environment))].sort();
      return html(listPage(runs, { filter, environments }));
    }
    if (parts[0] !== "runs" || parts.length < 2 || parts.length > 3) {
      return text(404, `Nothing at ${url.pathname}`);
    }
    const runId = parts[1]!;
    const summary = isRunId(runId) ? await index.get(runId) : undefined;
    if (!summary) return text(404, `No run "${runId}"`);
    const dir = `${o.runsDir}/${runId}`;
    if (parts.length === 2) {
      if (!get) return text(405, `Method ${req.method} is not allowed here`, { allow: "GET" });
      if (await Deno.stat(`${dir}/report.json`).catch(() => null)) return await reportPage(dir);
      return html(runPage(summary, {
        chartLibrary: await readChartLibrary(),
        csrf: csrfValue(o.token),
        user: o.user,
      }));
    }
    if (parts[2] === "events") {
      if (!get) return text(405, `Method ${req.method} is not allowed here`, { allow: "GET" });
      const last = Number(req.headers.get("last-event-id") ?? "");
      const stream = runEventStream(index, runId, {
        afterSeq: Number.isSafeInteger(last) && last > 0 ? last : undefined,
        signal: o.signal,
      });
      return respond(stream, 200, {
        "content-type": "text/event-stream; charset=utf-8",
        "x-accel-buffering": "no",
      });
    }
    if (parts[2] === "decision") {
      if (req.method !== "POST") {
        return text(405, `Method ${req.method} is not allowed here`, { allow: "POST" });
      }
      return await decision(req, o, runId);
    }
    return text(404, `Nothing at ${url.pathname}`);
  };
}
