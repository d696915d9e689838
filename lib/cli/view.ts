/**
 * What a run shows while it goes: plain lines (or JSON lines with `--json`) when not
 * at a terminal; at a terminal, the same lines plus a live status line of the stages
 * running. Colour only at a terminal and never with `NO_COLOR`.
 * @module
 */
import { formatDuration } from "../dsl/duration.ts";
import type { SampleRecord, StageRecord } from "../report/schema.ts";
import type { GateSpec } from "../dsl/stage.ts";

/** A sample's counts, so 0 errors of 3 requests reads apart from 0 of 30,000. */
function evidenceText(e: SampleRecord["evidence"], unit: string): string {
  if (!e) return "";
  const n = e.requests.toLocaleString("en-US");
  const window = `${+(e.windowMs / 1000).toFixed(1)}s`;
  if (e.over !== undefined && e.overMs !== undefined) {
    return `${e.over.toLocaleString("en-US")} of ${n} over ${e.overMs}ms in ${window}`;
  }
  if (e.errors !== undefined && unit === "%") {
    return `${e.errors.toLocaleString("en-US")} of ${n} in ${window}`;
  }
  return `${n} requests in ${window}`;
}

/** Where text goes. */
export interface Output {
  write(text: string): void;
}

const COLOURS = { red: 31, green: 32, yellow: 33, dim: 2, cyan: 36 } as const;

/** Shows stage changes. */
export class RunView {
  #out: Output;
  #live: boolean;
  #colour: boolean;
  #json: boolean;
  #running = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #frame = 0;
  #statusShown = false;
  #rounds = new Map<
    string,
    { at: string; gates: Map<string, { text: string; verdict: SampleRecord["verdict"] }[]> }
  >();
  #roundCount = new Map<string, number>();

  /**
   * @param out Where to write.
   * @param options `tty`: live view; `colour`: ANSI colours; `json`: one JSON object a line.
   */
  constructor(out: Output, options: { tty: boolean; colour: boolean; json: boolean }) {
    this.#out = out;
    this.#live = options.tty && !options.json;
    this.#colour = options.colour && !options.json;
    this.#json = options.json;
  }

  #paint(colour: keyof typeof COLOURS, text: string): string {
    return this.#colour ? `\x1b[${COLOURS[colour]}m${text}\x1b[0m` : text;
  }

  #clearStatus(): void {
    if (this.#statusShown) this.#out.write("\r\x1b[K");
    this.#statusShown = false;
  }

  #drawStatus(): void {
    if (!this.#live || this.#running.size === 0) return;
    const spin = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[this.#frame++ % 10];
    const now = performance.now();
    const parts = [...this.#running].map(([id, t]) => `${id} ${formatDuration(now - t)}`);
    let line = `${spin} running: ${parts.join(", ")}`;
    const width = Deno.stdout.isTerminal() ? Deno.consoleSize().columns - 1 : 120;
    if (line.length > width) line = line.slice(0, width - 1) + "…";
    this.#clearStatus();
    this.#out.write(this.#paint("cyan", line));
    this.#statusShown = true;
  }

  /** Prints a line above the live status. */
  line(text: string): void {
    if (this.#json) return;
    this.#clearStatus();
    this.#out.write(text + "\n");
    this.#drawStatus();
  }

  /** A stage changed state. */
  stage(r: StageRecord, running: boolean): void {
    if (this.#json) {
      this.#out.write(
        JSON.stringify({
          type: "stage",
          id: r.id,
          status: running ? "running" : r.status,
          reason: r.reason,
        }) +
          "\n",
      );
      return;
    }
    if (running) {
      this.#running.set(r.id, performance.now());
      if (!this.#live) this.line(`▶ ${r.id}`);
      else this.#drawStatus();
      if (this.#live && this.#timer === undefined) {
        this.#timer = setInterval(() => this.#drawStatus(), 120);
      }
      return;
    }
    this.#running.delete(r.id);
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
    if (this.#running.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clearStatus();
  }

  /** A stage's notice (progress worth seeing: traffic weights, slots). */
  notice(stageId: string, message: string): void {
    this.line(this.#paint("cyan", `  ${stageId}: ${message}`));
  }

  /**
   * A gate sample. Samples are shown a measurement round at a time: one line per gate
   * with every target's value, marked by the round's worst verdict.
   */
  sample(
    stageId: string,
    gate: GateSpec,
    target: Readonly<Record<string, string>>,
    s: SampleRecord,
  ): void {
    const round = this.#rounds.get(stageId);
    if (round && round.at !== s.at) this.#flushRound(stageId);
    const r = this.#rounds.get(stageId) ?? { at: s.at, gates: new Map() };
    this.#rounds.set(stageId, r);
    const who = Object.entries(target).filter(([k]) => k !== "namespace").map(([, v]) => v).join(
      "/",
    );
    const value = s.value === null ? s.verdict : `${+s.value.toFixed(2)}${gate.gate.unit}`;
    // A gate string can be both an absolute and a baseline gate: one line each.
    const key = `${gate.gate.source}${
      gate.decision?.method === "baseline" ? " (vs baseline)" : ""
    }`;
    const list = r.gates.get(key) ?? [];
    const shown = [evidenceText(s.evidence, gate.gate.unit), s.detail].filter(Boolean).join("; ");
    list.push({
      text: `${who.split("/")[0]} ${value}${shown ? ` (${shown})` : ""}`,
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
    for (const [gate, samples] of r.gates) {
      const bad = samples.some((x) => x.verdict !== "successful");
      const mark = !bad
        ? this.#paint("green", "✓")
        : samples.some((x) => x.verdict === "failed")
        ? this.#paint("red", "✗")
        : this.#paint("yellow", "?");
      this.line(`    ${mark} ${stageId} #${n} ${gate}: ${samples.map((x) => x.text).join(", ")}`);
    }
  }

  /** Stops the live status line. */
  close(): void {
    this.#stopTimer();
  }
}
