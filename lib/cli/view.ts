/**
 * What a run shows while it goes. At a terminal: a live region at the bottom that redraws in
 * place (every stage with its state and time; for a running gated stage its progress, a table
 * of each gate's latest value per service and the traffic split: `view_render.ts`), above
 * which the run's lines scroll. Not at a terminal: plain lines, a gate's samples one line per
 * gate and look. With `--json`: nothing but the run's journal as NDJSON (`view_json.ts`).
 * Colour only at a terminal and never with `NO_COLOR`. A failed gate names every service
 * that breached it, with its values, in every mode but `--json` (whose events carry them).
 * @module
 */
import type { SampleProgress } from "../analysis/provider.ts";
import { formatDuration } from "../dsl/duration.ts";
import type { GateSpec } from "../dsl/stage.ts";
import type { SampleRecord, StageRecord } from "../report/schema.ts";
import { JournalStream } from "./view_json.ts";
import { LiveRegion } from "./view_live.ts";
import { breachesOf, gateKey, RunModel, targetName } from "./view_model.ts";
import { type RenderOptions, renderRegion } from "./view_render.ts";
import { type Colour, COLOURS, count } from "./view_text.ts";

export type { GateSpec, SampleProgress, SampleRecord, StageRecord };

/**
 * Where text goes.
 *
 * @example
 * ```ts
 * import type { Output } from "./view.ts";
 * const out: Output = { write: (t) => void t };
 * ```
 */
export interface Output {
  /** Writes `text` as it is. */
  write(text: string): void;
}

/**
 * How a {@linkcode RunView} shows a run.
 *
 * @example
 * ```ts
 * import type { RunViewOptions } from "./view.ts";
 * const o: RunViewOptions = { tty: true, colour: false, json: false, size: () => ({ columns: 80, rows: 24 }) };
 * ```
 */
export interface RunViewOptions {
  /** A person at a terminal: the live region. */
  readonly tty: boolean;
  /** ANSI colours. */
  readonly colour: boolean;
  /** The run's journal as NDJSON, and nothing else. */
  readonly json: boolean;
  /** The terminal's size (default `Deno.consoleSize()`, or 80×24 when it has none). */
  readonly size?: () => { columns: number; rows: number };
  /** How often the region redraws while nothing happens (default 250 ms): times tick. */
  readonly tickMs?: number;
  /** The least time between two frames (default 50 ms): a burst of events is one frame. */
  readonly frameMs?: number;
}

/**
 * What the view needs to know of a run when it starts.
 *
 * @example
 * ```ts
 * import type { RunStart } from "./view.ts";
 * const s: RunStart = { runId: "r1", runDir: "/tmp/r1", title: "deploy → shop", stages: [{ id: "lock" }] };
 * ```
 */
export interface RunStart {
  /** The run's id. */
  readonly runId: string;
  /** Its folder (its journal is `events.jsonl` in it). */
  readonly runDir: string;
  /** What runs where (`deploy → production @ v1.2.4`). */
  readonly title: string;
  /** Its stages, in the graph's order. */
  readonly stages: ConstructorParameters<typeof RunModel>[0]["stages"];
}

/** A sample's counts, so 0 errors of 3 requests reads apart from 0 of 30,000. */
function evidenceText(e: SampleRecord["evidence"], unit: string): string {
  if (!e) return "";
  const n = count(e.requests);
  const window = `${+(e.windowMs / 1000).toFixed(1)}s`;
  if (e.over !== undefined && e.overMs !== undefined) {
    return `${count(e.over)} of ${n} over ${e.overMs}ms in ${window}`;
  }
  if (e.errors !== undefined && unit === "%") return `${count(e.errors)} of ${n} in ${window}`;
  return `${n} requests in ${window}`;
}

/** A sample's value and counts: `3.12% (93 of 2,987 in 10s)`. */
function sampleText(s: SampleRecord, unit: string): string {
  const value = s.value === null ? s.verdict : `${+s.value.toFixed(2)}${unit}`;
  const shown = [evidenceText(s.evidence, unit), s.detail].filter(Boolean).join("; ");
  return `${value}${shown ? ` (${shown})` : ""}`;
}

/**
 * Shows a run: its stage changes, notices, gate samples and lines, as the options say.
 *
 * @example
 * ```ts
 * import { RunView } from "./view.ts";
 * import assert from "node:assert/strict";
 * let out = "";
 * const view = new RunView({ write: (t) => out += t }, { tty: false, colour: false, json: false });
 * view.line("hello");
 * view.close();
 * assert.equal(out, "hello\n");
 * ```
 */
export class RunView {
  #out: Output;
  #o: RunViewOptions;
  #live: LiveRegion | undefined;
  #stream: JournalStream | undefined;
  #model: RunModel | undefined;
  #logs: string[] = [];
  #frame = 0;
  #lastFrame = -Infinity;
  #pending: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #paused = false;
  #rounds = new Map<
    string,
    {
      at: string;
      progress: SampleProgress | undefined;
      gates: Map<string, { text: string; verdict: SampleRecord["verdict"] }[]>;
    }
  >();
  #roundCount = new Map<string, number>();

  /**
   * A view onto `out`.
   *
   * @param out Where to write.
   * @param options `tty`: live region; `colour`: ANSI colours; `json`: the journal as NDJSON.
   */
  constructor(out: Output, options: RunViewOptions) {
    this.#out = out;
    this.#o = options;
    if (options.tty && !options.json) this.#live = new LiveRegion(out);
  }

  #paint(colour: Colour, text: string): string {
    return this.#o.colour && !this.#o.json ? `\x1b[${COLOURS[colour]}m${text}\x1b[0m` : text;
  }

  #terminal(): { width: number; rows: number } {
    try {
      const { columns, rows } = this.#o.size ? this.#o.size() : Deno.consoleSize();
      return { width: columns, rows };
    } catch {
      return { width: 80, rows: 24 };
    }
  }

  #renderOptions(): RenderOptions {
    return {
      ...this.#terminal(),
      colour: this.#o.colour,
      wall: performance.now(),
      frame: this.#frame++,
    };
  }

  /** Draws a frame now: the lines that came, then the region. */
  #draw(): void {
    if (this.#pending !== undefined) clearTimeout(this.#pending);
    this.#pending = undefined;
    if (!this.#live || this.#paused) return;
    this.#lastFrame = performance.now();
    const region = this.#model ? renderRegion(this.#model, this.#renderOptions()) : [];
    this.#live.frame(this.#logs.splice(0), region);
  }

  /** A frame soon: at most one every `frameMs`. */
  #schedule(): void {
    if (!this.#live || this.#paused || this.#pending !== undefined) return;
    const wait = Math.max(0, this.#lastFrame + (this.#o.frameMs ?? 50) - performance.now());
    this.#pending = setTimeout(() => this.#draw(), wait);
    Deno.unrefTimer(this.#pending);
  }

  /** Prints a line (at a terminal: above the live region). */
  line(text: string): void {
    if (this.#o.json) return;
    if (!this.#live) {
      this.#out.write(text + "\n");
      return;
    }
    this.#logs.push(text);
    // Without a region (or while it is off for a question) the line goes out at once.
    if (this.#paused) this.#live.frame(this.#logs.splice(0), []);
    else if (!this.#model) this.#draw();
    else this.#schedule();
  }

  /**
   * A run started: its journal is followed (`--json`), its stages shown (at a terminal).
   *
   * @param run The run's id, folder, title and stages.
   */
  runStarted(run: RunStart): void {
    if (this.#o.json) {
      this.#stream?.end().catch(() => {});
      this.#stream = new JournalStream(this.#out);
      this.#stream.follow(run.runDir);
      return;
    }
    this.line(`run ${run.runId}`);
    if (!this.#live) return;
    this.#model = new RunModel({ title: run.title, runId: run.runId, stages: run.stages });
    this.#ticker ??= setInterval(() => this.#draw(), this.#o.tickMs ?? 250);
    Deno.unrefTimer(this.#ticker);
    this.#schedule();
  }

  /**
   * The run ended: the rest of its journal is written (`--json`), its region taken off.
   *
   * @returns When its last lines are out.
   */
  async runEnded(): Promise<void> {
    await this.#stream?.end();
    this.#stream = undefined;
    this.#stopLive();
  }

  /** A stage changed state. */
  stage(r: StageRecord, running: boolean): void {
    if (this.#o.json) return;
    if (running) {
      this.#model?.started(r.id, r.startedAt);
      if (!this.#live) this.line(`▶ ${r.id}`);
      else this.#schedule();
      return;
    }
    this.#model?.finished(r.id, r.status, r.durationMs);
    this.#flushRound(r.id);
    const took = r.durationMs !== undefined ? ` (${formatDuration(r.durationMs)})` : "";
    switch (r.status) {
      case "succeeded":
        this.line(`${this.#paint("green", "✓")} ${r.id}${took}`);
        break;
      case "failed":
        this.line(`${this.#paint("red", "✗")} ${r.id}${took}: ${r.reason ?? "failed"}`);
        break;
      case "interrupted":
        this.line(`${this.#paint("yellow", "■")} ${r.id}${took}: ${r.reason ?? "interrupted"}`);
        break;
      case "skipped":
        this.line(this.#paint("dim", `- ${r.id}: skipped (${r.reason ?? ""})`));
        break;
    }
    for (const c of r.checks) {
      const mark = c.status === "passed"
        ? this.#paint("green", "✓")
        : c.status === "failed"
        ? this.#paint("red", "✗")
        : c.status === "warned"
        ? this.#paint("yellow", "!")
        : "-";
      this.line(`    ${mark} ${c.name}: ${c.message}`);
    }
    this.#breaches(r);
  }

  /** Every service that breached each failed gate of a stage, with its values. */
  #breaches(r: StageRecord): void {
    for (const g of r.gates) {
      const breached = breachesOf(g);
      if (breached.length === 0) continue;
      const services = new Set(g.samples.map((s) => targetName(s.labels ?? {}))).size;
      this.line(
        `    ${this.#paint("red", "✗")} ${r.id}: ${
          gateKey(g.gate, g.method)
        } breached for ${breached.length} of ${services} service(s):`,
      );
      for (const b of breached) {
        this.line(`        ${this.#paint("red", b.target)} ${sampleText(b.sample, g.unit)}`);
      }
    }
  }

  /** A stage's notice (progress worth seeing: traffic weights, slots). */
  notice(stageId: string, message: string): void {
    this.#model?.notice(stageId, message);
    this.line(this.#paint("cyan", `  ${stageId}: ${message}`));
  }

  /**
   * A gate sample. At a terminal it goes to the stage's table; otherwise samples are shown a
   * look at a time: one line per gate with every target's value, marked by the look's worst
   * verdict.
   */
  sample(
    stageId: string,
    gate: GateSpec,
    target: Readonly<Record<string, string>>,
    s: SampleRecord,
    progress?: SampleProgress,
  ): void {
    if (this.#o.json) return;
    if (this.#live) {
      this.#model?.sample(stageId, gate, { ...s, labels: s.labels ?? { ...target } }, progress);
      this.#schedule();
      return;
    }
    const round = this.#rounds.get(stageId);
    if (round && round.at !== s.at) this.#flushRound(stageId);
    const r = this.#rounds.get(stageId) ?? { at: s.at, progress, gates: new Map() };
    this.#rounds.set(stageId, r);
    // A gate string can be both an absolute and a baseline gate: one line each.
    const key = gateKey(gate.gate.source, gate.decision?.method);
    const list = r.gates.get(key) ?? [];
    list.push({
      text: `${targetName(target)} ${sampleText(s, gate.gate.unit)}`,
      verdict: s.verdict,
    });
    r.gates.set(key, list);
  }

  #flushRound(stageId: string): void {
    const r = this.#rounds.get(stageId);
    if (!r) return;
    this.#rounds.delete(stageId);
    const n = (this.#roundCount.get(stageId) ?? 0) + 1;
    this.#roundCount.set(stageId, n);
    const look = r.progress ? `#${r.progress.look} of ${r.progress.of}` : `#${n}`;
    for (const [gate, samples] of r.gates) {
      const bad = samples.some((x) => x.verdict !== "successful");
      const mark = !bad
        ? this.#paint("green", "✓")
        : samples.some((x) => x.verdict === "failed")
        ? this.#paint("red", "✗")
        : this.#paint("yellow", "?");
      this.line(`    ${mark} ${stageId} ${look} ${gate}: ${samples.map((x) => x.text).join(", ")}`);
    }
  }

  /**
   * Stops redrawing until {@linkcode RunView.resume}: the region as it is now stays on screen,
   * and what is written next (a question at the terminal, its answer) goes below it.
   */
  pause(): void {
    if (!this.#live || this.#paused) return;
    this.#draw();
    this.#paused = true;
    this.#live.clear(this.#model ? renderRegion(this.#model, this.#renderOptions()) : []);
  }

  /** Shows the live region again after {@linkcode RunView.pause}. */
  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  #stopLive(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#pending !== undefined) clearTimeout(this.#pending);
    this.#pending = undefined;
    // The run's last region stays on screen, above what comes next: how every stage ended.
    const last = this.#model && !this.#paused
      ? renderRegion(this.#model, this.#renderOptions())
      : [];
    this.#model = undefined;
    this.#live?.clear([...this.#logs.splice(0), ...last]);
  }

  /** Stops the live region (what it held stays above) and the journal's stream. */
  close(): void {
    for (const id of [...this.#rounds.keys()]) this.#flushRound(id);
    this.#stream?.end().catch(() => {});
    this.#stream = undefined;
    this.#stopLive();
  }
}
