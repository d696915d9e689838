/**
 * What a pipeline's description may look like when it crosses from the Worker that built
 * it: the Worker runs pipeline code, which can post anything, so the main thread takes
 * only what parses here (plain data of bounded size, the DSL's own rules for ids).
 * @module
 */
import { z } from "zod";
import type { StageDescription } from "../dsl/describe.ts";
import type { MetricDefinition } from "../dsl/gate.ts";

const text = (max: number) => z.string().max(max);
const names = z.array(text(4096)).max(10_000);
const ms = z.number().finite().nonnegative();

const permissions = z.strictObject({
  read: names.optional(),
  write: names.optional(),
  net: names.optional(),
  env: names.optional(),
  run: names.optional(),
  ffi: names.optional(),
  fullTrust: text(1000).optional(),
});

/** One stage as data. */
export const stageDescriptionSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9:_.-]*$/).max(253),
  description: text(4000).optional(),
  location: text(4096).optional(),
  kind: z.enum(["normal", "onFailure", "finally"]),
  rollback: z.boolean(),
  watches: names,
  needs: names,
  when: z.strictObject({ condition: z.boolean(), reason: text(4000) }).optional(),
  run: z.literal(true).optional(),
  checks: z.array(z.strictObject({ name: text(1000), required: z.boolean().optional() })).max(
    1000,
  ),
  gates: z.array(z.strictObject({
    gate: z.strictObject({
      metric: text(200),
      operator: z.enum(["<", "<=", ">", ">="]),
      threshold: z.number().finite(),
      unit: text(20),
      source: text(1000),
    }),
    failureLimit: z.number().int().nonnegative(),
    consecutiveErrorLimit: z.number().int().nonnegative(),
    inconclusive: z.enum(["fail", "ignore"]).optional(),
    decision: z.strictObject({
      method: z.enum(["sequential", "baseline"]),
      confidence: z.number().gt(0).lt(1),
      lookMs: ms,
    }).optional(),
  })).max(100),
  analysis: z.strictObject({
    durationMs: ms,
    intervalMs: ms,
    windowMs: ms,
    initialDelayMs: ms,
    onBreach: z.enum(["rollback", "pause"]),
  }),
  approval: z.strictObject({ phrase: text(1000).min(1), message: text(4000).optional() })
    .optional(),
  uses: names,
  kubernetes: z.strictObject({ secrets: names, namespaces: names }).optional(),
  permissions,
  timeoutMs: ms.optional(),
  retry: z.strictObject({
    attempts: z.number().int().min(1).max(1000),
    backoff: z.enum(["fixed", "exponential"]).optional(),
    delay: z.union([text(100), ms]).optional(),
    maxDelay: z.union([text(100), ms]).optional(),
  }).optional(),
});

const metricSchema = z.strictObject({
  unit: z.enum(["%", "ms", "s", "", "req/s"]),
  query: text(100_000),
  description: text(4000).optional(),
  inconclusive: z.enum(["fail", "ignore"]).optional(),
  scale: z.number().finite().optional(),
  measurement: z.strictObject({ field: text(200), scale: z.number().finite().optional() })
    .optional(),
  evidence: z.union([
    z.strictObject({
      kind: z.literal("error_ratio"),
      requests: text(100_000).optional(),
      errors: text(100_000).optional(),
    }),
    z.strictObject({
      kind: z.literal("quantile"),
      quantile: z.number().gt(0).lt(1),
      requests: text(100_000).optional(),
      over: text(100_000).optional(),
    }),
  ]).optional(),
});

/** What the describe Worker sends once the module loaded. */
export const loadedSchema = z.strictObject({
  type: z.literal("loaded"),
  name: text(200).min(1),
  options: z.strictObject({ failFast: z.boolean(), requiresVersion: z.boolean() }),
  metrics: z.record(z.string().max(200), metricSchema),
});

/** What the describe Worker sends once the stages are built. */
export const builtSchema = z.strictObject({
  type: z.literal("built"),
  stages: z.array(stageDescriptionSchema).max(100_000),
});

/**
 * Parses the stages a describe Worker sent.
 *
 * @param message The message as it arrived.
 * @returns The stages, or the first problem found.
 *
 * @example
 * ```ts
 * import { parseBuilt } from "./description_schema.ts";
 * import assert from "node:assert/strict";
 * assert.ok("error" in parseBuilt({ type: "built", stages: [{ id: "a" }] }));
 * ```
 */
export function parseBuilt(
  message: unknown,
): { stages: StageDescription[] } | { error: string } {
  const r = builtSchema.safeParse(message);
  if (!r.success) return { error: problem(r.error) };
  return { stages: r.data.stages as StageDescription[] };
}

/**
 * Parses the first message of a describe Worker.
 *
 * @param message The message as it arrived.
 * @returns The pipeline's name, options and metrics, or the first problem found.
 *
 * @example
 * ```ts
 * import { parseLoaded } from "./description_schema.ts";
 * import assert from "node:assert/strict";
 * const ok = parseLoaded({
 *   type: "loaded",
 *   name: "p",
 *   options: { failFast: true, requiresVersion: false },
 *   metrics: {},
 * });
 * assert.ok(!("error" in ok));
 * ```
 */
export function parseLoaded(message: unknown):
  | {
    name: string;
    options: { failFast: boolean; requiresVersion: boolean };
    metrics: Record<string, MetricDefinition>;
  }
  | { error: string } {
  const r = loadedSchema.safeParse(message);
  if (!r.success) return { error: problem(r.error) };
  return {
    name: r.data.name,
    options: r.data.options,
    metrics: r.data.metrics as Record<string, MetricDefinition>,
  };
}

function problem(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join(".") || "(top)";
  return `${path}: ${issue?.message ?? "malformed"}`;
}
