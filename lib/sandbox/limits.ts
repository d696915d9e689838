/**
 * The sandbox's own limits. It is one process on one machine, and every Ready pod is a real
 * HTTP server on loopback: a Deployment asking for 100,000,000 replicas must be refused
 * (422, as a quota would), never honoured. A saved state over these limits is refused on
 * load, with a message that tells how to start afresh (`--reset`).
 * @module
 */

/**
 * The sandbox's limits.
 *
 * - `replicas` (1000): `spec.replicas` of a Deployment or ReplicaSet (and a Job's
 *   `parallelism` and `completions`); the environment files allow the same at most.
 * - `pods` (5000): pods in the whole cluster; past it, controllers record a `FailedCreate`
 *   event and back off.
 * - `createsPerSync` (100): pods one ReplicaSet creates (or deletes) in one reconcile, so a
 *   single object never holds the control loop (Kubernetes' controller has a burst of 500).
 * - `stateObjects` (100,000): objects a saved state may hold.
 *
 * @example
 * ```ts
 * import { SANDBOX_LIMITS } from "./limits.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SANDBOX_LIMITS.replicas, 1000);
 * ```
 */
export const SANDBOX_LIMITS: {
  readonly replicas: number;
  readonly pods: number;
  readonly createsPerSync: number;
  readonly stateObjects: number;
} = Object.freeze({
  replicas: 1000,
  pods: 5000,
  createsPerSync: 100,
  stateObjects: 100_000,
});

type JsonMap = Record<string, unknown>;

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The replica-like counts of an object that the limits bound, with their field paths. */
function counts(obj: Record<string, unknown>): [field: string, value: unknown][] {
  const spec = isMap(obj.spec) ? obj.spec : {};
  switch (obj.kind) {
    case "Deployment":
    case "ReplicaSet":
      return [["spec.replicas", spec.replicas]];
    case "Job":
      return [["spec.parallelism", spec.parallelism], ["spec.completions", spec.completions]];
    default:
      return [];
  }
}

/**
 * Problems of an object with the limits: each `[field, message]` for a count that is not a
 * whole number from 0 to {@linkcode SANDBOX_LIMITS}`.replicas`.
 *
 * @param obj The object (its `kind` decides which fields are counts).
 * @returns The problems, empty when it is within the limits.
 *
 * @example
 * ```ts
 * import { countProblems } from "./limits.ts";
 * import assert from "node:assert/strict";
 * const rs = { kind: "ReplicaSet", spec: { replicas: 100_000_000 } };
 * assert.match(countProblems(rs)[0]![1], /less than or equal to 1000/);
 * assert.deepEqual(countProblems({ kind: "ReplicaSet", spec: { replicas: 3 } }), []);
 * ```
 */
export function countProblems(obj: Record<string, unknown>): [field: string, message: string][] {
  const out: [string, string][] = [];
  for (const [field, value] of counts(obj)) {
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      out.push([field, `Invalid value: ${JSON.stringify(value)}: must be a whole number >= 0`]);
    } else if (value > SANDBOX_LIMITS.replicas) {
      out.push([
        field,
        `Invalid value: ${value}: must be less than or equal to ${SANDBOX_LIMITS.replicas} (the sandbox's limit)`,
      ]);
    }
  }
  return out;
}

/**
 * Problems of a saved state's content with the limits and its shape: too many objects,
 * entries that are not `{ type, object: { metadata: { name } } }`, counts over the limits,
 * too many pods. At most `max` problems are listed.
 *
 * @param objects The state's `store.objects`.
 * @param max How many problems to list at most (default 5).
 * @returns Human-readable problems, empty when the state can be loaded.
 *
 * @example
 * ```ts
 * import { stateProblems } from "./limits.ts";
 * import assert from "node:assert/strict";
 * const rs = {
 *   kind: "ReplicaSet",
 *   metadata: { name: "api-1", namespace: "dev" },
 *   spec: { replicas: 100_000_000 },
 * };
 * const problems = stateProblems([{ type: "apps/v1/replicasets", object: rs }]);
 * assert.match(problems[0]!, /ReplicaSet dev\/api-1: spec.replicas/);
 * ```
 */
export function stateProblems(objects: readonly unknown[], max = 5): string[] {
  if (objects.length > SANDBOX_LIMITS.stateObjects) {
    return [
      `it holds ${objects.length} objects, more than the sandbox's limit of ${SANDBOX_LIMITS.stateObjects}`,
    ];
  }
  const out: string[] = [];
  let pods = 0;
  for (const [i, entry] of objects.entries()) {
    if (out.length >= max) break;
    const object = isMap(entry) ? entry.object : undefined;
    const m = isMap(object) ? object.metadata : undefined;
    if (
      !isMap(entry) || typeof entry.type !== "string" || !isMap(object) || !isMap(m) ||
      typeof m.name !== "string"
    ) {
      out.push(`entry ${i} is not an object with a type and a metadata.name`);
      continue;
    }
    if (object.kind === "Pod") pods++;
    const where = `${object.kind} ${m.namespace ? `${m.namespace}/` : ""}${m.name}`;
    for (const [field, message] of countProblems(object)) {
      out.push(`${where}: ${field}: ${message}`);
    }
  }
  if (out.length < max && pods > SANDBOX_LIMITS.pods) {
    out.push(`it holds ${pods} pods, more than the sandbox's limit of ${SANDBOX_LIMITS.pods}`);
  }
  return out.slice(0, max);
}
