/**
 * The cluster's side of the chain: the `deployment-info` ConfigMap's annotations that a
 * run writes where the runner alone cannot rewrite history — the run's checkpoint (the
 * journal's digest at a line, `run-checkpoint`), the previous run (`previous-run`) and the
 * history of the last checkpoints (`run-history`, newest last). Read from a live cluster or
 * a saved `kubectl get configmap deployment-info -o json`.
 * @module
 */
import { ANNOTATION_PREFIX } from "../product/mod.ts";

/**
 * The annotation holding the latest checkpoint, JSON `{ runId, events, digest }`.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_ANNOTATION } from "./cluster_record.ts";
 * console.assert(CHECKPOINT_ANNOTATION.endsWith("/run-checkpoint"));
 * ```
 */
export const CHECKPOINT_ANNOTATION = `${ANNOTATION_PREFIX}/run-checkpoint`;

/**
 * The annotation holding the previous run's link, JSON `{ runId, digest }`.
 *
 * @example
 * ```ts
 * import { PREVIOUS_RUN_ANNOTATION } from "./cluster_record.ts";
 * console.assert(PREVIOUS_RUN_ANNOTATION.endsWith("/previous-run"));
 * ```
 */
export const PREVIOUS_RUN_ANNOTATION = `${ANNOTATION_PREFIX}/previous-run`;

/**
 * The annotation holding the last checkpoints, a JSON list, newest last.
 *
 * @example
 * ```ts
 * import { HISTORY_ANNOTATION } from "./cluster_record.ts";
 * console.assert(HISTORY_ANNOTATION.endsWith("/run-history"));
 * ```
 */
export const HISTORY_ANNOTATION = `${ANNOTATION_PREFIX}/run-history`;

/**
 * How many checkpoints `run-history` keeps: older ones fall out of it.
 *
 * @example
 * ```ts
 * import { HISTORY_LIMIT } from "./cluster_record.ts";
 * console.assert(HISTORY_LIMIT === 100);
 * ```
 */
export const HISTORY_LIMIT = 100;

/**
 * A run's journal digest at a line, as the cluster recorded it during the run.
 *
 * @example
 * ```ts
 * import type { Checkpoint } from "./cluster_record.ts";
 * const c: Checkpoint = { runId: "20260101T120000Z-a1b2c3", events: 12, digest: "0".repeat(64) };
 * ```
 */
export interface Checkpoint {
  /** The run's id. */
  readonly runId: string;
  /** The line (1-based) the digest is the hash of. */
  readonly events: number;
  /** The hex SHA-256 of that line. */
  readonly digest: string;
}

/**
 * What the cluster's record says of the chain.
 *
 * @example
 * ```ts
 * import { parseClusterRecord } from "./cluster_record.ts";
 * const record = parseClusterRecord({ kind: "ConfigMap", metadata: { name: "deployment-info" } });
 * console.assert(record.history === undefined);
 * ```
 */
export interface ClusterRecord {
  /** Where it was read from (a file, the sandbox, a cluster and namespace). */
  readonly source: string;
  /** Whether the ConfigMap exists. */
  readonly exists: boolean;
  /** The latest checkpoint, when recorded. */
  readonly checkpoint: Checkpoint | undefined;
  /** The previous run's link, when recorded. */
  readonly previousRun: { readonly runId: string; readonly digest: string } | undefined;
  /** The history, oldest first; undefined when the ConfigMap keeps none (an older writer). */
  readonly history: readonly Checkpoint[] | undefined;
  /** Annotations that are there and do not parse (each a sentence). */
  readonly problems: readonly string[];
}

function checkpointOf(value: unknown): Checkpoint | undefined {
  const v = value as Record<string, unknown> | null | undefined;
  if (
    typeof v?.runId !== "string" || typeof v.digest !== "string" ||
    !/^[0-9a-f]{64}$/.test(v.digest) || !Number.isInteger(v.events) || (v.events as number) < 1
  ) {
    return undefined;
  }
  return { runId: v.runId, events: v.events as number, digest: v.digest };
}

function json(text: string | undefined): { value: unknown } | undefined {
  if (text === undefined) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { value: Symbol.for("invalid") };
  }
}

/**
 * Reads the chain's annotations from a `deployment-info` ConfigMap (as the API or
 * `kubectl get -o json` gives it; null when there is none).
 *
 * @param configMap The ConfigMap object, or null.
 * @param options Where it came from, for messages.
 * @returns The checkpoint, the previous run, the history, and any annotation that does not
 * parse.
 * @throws {TypeError} When the object is not a ConfigMap.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_ANNOTATION, HISTORY_ANNOTATION, parseClusterRecord } from "./cluster_record.ts";
 * import assert from "node:assert/strict";
 * const c = { runId: "r1", events: 7, digest: "a".repeat(64) };
 * const record = parseClusterRecord({
 *   kind: "ConfigMap",
 *   metadata: {
 *     name: "deployment-info",
 *     annotations: {
 *       [CHECKPOINT_ANNOTATION]: JSON.stringify(c),
 *       [HISTORY_ANNOTATION]: JSON.stringify([c]),
 *     },
 *   },
 * });
 * assert.deepEqual(record.history, [c]);
 * assert.deepEqual(record.problems, []);
 * ```
 */
export function parseClusterRecord(
  configMap: unknown,
  options: { readonly source?: string } = {},
): ClusterRecord {
  const source = options.source ?? "the cluster";
  if (configMap === null) {
    return {
      source,
      exists: false,
      checkpoint: undefined,
      previousRun: undefined,
      history: undefined,
      problems: [],
    };
  }
  const cm = configMap as { kind?: unknown; metadata?: { annotations?: unknown } };
  if (typeof cm !== "object" || cm.kind !== "ConfigMap") {
    throw new TypeError(
      `${source} is not a ConfigMap (kind ${JSON.stringify(cm?.kind ?? null)}): save it with ` +
        "kubectl get configmap deployment-info -o json",
    );
  }
  const annotations = (cm.metadata?.annotations ?? {}) as Record<string, unknown>;
  const read = (key: string) =>
    json(typeof annotations[key] === "string" ? annotations[key] : undefined);
  const problems: string[] = [];
  const bad = (key: string, what: string) => problems.push(`its ${key} annotation is not ${what}`);

  const rawCheckpoint = read(CHECKPOINT_ANNOTATION);
  const checkpoint = rawCheckpoint ? checkpointOf(rawCheckpoint.value) : undefined;
  if (rawCheckpoint && !checkpoint) {
    bad(CHECKPOINT_ANNOTATION, "a checkpoint {runId, events, digest}");
  }

  const rawPrevious = read(PREVIOUS_RUN_ANNOTATION);
  const p = rawPrevious?.value as { runId?: unknown; digest?: unknown } | null | undefined;
  const previousRun = typeof p?.runId === "string" && typeof p.digest === "string"
    ? { runId: p.runId, digest: p.digest }
    : undefined;
  if (rawPrevious && rawPrevious.value !== null && !previousRun) {
    bad(PREVIOUS_RUN_ANNOTATION, "a run link {runId, digest}");
  }

  const rawHistory = read(HISTORY_ANNOTATION);
  let history: Checkpoint[] | undefined;
  if (rawHistory) {
    if (!Array.isArray(rawHistory.value)) {
      bad(HISTORY_ANNOTATION, "a JSON list of checkpoints");
    } else {
      history = [];
      for (const [i, entry] of rawHistory.value.entries()) {
        const c = checkpointOf(entry);
        if (c) history.push(c);
        else bad(HISTORY_ANNOTATION, `a list of checkpoints (entry ${i + 1} is not one)`);
      }
    }
  }
  return { source, exists: true, checkpoint, previousRun, history, problems };
}
