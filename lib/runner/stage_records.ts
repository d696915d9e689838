/**
 * What the engine writes into a stage's record as it runs: checks (redacted), calls on
 * proxied resources (each one recorded), outputs (redacted, summarised when large), and
 * the retry backoff.
 * @module
 */
import { parseDuration } from "../dsl/duration.ts";
import type { StageDescription as StageSpec } from "../dsl/describe.ts";
import type { Redactor } from "../journal/redact.ts";
import type { CheckRecord, StageRecord } from "../report/schema.ts";
import type { CheckReport } from "./protocol.ts";
import type { StageGrant } from "./permissions.ts";
import { checkKubernetesCall, type NamespacedLookup } from "../kubernetes/scope.ts";
import { callErrorOf, CallFailedError } from "./call_errors.ts";
import { type Clock, realClock } from "../clock/clock.ts";

/** Methods of a resource the main thread holds (a Kubernetes client, a notifier...). */
export type CapabilityProvider = Record<string, (...args: never[]) => unknown>;

/**
 * The largest output kept whole in the report and the journal (serialised bytes): room for
 * a rollback's evidence (its failed pods' last lines and events, about 56 KB for
 * production's 14 pods at `pipelines/stages/evidence.ts`' bounds).
 */
export const MAX_REPORTED_OUTPUT = 65_536;

/** A check's report from the Worker, as the stage's record keeps it. */
export function checkRecordOf(report: CheckReport, redactor: Redactor): CheckRecord {
  const o = report.outcome;
  return {
    name: redactor.redact(report.name),
    required: report.required,
    status: o.skipped ? "skipped" : o.ok ? "passed" : report.required ? "failed" : "warned",
    message: redactor.redact(o.message),
    evidence: redactor.redactValue({ ...(o.evidence ?? {}) }),
    startedAt: report.startedAt,
    durationMs: report.durationMs,
  };
}

/** What {@linkcode callCapability} needs of the stage and the run. */
export interface CallContext {
  readonly spec: StageSpec;
  readonly grant?: StageGrant | undefined;
  readonly record: StageRecord;
  readonly capabilities: Readonly<Record<string, CapabilityProvider>>;
  readonly redactor: Redactor;
  /** The run's clock: calls are stamped and timed with it (default real time). */
  readonly clock?: Clock | undefined;
  /**
   * Whether the call is held on the clock from start to end (default). False for a
   * capability that holds the clock around its own real I/O and may wait on the clock in
   * between (e.g. polling a rollout): holding its whole call would stop that clock.
   */
  readonly holdWhole?: boolean | undefined;
}

/** The provider's own operation, or an error saying why there is none. */
function operationOf(
  ctx: CallContext,
  resource: string,
  method: string,
): { provider: CapabilityProvider; fn: (...a: unknown[]) => unknown } {
  if (!ctx.spec.uses.includes(resource)) {
    throw new Error(
      `stage "${ctx.spec.id}" used resource "${resource}", which it did not declare (add .uses("${resource}"))`,
    );
  }
  const provider = ctx.capabilities[resource];
  // Only the provider's own operations: nothing inherited (valueOf, constructor, ...).
  const fn = provider && !(method in Object.prototype) && !method.startsWith("_")
    ? provider[method]
    : undefined;
  if (!provider || typeof fn !== "function") {
    throw new Error(`resource "${resource}" has no operation "${method}"`);
  }
  return { provider, fn: fn as (...a: unknown[]) => unknown };
}

/**
 * Calls a proxied resource for a stage: refuses a resource the stage did not declare
 * and a Kubernetes call outside its grant, records the call (and its error, redacted)
 * in the stage's record.
 *
 * @throws {CallFailedError} For every failure: what the stage is told (the original
 * error's name, status, reason and plain fields, redacted).
 */
export async function callCapability(
  ctx: CallContext,
  call: { resource: string; method: string; args: readonly unknown[] },
): Promise<unknown> {
  const { resource, method } = call;
  const redact = (s: string) => ctx.redactor.redact(s);
  const failed = (err: unknown) =>
    new CallFailedError(callErrorOf(err, { capability: resource, operation: method }, redact));
  let op: ReturnType<typeof operationOf>;
  try {
    op = operationOf(ctx, resource, method);
  } catch (err) {
    throw failed(err);
  }
  const { provider, fn } = op;
  const clock = ctx.clock ?? realClock;
  const t0 = clock.now();
  // Recorded in the order the stage made its calls, whatever order they end in.
  const entry: StageRecord["calls"][number] = {
    resource,
    method,
    at: new Date(t0).toISOString(),
    durationMs: 0,
    ok: true,
  };
  ctx.record.calls.push(entry);
  const work = async () => {
    if (resource === "kubernetes") {
      const scope = ctx.grant?.kubernetes;
      if (!scope) throw new Error(`stage "${ctx.spec.id}" has no Kubernetes grant`);
      const lookup = provider.namespaced as NamespacedLookup | undefined;
      await checkKubernetesCall(
        ctx.spec.id,
        scope,
        call,
        lookup ? (kind) => lookup.call(provider, kind) : undefined,
      );
    }
    return await fn.apply(provider, [...call.args]);
  };
  try {
    const value = ctx.holdWhole === false
      ? await work()
      : await clock.track(`${resource}.${method}`, work());
    entry.durationMs = clock.since(t0);
    return value;
  } catch (err) {
    const error = failed(err);
    entry.durationMs = clock.since(t0);
    entry.ok = false;
    entry.error = error.message;
    throw error;
  }
}

/** A stage's output as the report keeps it: redacted JSON, or a note when too large. */
export function reportableOutput(output: unknown, redactor: Redactor): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(output);
  } catch {
    return "[output that is not JSON]";
  }
  if (text === undefined) return undefined;
  if (text.length > MAX_REPORTED_OUTPUT) return `[output of ${text.length} bytes, not kept]`;
  return redactor.redactValue(JSON.parse(text));
}

/** The wait before the next attempt of a stage. */
export function backoffMs(spec: StageSpec, attempt: number): number {
  const policy = spec.retry;
  if (!policy) return 0;
  const base = parseDuration(policy.delay ?? "1s");
  const max = parseDuration(policy.maxDelay ?? "1m");
  const ms = policy.backoff === "fixed" ? base : base * 2 ** (attempt - 1);
  return Math.min(ms, max);
}
