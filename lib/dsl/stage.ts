/**
 * Stages: immutable builders. Every method returns a new stage, so a definition
 * can be shared and extended without surprises.
 * @module
 */
import { boundedDuration, type DurationString, parseDuration } from "./duration.ts";
import {
  type GateDecision,
  type GateExpression,
  type GateOptions,
  type InconclusivePolicy,
  isStatistical,
  type ParsedGate,
  parseGate,
  statisticalDecision,
} from "./gate.ts";
import type { ApprovalSpec, Check, PermissionRequest, RetryPolicy, StageContext } from "./types.ts";
import { callerLocation, formatLocation } from "./location.ts";

/** A gate on a stage, with how many failed measurements it tolerates. */
export interface GateSpec {
  /** The gate. */
  readonly gate: ParsedGate;
  /** The gate fails when failed measurements exceed this number (`>`). Default 0. */
  readonly failureLimit: number;
  /** How inconclusive samples count; unset means the metric's own policy (default `"fail"`). */
  readonly inconclusive?: InconclusivePolicy;
  /** Consecutive query errors tolerated before the gate fails. Default 3. */
  readonly consecutiveErrorLimit: number;
  /** How a statistical gate decides; absent for a fixed-threshold gate. */
  readonly decision?: GateDecision;
}

/** How a stage's gates are measured over time. */
export interface AnalysisSpec {
  /** How long the analysis lasts, in ms (0: one measurement). */
  readonly durationMs: number;
  /** Time between measurements, in ms. */
  readonly intervalMs: number;
  /** How far back each measurement looks, in ms (0: one interval). */
  readonly windowMs: number;
  /** Time before the first measurement, in ms. */
  readonly initialDelayMs: number;
  /** On a breach: roll back (fail the stage), or pause for a person to decide. */
  readonly onBreach: "rollback" | "pause";
}

/**
 * What a stage may do with Kubernetes beyond its environment's namespace defaults:
 * Secret values it may read (`readSecret`), and further namespaces it may reach.
 */
export interface KubernetesScope {
  /** Secrets (in the environment's namespace, or `namespace/name`) whose values it may read. */
  readonly secrets: readonly string[];
  /** Namespaces besides the environment's own it may read and change. */
  readonly namespaces: readonly string[];
}

/**
 * A resource with a narrower or wider grant than its default, for {@linkcode Stage.uses}:
 * `{ kubernetes: { secrets: ["db-credentials"] } }` may read that Secret's values.
 */
export interface ResourceUse {
  /** Kubernetes, with the Secrets it may read and further namespaces. */
  readonly kubernetes?: {
    readonly secrets?: readonly string[];
    readonly namespaces?: readonly string[];
  };
}

/** The kind of a stage: ordinary, or a handler run after failures or always. */
export type StageKind = "normal" | "onFailure" | "finally";

/** Everything a stage declares; the runner reads this. */
export interface StageSpec {
  /** The stage's id. */
  readonly id: string;
  /** A one-line description. */
  readonly description?: string;
  /** Ordinary stage or handler. */
  readonly kind: StageKind;
  /** A failure handler that restores the previous state (the report's `rollback`). */
  readonly rollback: boolean;
  /** For handlers: the stages watched (empty: every ordinary stage). */
  readonly watches: readonly string[];
  /** The stages that must succeed (or be skipped by their own `when`) first. */
  readonly needs: readonly string[];
  /** Whether the stage runs here, and why not. */
  readonly when?: { readonly condition: boolean; readonly reason: string };
  /** The stage's work; what it returns is its output. */
  // deno-lint-ignore no-explicit-any
  readonly run?: (ctx: StageContext) => any;
  /** Checks run before the work. */
  readonly checks: readonly Check[];
  /** Gates measured after the work. */
  readonly gates: readonly GateSpec[];
  /** How the gates are measured. */
  readonly analysis: AnalysisSpec;
  /** A confirmation required before the stage runs. */
  readonly approval?: ApprovalSpec;
  /** Resources used; their permissions come from the environment. */
  readonly uses: readonly string[];
  /** What `uses({ kubernetes: {...} })` added: readable Secrets, further namespaces. */
  readonly kubernetes?: KubernetesScope;
  /** Where the stage was defined (`file:line:column` of its `stage(...)` call). */
  readonly location?: string;
  /** Explicit permissions. */
  readonly permissions: PermissionRequest;
  /** The per-attempt time limit, in ms. */
  readonly timeoutMs?: number;
  /** The retry policy. */
  readonly retry?: RetryPolicy;
}

/** Anything that names a stage: the stage itself or its id. */
export type StageRef = { readonly id: string } | string;

const ID = /^[a-z0-9][a-z0-9:_.-]*$/;

/** The longest stage id (its log file is `<id>.log`, within a file name's 255 bytes). */
const MAX_ID = 253;

/**
 * The most attempts a retry policy may ask for.
 *
 * @example
 * ```ts
 * import { MAX_ATTEMPTS } from "./stage.ts";
 * console.assert(MAX_ATTEMPTS === 1000);
 * ```
 */
export const MAX_ATTEMPTS = 1000;

function refId(ref: StageRef): string {
  return typeof ref === "string" ? ref : ref.id;
}

/**
 * A stage of a pipeline. `Out` is the type of the output it hands to the stages
 * that need it.
 *
 * @example
 * ```ts
 * import { stage } from "./stage.ts";
 * import assert from "node:assert/strict";
 * const build = stage("build").run(() => ({ image: "app:1.2.4" }));
 * const ship = stage("ship").needs(build).run((ctx) => ctx.output(build).image);
 * assert.deepEqual(ship.spec.needs, ["build"]);
 * ```
 */
export class Stage<Out = void> {
  readonly #spec: StageSpec;
  /** Phantom field carrying the output type; never set. */
  declare readonly __output?: Out;

  /** Use {@linkcode stage} instead. */
  constructor(spec: StageSpec) {
    this.#spec = Object.freeze(spec);
  }

  /** The stage's id. */
  get id(): string {
    return this.#spec.id;
  }

  /** Everything the stage declares. */
  get spec(): StageSpec {
    return this.#spec;
  }

  #with<T = Out>(patch: Partial<StageSpec>): Stage<T> {
    return new Stage<T>({ ...this.#spec, ...patch });
  }

  /** A one-line description for the plan and the report. */
  describe(text: string): Stage<Out> {
    return this.#with({ description: text });
  }

  /** Runs after these stages succeed; their outputs become available. */
  needs(...stages: StageRef[]): Stage<Out> {
    return this.#with({ needs: [...this.#spec.needs, ...stages.map(refId)] });
  }

  /** Runs only when `condition` holds; otherwise skipped, with `reason` recorded. */
  when(condition: boolean, reason?: string): Stage<Out> {
    return this.#with({
      when: { condition, reason: reason ?? (condition ? "condition holds" : "condition is false") },
    });
  }

  /** The stage's work. What it returns is its output. */
  run<T>(fn: (ctx: StageContext) => T | Promise<T>): Stage<Awaited<T>> {
    return this.#with<Awaited<T>>({ run: fn });
  }

  /** Adds checks, run concurrently before the stage's work. */
  check(...checks: Check[]): Stage<Out> {
    const names = new Set(this.#spec.checks.map((c) => c.name));
    for (const c of checks) {
      if (names.has(c.name)) {
        throw new SyntaxError(`Cannot add check "${c.name}" to stage "${this.id}": added twice`);
      }
      names.add(c.name);
    }
    return this.#with({ checks: [...this.#spec.checks, ...checks] });
  }

  /**
   * Adds a gate, measured after the stage's work for the analysis duration.
   * A fixed gate fails when failed measurements exceed `failureLimit` (default 0); a
   * statistical one (`{ decide: "sequential" }` or `"baseline"`) decides with confidence
   * ({@linkcode StatisticalGateOptions}).
   * What it measures is what the work returns: `{ analysisTargets: [{ service, slot }] }`
   * (`AnalysisTargets`, in `gate.ts`); a gated stage that returns none fails closed.
   */
  gate(expression: GateExpression, options: GateOptions = {}): Stage<Out> {
    const gate = parseGate(expression);
    const spec: GateSpec = isStatistical(options)
      ? {
        gate,
        failureLimit: 0,
        consecutiveErrorLimit: options.consecutiveErrorLimit ?? 3,
        decision: statisticalDecision(gate, options, this.id),
      }
      : {
        gate,
        failureLimit: options.failureLimit ?? 0,
        consecutiveErrorLimit: options.consecutiveErrorLimit ?? 3,
        ...(options.inconclusive ? { inconclusive: options.inconclusive } : {}),
      };
    return this.#with({ gates: [...this.#spec.gates, spec] });
  }

  /** How long the gates are measured, e.g. `"15m"`. */
  for(duration: DurationString | number): Stage<Out> {
    return this.#with({
      analysis: { ...this.#spec.analysis, durationMs: parseDuration(duration) },
    });
  }

  /** How often the gates are measured, e.g. `"1m"`. */
  every(interval: DurationString | number): Stage<Out> {
    const intervalMs = boundedDuration(`gate interval of stage "${this.id}"`, interval);
    return this.#with({ analysis: { ...this.#spec.analysis, intervalMs } });
  }

  /** How far back each measurement looks (a query's `{{window}}`), e.g. `"5m"`; default one interval. */
  window(window: DurationString | number): Stage<Out> {
    return this.#with({ analysis: { ...this.#spec.analysis, windowMs: parseDuration(window) } });
  }

  /** Waits this long before the first measurement. */
  initialDelay(delay: DurationString | number): Stage<Out> {
    return this.#with({
      analysis: { ...this.#spec.analysis, initialDelayMs: parseDuration(delay) },
    });
  }

  /** On a gate breach: `"rollback"` (fail the stage, the default) or `"pause"` for a decision. */
  onBreach(action: "rollback" | "pause"): Stage<Out> {
    return this.#with({ analysis: { ...this.#spec.analysis, onBreach: action } });
  }

  /** Requires a person to type a phrase before the stage runs. */
  approval(spec: ApprovalSpec): Stage<Out> {
    if (spec.phrase.trim() === "") {
      throw new SyntaxError(`Cannot require approval on stage "${this.id}": empty phrase`);
    }
    return this.#with({ approval: spec });
  }

  /**
   * Declares the resources the stage uses; their permissions come from the environment.
   * `uses("kubernetes")` reaches the environment's namespace without Secret values;
   * `uses({ kubernetes: { secrets: ["db-credentials"] } })` may also read that Secret.
   */
  uses(...resources: (string | ResourceUse)[]): Stage<Out> {
    const names = new Set(this.#spec.uses);
    let scope = this.#spec.kubernetes;
    for (const r of resources) {
      if (typeof r === "string") {
        names.add(r);
        continue;
      }
      for (const key of Object.keys(r)) {
        if (key !== "kubernetes") {
          throw new TypeError(
            `Cannot use ${
              JSON.stringify(key)
            } on stage "${this.id}": only kubernetes takes a scope object`,
          );
        }
      }
      if (!r.kubernetes) continue;
      names.add("kubernetes");
      const list = (v: unknown, what: string): string[] => {
        if (v === undefined) return [];
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "")) {
          throw new TypeError(
            `Cannot use kubernetes on stage "${this.id}": ${what} must be a list of names`,
          );
        }
        return v as string[];
      };
      scope = {
        secrets: [
          ...new Set([...(scope?.secrets ?? []), ...list(r.kubernetes.secrets, "secrets")]),
        ].sort(),
        namespaces: [
          ...new Set([
            ...(scope?.namespaces ?? []),
            ...list(r.kubernetes.namespaces, "namespaces"),
          ]),
        ].sort(),
      };
    }
    return this.#with({ uses: [...names], ...(scope ? { kubernetes: scope } : {}) });
  }

  /** Declares explicit permissions; everything undeclared is denied. */
  permissions(request: PermissionRequest): Stage<Out> {
    const merged: Record<string, string[] | string> = {};
    for (const key of ["read", "write", "net", "env", "run", "ffi"] as const) {
      const values = [...(this.#spec.permissions[key] ?? []), ...(request[key] ?? [])];
      if (values.length > 0) merged[key] = [...new Set(values)];
    }
    const reason = request.fullTrust ?? this.#spec.permissions.fullTrust;
    if (reason !== undefined) merged.fullTrust = reason;
    return this.#with({ permissions: merged as PermissionRequest });
  }

  /** Fails the attempt when it runs longer than this. */
  timeout(duration: DurationString | number): Stage<Out> {
    return this.#with({ timeoutMs: boundedDuration(`timeout of stage "${this.id}"`, duration) });
  }

  /** Retries failed attempts with backoff. */
  retry(policy: RetryPolicy): Stage<Out> {
    if (
      !Number.isInteger(policy.attempts) || policy.attempts < 1 || policy.attempts > MAX_ATTEMPTS
    ) {
      throw new RangeError(
        `Cannot retry stage "${this.id}": attempts must be a whole number from 1 to ` +
          `${MAX_ATTEMPTS}, got ${policy.attempts}`,
      );
    }
    const what = `retry delay of stage "${this.id}"`;
    if (policy.delay !== undefined) boundedDuration(what, policy.delay, { zero: true });
    if (policy.maxDelay !== undefined) {
      boundedDuration(`maximum ${what}`, policy.maxDelay, { zero: true });
    }
    return this.#with({ retry: policy });
  }

  /** Makes this a failure handler: it runs when one of `stages` (default: any stage) failed. */
  onFailure(...stages: StageRef[]): Stage<Out> {
    return this.#with({ kind: "onFailure", watches: stages.map(refId) });
  }

  /**
   * Makes this the rollback: a failure handler whose success turns a failed run's
   * status into `rolled_back`.
   */
  asRollback(...stages: StageRef[]): Stage<Out> {
    return this.#with({ kind: "onFailure", rollback: true, watches: stages.map(refId) });
  }

  /** Makes this a `finally` stage: it runs once `stages` (default: all) settle, whatever happened. */
  finally(...stages: StageRef[]): Stage<Out> {
    return this.#with({ kind: "finally", watches: stages.map(refId) });
  }
}

/**
 * Starts a stage definition.
 *
 * @param id The stage's id: lower case letters, digits and `: _ . -`.
 * @returns A stage that does nothing yet.
 * @throws {SyntaxError} When the id is malformed.
 *
 * @example
 * ```ts
 * import { stage } from "./stage.ts";
 * import assert from "node:assert/strict";
 * const s = stage("migrate").uses("database").timeout("10m");
 * assert.equal(s.spec.timeoutMs, 600_000);
 * ```
 */
export function stage(id: string): Stage<void> {
  if (typeof id !== "string" || !ID.test(id) || id.length > MAX_ID) {
    const shown = typeof id === "string" && id.length > 80
      ? `${JSON.stringify(id.slice(0, 40) + "…")} (${id.length} characters)`
      : JSON.stringify(id);
    throw new SyntaxError(
      `Cannot create stage ${shown}: ids are lower case letters, digits and ": _ . -", ` +
        `starting with a letter or digit, at most ${MAX_ID} characters (e.g. "deploy:api")`,
    );
  }
  const where = callerLocation();
  return new Stage<void>({
    id,
    ...(where ? { location: formatLocation(where) } : {}),
    kind: "normal",
    rollback: false,
    watches: [],
    needs: [],
    checks: [],
    gates: [],
    analysis: {
      durationMs: 0,
      intervalMs: 60_000,
      windowMs: 0,
      initialDelayMs: 0,
      onBreach: "rollback",
    },
    uses: [],
    permissions: {},
  });
}
