/**
 * The code that runs inside a stage's Worker: it evaluates the (pure) pipeline
 * definition, finds its stage, runs the stage's checks and work, and talks to the
 * main thread only through messages. Its time is the run's clock (`ctx.clock`, stamped on
 * every message), its waits are requests to the main thread (`ctx.sleep`), and it says
 * when it is quiet (`./worker_activity.ts`), so a virtual clock may move on.
 * @module
 */
import type { PipelineDefinition } from "../dsl/pipeline.ts";
import type { StageSpec } from "../dsl/stage.ts";
import type { CheckOutcome, StageContext } from "../dsl/types.ts";
import { CapabilityError } from "../dsl/errors.ts";
import { parseDuration } from "../dsl/duration.ts";
import { setAmbientClock } from "../async/ambient.ts";
import { explainDenied } from "./permissions.ts";
import type { CheckReport, HostMessage, RunRequest, WorkerMessage } from "./protocol.ts";
import { Activity, countRealIo } from "./worker_activity.ts";
import { StageClock } from "./worker_clock.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<HostMessage>) => void) | null;
  postMessage(message: WorkerMessage): void;
}

function describeError(stageId: string, err: unknown): WorkerMessage {
  const e = err instanceof Error ? err : new Error(String(err));
  const denied = explainDenied(stageId, e.message);
  return {
    type: "error",
    name: denied ? "PermissionDenied" : e.name,
    message: denied ?? e.message,
    denied: denied !== undefined,
    ...(e instanceof CapabilityError ? { typed: typedFields(e) } : {}),
  };
}

/** What a capability error the stage let through tells the main thread. */
function typedFields(
  e: CapabilityError,
): NonNullable<Extract<WorkerMessage, { type: "error" }>["typed"]> {
  return {
    capability: String(e.capability),
    operation: String(e.operation),
    ...(typeof e.status === "number" ? { status: e.status } : {}),
    ...(typeof e.reason === "string" ? { reason: e.reason } : {}),
    details: { ...e.details },
  };
}

async function runCheck(
  check: StageSpec["checks"][number],
  ctx: StageContext,
): Promise<CheckReport> {
  const t0 = ctx.clock.now();
  const startedAt = new Date(t0).toISOString();
  let outcome: CheckOutcome;
  try {
    outcome = await check.run(ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    outcome = { ok: false, message: explainDenied(ctx.stageId, message) ?? message };
  }
  return {
    name: check.name,
    required: check.required ?? true,
    outcome,
    startedAt,
    durationMs: ctx.clock.since(t0),
  };
}

type Post = (m: WorkerMessage) => void;

/** A stage's requests in flight (capability calls, sleeps): each waits for the main thread. */
class Requests {
  #calls = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #sleeps = new Map<number, () => void>();
  #next = 1;
  #post: Post;
  #activity: Activity;

  constructor(post: Post, activity: Activity) {
    this.#post = post;
    this.#activity = activity;
  }

  /** `ctx.use(resource)`: every method is a call the main thread serves. */
  proxy<T extends object>(resource: string): T {
    return new Proxy({}, {
      get: (_t, method) => {
        if (typeof method !== "string" || method === "then") return undefined;
        return (...args: unknown[]) =>
          new Promise((resolve, reject) => {
            const id = this.#next++;
            this.#calls.set(id, { resolve, reject });
            this.#activity.requestStarted();
            this.#post({ type: "call", id, resource, method, args });
          });
      },
    }) as T;
  }

  /** The main thread's answer: a value, or a typed error the stage can test. */
  answer(msg: Extract<HostMessage, { type: "callResult" }>): void {
    const pending = this.#calls.get(msg.id);
    if (!pending) return;
    this.#calls.delete(msg.id);
    this.#activity.requestEnded();
    if (msg.ok) pending.resolve(msg.value);
    else pending.reject(new CapabilityError(msg.error.message, msg.error));
  }

  /** Waits `ms` on the run's clock (the main thread's), until a signal aborts it. */
  sleep(ms: number, o: { unref: boolean; signal?: AbortSignal | undefined }): Promise<void> {
    const signal = o.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      const onAbort = () => {
        if (!this.#sleeps.delete(id)) return;
        this.#activity.requestEnded();
        this.#post({ type: "sleepCancel", id });
        reject(signal?.reason);
      };
      this.#sleeps.set(id, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#activity.requestStarted();
      this.#post({ type: "sleep", id, ms, unref: o.unref });
    });
  }

  /** The main thread says the sleep of that id is over. */
  woke(id: number): void {
    const done = this.#sleeps.get(id);
    if (!done) return;
    this.#sleeps.delete(id);
    this.#activity.requestEnded();
    done();
  }
}

const checkFailed = (failures: string[]): WorkerMessage => ({
  type: "error",
  name: "CheckFailed",
  message: `required check${failures.length > 1 ? "s" : ""} failed: ${failures.join("; ")}`,
  denied: false,
});

/** The stage's `ctx`; a required check that fails inside `run` is noted in `runtimeFailures`. */
function stageContext(
  req: RunRequest,
  spec: StageSpec,
  o: Served & { runtimeFailures: string[] },
): StageContext {
  const { post, clock } = o;
  const sleep = (duration: number | string, options: { readonly signal?: AbortSignal } = {}) => {
    let ms: number;
    try {
      ms = parseDuration(duration);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options.signal ? AbortSignal.any([options.signal, o.signal]) : o.signal;
    return clock.sleep(ms, { signal });
  };
  const ctx: StageContext = {
    stageId: req.stageId,
    pipeline: req.pipeline,
    runId: req.runId,
    user: req.user,
    environment: req.environmentName,
    version: req.version,
    dryRun: req.dryRun,
    attempt: req.attempt,
    signal: o.signal,
    failures: req.failures,
    log: (message) => post({ type: "log", level: "info", message: String(message) }),
    warn: (message) => post({ type: "log", level: "warn", message: String(message) }),
    notice: (message) => post({ type: "log", level: "notice", message: String(message) }),
    check: async (check) => {
      const report = await runCheck(check, ctx);
      post({ type: "check", report });
      if (report.required && !report.outcome.ok && !report.outcome.skipped) {
        o.runtimeFailures.push(`${report.name} (${report.outcome.message})`);
      }
      return report.outcome;
    },
    output: <T>(stage: { readonly id: string }): T => {
      if (!spec.needs.includes(stage.id)) {
        throw new ReferenceError(
          `stage "${req.stageId}" read the output of "${stage.id}", which it does not need`,
        );
      }
      return req.outputs[stage.id] as T;
    },
    use: <T extends object>(resource: string): T => o.requests.proxy<T>(resource),
    sleep,
    now: () => clock.now(),
    clock,
  };
  return ctx;
}

/** What a stage's code is served with. */
interface Served {
  readonly post: Post;
  readonly requests: Requests;
  readonly signal: AbortSignal;
  readonly clock: StageClock;
}

/** The stage's checks, then its work; what ends it is posted. */
async function runStage(req: RunRequest, spec: StageSpec, o: Served): Promise<void> {
  const { post } = o;
  const runtimeFailures: string[] = [];
  const ctx = stageContext(req, spec, { ...o, runtimeFailures });
  try {
    if (spec.checks.length > 0) {
      const reports = await Promise.all(spec.checks.map((c) => runCheck(c, ctx)));
      for (const report of reports) post({ type: "check", report });
      const failed = reports.filter((r) => r.required && !r.outcome.ok && !r.outcome.skipped);
      if (failed.length > 0) {
        return post(checkFailed(failed.map((r) => `${r.name} (${r.outcome.message})`)));
      }
    }
    const output = spec.run ? await spec.run(ctx) : undefined;
    if (runtimeFailures.length > 0) return post(checkFailed(runtimeFailures));
    try {
      post({ type: "done", output });
    } catch {
      post({
        type: "error",
        name: "DataCloneError",
        message: `stage "${req.stageId}" returned an output that cannot be copied to other stages`,
        denied: false,
      });
    }
  } catch (err) {
    post(describeError(req.stageId, err));
  }
}

/**
 * Serves a stage run of a pipeline module. Called by the Worker's entry module. The
 * module is imported only when the stage is handed over (a Worker started ahead has
 * evaluated nothing of the pipeline's code), so no pipeline code runs with a stage's
 * grant before that stage may run.
 *
 * @param load Imports the pipeline module (its default export is the definition). The
 * `import()` is written in the Worker's entry, whose module graph the Worker may load.
 *
 * @example
 * ```ts ignore
 * // the Worker's entry, after the guard:
 * serveStages(() => import("file:///project/pipelines/deploy.ts"));
 * ```
 */
export function serveStages(load: () => Promise<{ default?: unknown }>): void {
  let definition: PipelineDefinition<unknown> | undefined;
  const scope = globalThis as unknown as WorkerScope;
  const post: Post = (m) => scope.postMessage(m);
  const activity = new Activity(post);
  countRealIo(activity);
  const requests = new Requests(post, activity);
  let abort = new AbortController();
  let clock: StageClock | undefined;

  const run = async (req: RunRequest) => {
    abort = new AbortController();
    let spec: StageSpec | undefined;
    try {
      // A Worker serves one attempt of one stage: the pipeline is loaded and built once.
      definition ??= (await load()).default as PipelineDefinition<unknown>;
      const built = definition.build({ env: req.env, version: req.version, options: req.options });
      spec = built.find((s) => s.id === req.stageId)?.spec;
    } catch (err) {
      return post(describeError(req.stageId, err));
    }
    if (!spec) {
      return post({
        type: "error",
        name: "Error",
        message: `stage "${req.stageId}" is not defined when the pipeline is built again`,
        denied: false,
      });
    }
    await runStage(req, spec, { post, requests, signal: abort.signal, clock: clock! });
  };

  scope.onmessage = (e) => {
    const msg = e.data;
    if (msg.type === "run") {
      clock = new StageClock(
        msg.clock ?? { kind: "real", scale: 1 },
        (ms, o) => requests.sleep(ms, o),
        activity,
      );
      // Library code in the stage that waits or stamps on its own follows the run's clock.
      setAmbientClock(clock);
    }
    clock?.delivered(msg.now);
    activity.delivered(msg.delivery);
    switch (msg.type) {
      case "run":
        void run(msg);
        break;
      case "callResult":
        requests.answer(msg);
        break;
      case "sleepDone":
        requests.woke(msg.id);
        break;
      case "abort":
        abort.abort(new DOMException(msg.reason, "AbortError"));
        break;
    }
  };
  post({ type: "ready" });
}
