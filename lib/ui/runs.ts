/**
 * The runs folder as the dashboard lists it: one {@linkcode RunSummary} per run folder
 * (`<runs-dir>/<run-id>/events.jsonl`, and `report.json` once it finished), newest first,
 * filtered by environment and status. A finished run is read from its report once; an
 * unfinished one is followed through its journal ({@linkcode FileTail}: only what was
 * appended since is read) and told running, paused (a `stage.paused` waits for its
 * `stage.decision`) or killed ({@linkcode runnerLives}).
 * @module
 */
import { hostname } from "node:os";
import { fileHolders, runnerLives } from "./liveness.ts";
import { FileTail } from "./tail.ts";

/**
 * A run as the list shows it.
 *
 * @example
 * ```ts
 * import type { RunSummary } from "./runs.ts";
 * const s: RunSummary = {
 *   id: "r1", environment: "staging", pipeline: "deploy", user: "ada",
 *   startedAt: "2026-01-01T00:00:00.000Z", state: "running", status: "running",
 * };
 * console.assert(s.state === s.status);
 * ```
 */
export interface RunSummary {
  /** The run's id (its folder's name). */
  readonly id: string;
  /** The environment. */
  readonly environment: string;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The version, when the pipeline takes one. */
  readonly version?: string | undefined;
  /** Who ran it. */
  readonly user: string;
  /** When it started (ISO 8601, the run's clock). */
  readonly startedAt: string;
  /** When it finished. */
  readonly finishedAt?: string | undefined;
  /** Finished (it has a report or a `run.finished`), running, paused, or killed. */
  readonly state: "finished" | "running" | "paused" | "killed";
  /** The report's status once finished (succeeded, failed, rolled_back, interrupted), else the state. */
  readonly status: string;
  /** The stage waiting for a decision, when paused. */
  readonly waiting?: string | undefined;
  /** How an unfinished run's state was told. */
  readonly how?: string | undefined;
}

/**
 * What the list can be narrowed to (empty or missing: everything).
 *
 * @example
 * ```ts
 * import type { RunFilter } from "./runs.ts";
 * const f: RunFilter = { environment: "production", status: "paused" };
 * console.assert(f.status === "paused");
 * ```
 */
export interface RunFilter {
  /** Only runs of this environment. */
  readonly environment?: string | undefined;
  /** Only runs with this status (or state: running, paused, killed, finished). */
  readonly status?: string | undefined;
}

/**
 * Whether `id` can name a run folder: letters, digits, `.`, `_` and `-`, not `.` or `..`
 * (nothing from a request reaches the file system otherwise).
 *
 * @param id A candidate run id.
 * @returns Whether it is one.
 *
 * @example
 * ```ts
 * import { isRunId } from "./runs.ts";
 * console.assert(isRunId("20260101T120000Z-a1b2c3") && !isRunId("..") && !isRunId("a/b"));
 * ```
 */
export function isRunId(id: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(id) && id !== "." && id !== "..";
}

/** What the journal of an unfinished run said so far. */
interface Followed {
  readonly tail: FileTail;
  started?: Record<string, unknown>;
  pid?: number;
  finished?: { status: string; at: string };
  paused: string[];
  decided: Set<string>;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * The runs of one runs folder, read as little as possible between calls.
 *
 * @example
 * ```ts
 * import { RunIndex } from "./runs.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/r1`);
 * await Deno.writeTextFile(`${dir}/r1/events.jsonl`, JSON.stringify({
 *   seq: 1, ts: "2026-01-01T00:00:00.000Z", type: "run.started", runId: "r1",
 *   pipeline: "deploy", environment: "staging", who: { user: "ada", host: "elsewhere" },
 * }) + "\n");
 * const runs = await new RunIndex(dir).list();
 * assert.equal(runs.length, 1);
 * assert.equal(runs[0]!.environment, "staging");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RunIndex {
  /** The runs folder. */
  readonly runsDir: string;
  #finished = new Map<string, RunSummary>();
  #followed = new Map<string, Followed>();
  #staleMs: number | undefined;

  /**
   * An index of one runs folder.
   *
   * @param runsDir The runs folder.
   * @param o `staleMs`: where `/proc` cannot tell, how old a journal's last write makes a run
   * without a pid killed (see {@linkcode runnerLives}).
   */
  constructor(runsDir: string, o: { staleMs?: number } = {}) {
    this.runsDir = runsDir;
    this.#staleMs = o.staleMs;
  }

  /**
   * The runs, newest first, narrowed by `filter`.
   *
   * @param filter Environment and status.
   * @returns Their summaries (a folder without a readable `run.started` is left out).
   */
  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    const ids: string[] = [];
    try {
      for await (const e of Deno.readDir(this.runsDir)) {
        if (e.isDirectory && isRunId(e.name)) ids.push(e.name);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const all = await this.#summaries(ids);
    return all
      .filter((r) => !filter.environment || r.environment === filter.environment)
      .filter((r) => !filter.status || r.status === filter.status || r.state === filter.status)
      .sort((a, b) =>
        a.startedAt === b.startedAt ? (a.id < b.id ? 1 : -1) : (a.startedAt < b.startedAt ? 1 : -1)
      );
  }

  /**
   * One run's summary.
   *
   * @param id The run's id.
   * @returns It, or undefined when there is no such run.
   */
  async get(id: string): Promise<RunSummary | undefined> {
    if (!isRunId(id)) return undefined;
    return (await this.#summaries([id]))[0];
  }

  async #summaries(ids: string[]): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const open: [string, Followed][] = [];
    for (const id of ids) {
      const done = this.#finished.get(id) ?? await this.#fromReport(id);
      if (done) {
        out.push(done);
        continue;
      }
      const f = await this.#follow(id);
      if (f?.started) open.push([id, f]);
    }
    const live = open.filter(([, f]) => !f.finished);
    const journals = live.map(([id]) => `${this.runsDir}/${id}/events.jsonl`);
    const holders = live.length ? await fileHolders(journals) : new Map();
    for (const [id, f] of open) out.push(await this.#summary(id, f, holders));
    return out;
  }

  async #fromReport(id: string): Promise<RunSummary | undefined> {
    let report: Record<string, unknown>;
    try {
      report = JSON.parse(await Deno.readTextFile(`${this.runsDir}/${id}/report.json`));
    } catch {
      return undefined; // none yet (or half written: the journal says more)
    }
    const pipeline = report.pipeline as { name?: unknown } | undefined;
    const who = report.who as { user?: unknown } | undefined;
    const summary: RunSummary = {
      id,
      environment: str(report.environment) ?? "",
      pipeline: str(pipeline?.name) ?? "",
      version: str(report.version),
      user: str(who?.user) ?? "",
      startedAt: str(report.startedAt) ?? "",
      finishedAt: str(report.finishedAt),
      state: "finished",
      status: str(report.status) ?? "unknown",
    };
    this.#finished.set(id, summary);
    this.#followed.delete(id);
    return summary;
  }

  async #follow(id: string): Promise<Followed | undefined> {
    let f = this.#followed.get(id);
    if (!f) {
      f = {
        tail: new FileTail(`${this.runsDir}/${id}/events.jsonl`),
        paused: [],
        decided: new Set(),
      };
      this.#followed.set(id, f);
    }
    const lines = await f.tail.read();
    if (f.tail.restarted) Object.assign(f, { paused: [], decided: new Set(), finished: undefined });
    for (const line of lines) {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      if (e.type === "run.started") {
        f.started = e;
        if (typeof e.pid === "number") f.pid = e.pid;
      } else if (e.type === "run.resumed" && typeof e.pid === "number") f.pid = e.pid;
      else if (e.type === "stage.paused" && typeof e.stage === "string") f.paused.push(e.stage);
      else if (e.type === "stage.decision" && typeof e.stage === "string") f.decided.add(e.stage);
      else if (e.type === "run.finished") {
        f.finished = { status: str(e.status) ?? "unknown", at: str(e.ts) ?? "" };
      }
    }
    return f;
  }

  async #summary(
    id: string,
    f: Followed,
    holders: Map<string, number[]> | undefined,
  ): Promise<RunSummary> {
    const s = f.started!;
    const who = (s.who ?? {}) as { user?: unknown; host?: unknown };
    const base = {
      id,
      environment: str(s.environment) ?? "",
      pipeline: str(s.pipeline) ?? "",
      version: str(s.version),
      user: str(who.user) ?? "",
      startedAt: str(s.startedAt) ?? str(s.ts) ?? "",
    };
    if (f.finished) {
      return { ...base, finishedAt: f.finished.at, state: "finished", status: f.finished.status };
    }
    const journal = f.tail.path;
    const real = await Deno.realPath(journal).catch(() => journal);
    const lives = await runnerLives({
      journal,
      held: holders === undefined ? undefined : holders.has(real),
      pid: f.pid,
      sameHost: str(who.host) === hostname(),
    }, this.#staleMs === undefined ? {} : { staleMs: this.#staleMs });
    const waiting = f.paused.filter((st) => !f.decided.has(st)).at(-1);
    const state = !lives.alive ? "killed" : waiting ? "paused" : "running";
    return { ...base, state, status: state, waiting, how: lives.how };
  }
}
