/**
 * Evaluating a pipeline module where it can do no harm: a Worker with no permissions
 * at all and a time limit. Top-level code and the build function run there; only the
 * stages' description (plain data) comes back, so `plan` and `deploy` never run
 * pipeline code with the runner's own permissions.
 * @module
 */
import type { MetricDefinition } from "../dsl/gate.ts";
import type { PipelineContext, PipelineDefinition } from "../dsl/pipeline.ts";
import type { StageDescription } from "../dsl/describe.ts";
import { callerLocation, formatLocation } from "../dsl/location.ts";
import type { BuildRequest, DescribeMessage } from "./describe_runtime.ts";
import { isWorkerMessage, type WorkerMessage } from "./protocol.ts";
import { InputError, InterruptedError } from "./errors.ts";
import { parseBuilt, parseLoaded } from "./description_schema.ts";
import { realClock } from "../clock/clock.ts";

const GUARD_NODE_URL = new URL("./worker_guard_node.ts", import.meta.url).href;
const RUNTIME_URL = new URL("./describe_runtime.ts", import.meta.url).href;

/**
 * The default time a pipeline module may take to load and build: 30 s, generous for a busy
 * machine (the repository's deploy pipeline takes well under 1 s); the environment variable
 * {@linkcode LOAD_TIMEOUT_ENV} changes it.
 *
 * @example
 * ```ts
 * import { DESCRIBE_TIMEOUT_MS } from "./describe.ts";
 * console.assert(DESCRIBE_TIMEOUT_MS === 30_000);
 * ```
 */
export const DESCRIBE_TIMEOUT_MS = 30_000;

/**
 * The environment variable that sets the time a pipeline module may take to load and build,
 * as a duration (`PIPELINE_LOAD_TIMEOUT=2m`; default {@linkcode DESCRIBE_TIMEOUT_MS}).
 *
 * @example
 * ```ts
 * import { LOAD_TIMEOUT_ENV } from "./describe.ts";
 * console.assert(LOAD_TIMEOUT_ENV === "PIPELINE_LOAD_TIMEOUT");
 * ```
 */
export const LOAD_TIMEOUT_ENV = "PIPELINE_LOAD_TIMEOUT";

/**
 * Evaluated after the guard and before the pipeline module: ending the Worker while the
 * module loads or builds (`Deno.exit()`, `process.exit()`, `close()`) throws instead, so the
 * runner hears an error at that line rather than waiting for its time limit.
 */
const REFUSE_EXITS = `import process from "node:process";
const refuse = (what) => () => {
  throw new Error(what + " was called while the pipeline was loading: a pipeline file only " +
    "builds its stages (to stop a run, throw an error in a stage)");
};
const lock = (target, key, value) =>
  Object.defineProperty(target, key, { value, writable: false, configurable: false });
lock(Deno, "exit", refuse("Deno.exit()"));
lock(process, "exit", refuse("process.exit()"));
lock(globalThis, "close", refuse("close()"));
`;

/** `message` with its trailing `at file:///...:L:C` line turned into a `file:L:C: ` prefix. */
function locatedMessage(message: string): string {
  const at = /\n\s*at (file:\/\/\S+?):(\d+):(\d+)\s*$/.exec(message);
  if (!at) return message;
  const where = callerLocation(`x\n    at ${at[1]}:${at[2]}:${at[3]}`);
  const text = message.slice(0, at.index).replace(/^Uncaught (\(in worker "[^"]*"\) )?/, "");
  return where ? `${formatLocation(where)}: ${text}` : text;
}

/** A pipeline's name and options, as its module declared them. */
export interface PipelineInfo {
  /** The pipeline's name. */
  readonly name: string;
  /** How it runs. */
  readonly options: PipelineDefinition<unknown>["options"];
}

/** A described pipeline: what the runner knows of it without running its code. */
export interface PipelineDescription {
  /** Name and options. */
  readonly definition: PipelineInfo;
  /** The metrics the module exports as `metrics`. */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** The stages, as data. */
  readonly stages: readonly StageDescription[];
}

/** How to describe a pipeline. */
export interface DescribeOptions {
  /** The file as the user named it, for messages. */
  readonly file: string;
  /** Gives the build context once the module's options are known (may throw {@linkcode InputError}). */
  readonly context: (info: PipelineInfo) => PipelineContext<unknown>;
  /** The time limit (default {@linkcode DESCRIBE_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Told what the module printed while loading (default: standard error). */
  readonly onPrint?: (text: string) => void;
  /** Stops the evaluation (SIGINT/SIGTERM): the Worker is terminated at once. */
  readonly signal?: AbortSignal;
}

function located(stack: string, fallback: string): string {
  const where = callerLocation(stack);
  return where ? `${formatLocation(where)}: ${fallback}` : fallback;
}

type Loaded = PipelineInfo & { metrics: Readonly<Record<string, MetricDefinition>> };

/** How a describing Worker's messages end the description or go on with it. */
interface Session {
  /** Shows what the module printed. */
  readonly print: (text: string) => void;
  /** Ends with an {@linkcode InputError} naming the file. */
  readonly fail: (message: string) => void;
  /** Ends with this error. */
  readonly reject: (err: unknown) => void;
  /** Ends with the description. */
  readonly resolve: (d: PipelineDescription) => void;
  /** Sends the build request. */
  readonly post: (m: BuildRequest) => void;
  readonly context: DescribeOptions["context"];
}

/**
 * The describing Worker's messages. It runs pipeline code, which can post anything:
 * only well-formed messages, in order, count.
 */
class DescribeSession {
  #s: Session;
  #info: Loaded | undefined;
  #built = false;

  constructor(s: Session) {
    this.#s = s;
  }

  /** Whether the module loaded (its build function was asked for the stages). */
  get loaded(): boolean {
    return this.#info !== undefined;
  }

  #malformed(what: string): void {
    this.#s.fail(`sent a malformed description (${what}): pipeline code must not post messages`);
  }

  #loaded(raw: unknown): void {
    if (this.#info) return this.#malformed("loaded twice");
    const loaded = parseLoaded(raw);
    if ("error" in loaded) return this.#malformed(loaded.error);
    this.#info = loaded;
    let context: PipelineContext<unknown>;
    try {
      context = this.#s.context({ name: loaded.name, options: loaded.options });
    } catch (err) {
      return this.#s.reject(err);
    }
    this.#s.post({ type: "build", context });
  }

  #builtMessage(raw: unknown): void {
    const loaded = this.#info;
    if (!loaded || this.#built) {
      return this.#malformed(loaded ? "built twice" : "stages before the module loaded");
    }
    this.#built = true;
    const parsed = parseBuilt(raw);
    if ("error" in parsed) return this.#malformed(parsed.error);
    this.#s.resolve({
      definition: { name: loaded.name, options: loaded.options },
      metrics: loaded.metrics,
      stages: parsed.stages,
    });
  }

  /** Handles one message as it arrived. */
  handle(raw: unknown): void {
    const type = typeof raw === "object" && raw !== null
      ? (raw as { type?: unknown }).type
      : undefined;
    switch (type) {
      case "print":
      case "fatal": {
        if (!isWorkerMessage(raw)) return this.#malformed(String(type));
        const m = raw as WorkerMessage;
        if (m.type === "print") return this.#s.print(m.text);
        if (m.type !== "fatal") return;
        return this.#s.fail(`threw while loading: ${located(m.stack, `${m.name}: ${m.message}`)}`);
      }
      case "invalid":
      case "buildError": {
        const said = raw as DescribeMessage & { message?: unknown; name?: unknown };
        if (typeof said.message !== "string") return this.#malformed(String(type));
        return type === "invalid"
          ? this.#s.fail(said.message)
          : this.#s.fail(`could not be built: ${String(said.name)}: ${said.message}`);
      }
      case "loaded":
        return this.#loaded(raw);
      case "built":
        return this.#builtMessage(raw);
      default:
        return this.#malformed(`a message of type ${JSON.stringify(type)}`);
    }
  }
}

/**
 * Imports and builds a pipeline module in a Worker with no permissions.
 *
 * @param pipelineUrl The module's URL.
 * @param o The file name for messages, the build context, the time limit.
 * @returns The pipeline's description.
 * @throws {InterruptedError} When `signal` aborts first.
 * @throws {InputError} When the module throws at import, has no definition, its build
 * fails or returns something else than stages, or it does not finish in time — each
 * message names the file (and the line where the pipeline code is known).
 *
 * @example
 * ```ts ignore
 * const d = await describePipeline(url, {
 *   file: "pipelines/deploy.ts",
 *   context: () => ({ env, version, options: {} }),
 * });
 * d.stages.map((s) => s.id);
 * ```
 */
export function describePipeline(
  pipelineUrl: string,
  o: DescribeOptions,
): Promise<PipelineDescription> {
  // The guard for Node's modules loads them, then the guard (which it imports).
  const source = `import ${JSON.stringify(GUARD_NODE_URL)};\n` +
    `import "data:application/javascript;base64,${btoa(REFUSE_EXITS)}";\n` +
    `import * as mod from ${JSON.stringify(pipelineUrl)};\n` +
    `import { serveDescription } from ${JSON.stringify(RUNTIME_URL)};\n` +
    `serveDescription(mod);\n`;
  const worker = new Worker(`data:application/javascript;base64,${btoa(source)}`, {
    type: "module",
    name: "pipeline definition",
    deno: { permissions: "none" },
  });
  const timeoutMs = o.timeoutMs ?? DESCRIBE_TIMEOUT_MS;
  return new Promise<PipelineDescription>((resolve, reject) => {
    let cancelTimer = () => {};
    const done = (fn: () => void) => {
      cancelTimer();
      o.signal?.removeEventListener("abort", onAbort);
      worker.terminate();
      fn();
    };
    const onAbort = () =>
      done(() =>
        reject(
          new InterruptedError(`Interrupted while loading pipeline ${o.file}: nothing was changed`),
        )
      );
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const fail = (message: string, cause?: unknown) =>
      done(() => reject(new InputError(`Pipeline ${o.file} ${message}`, { cause })));
    // A limit on real work (loading a module), so real time whatever the run's clock.
    cancelTimer = realClock.schedule(
      timeoutMs,
      () =>
        fail(
          `did not finish loading and building within ${timeoutMs / 1000} s: ` +
            (session.loaded
              ? "its build function did not return (does it loop?)"
              : "its top-level code did not finish (a loop, or an await that never settles?)") +
            `; ${LOAD_TIMEOUT_ENV} sets the limit`,
        ),
    );
    worker.onerror = (e) => {
      e.preventDefault();
      fail(`cannot be loaded: ${locatedMessage(e.message)}`);
    };
    const session = new DescribeSession({
      print: o.onPrint ?? ((text) => Deno.stderr.writeSync(new TextEncoder().encode(text))),
      fail,
      reject: (err) => done(() => reject(err)),
      resolve: (d) => done(() => resolve(d)),
      post: (m) => worker.postMessage(m),
      context: o.context,
    });
    worker.onmessage = (e: MessageEvent<unknown>) => session.handle(e.data);
  });
}
