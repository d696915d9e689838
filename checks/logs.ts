/**
 * Log aggregation validations (the seed's "Logs are being collected" and "Structured logging
 * format"): a pod of a workload has written log lines, and its last line is a JSON object with
 * an ISO-8601 `timestamp` — what `kubectl logs deployment/<name> --tail=N` shows, read through
 * the `kubernetes` capability's `podLogs`. The pod is picked as kubectl picks one for a
 * workload: Running and Ready first, then the oldest.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { KindRef, KubeObject, KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";
import { kubeCheck } from "./kubernetes_check.ts";

const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
/** An ISO-8601 date and time with seconds and a zone (`2026-01-01T12:00:00.123Z`, `+02:00`). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
/** How much of a log line a failure quotes. */
const EXCERPT = 120;

/** Options of the log checks. */
export interface LogCheckOptions extends CommonCheckOptions {
  /** The container to read (default: the pod's first, as kubectl defaults). */
  readonly container?: string;
}

function rec(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

function ready(pod: KubeObject): boolean {
  const conditions = rec(pod.status).conditions;
  return Array.isArray(conditions) &&
    conditions.some((c) => rec(c).type === "Ready" && rec(c).status === "True");
}

function rank(pod: KubeObject): number {
  const running = rec(pod.status).phase === "Running";
  return running && ready(pod) ? 0 : running ? 1 : 2;
}

/** The pod kubectl would read for the selector, or a failure naming what matched nothing. */
async function pickPod(
  k: KubernetesCapability,
  namespace: string,
  labelSelector: string,
  container: string | undefined,
): Promise<{ pod: string; container: string } | { none: string }> {
  const pods = (await k.list(POD, namespace, { labelSelector }))
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((a, b) =>
      rank(a) - rank(b) ||
      String(a.metadata.creationTimestamp ?? "").localeCompare(
        String(b.metadata.creationTimestamp ?? ""),
      )
    );
  const pod = pods[0];
  if (!pod) return { none: `No pod matches ${labelSelector} in ${namespace}: no log to read` };
  const first = (rec(pod.spec).containers as { name?: string }[] | undefined)?.[0]?.name;
  return { pod: pod.metadata.name, container: container ?? first ?? "" };
}

function linesOf(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

function excerpt(line: string): string {
  return line.length > EXCERPT ? `${line.slice(0, EXCERPT)}…` : line;
}

/**
 * A pod matching the selector has written at least one line in its last `tailLines` (the
 * seed's `kubectl logs deployment/<name> --tail=10 | wc -l` ≥ 1).
 *
 * @param namespace The namespace.
 * @param labelSelector The workload's pods, e.g. `service=web,slot=green`.
 * @param options `tailLines` (default 10), container, name, required.
 * @returns The check; evidence: pod, container, tailLines, lines.
 *
 * @example
 * ```ts
 * import { logsCollected } from "./logs.ts";
 * import assert from "node:assert/strict";
 * const check = logsCollected("shop", "service=web,slot=green");
 * assert.equal(check.name, "Logs are being collected");
 * ```
 */
export function logsCollected(
  namespace: string,
  labelSelector: string,
  options: LogCheckOptions & { readonly tailLines?: number } = {},
): Check {
  const tailLines = options.tailLines ?? 10;
  return kubeCheck("Logs are being collected", async (k) => {
    const picked = await pickPod(k, namespace, labelSelector, options.container);
    if ("none" in picked) return fail(picked.none, { selector: labelSelector });
    const { pod, container } = picked;
    const evidence: Record<string, unknown> = { pod, container, tailLines };
    let text: string;
    try {
      text = await k.podLogs(namespace, pod, { tailLines, container });
    } catch (error) {
      return fail(unreadable(error, namespace, pod), evidence);
    }
    const lines = linesOf(text).length;
    evidence.lines = lines;
    return lines > 0
      ? pass(`pod ${pod} logged ${lines} line(s) in its last ${tailLines}`, evidence)
      : fail(
        `pod ${namespace}/${pod} (${labelSelector}) has logged nothing: its log is empty`,
        evidence,
      );
  }, options);
}

/** Why a line is not a structured log line, or undefined when it is (and its timestamp). */
function structureProblem(line: string): { problem: string } | { timestamp: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { problem: "is not JSON" };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { problem: "is JSON but not an object" };
  }
  const timestamp = (parsed as Record<string, unknown>).timestamp;
  if (timestamp === undefined) return { problem: 'has no "timestamp" field' };
  if (
    typeof timestamp !== "string" || !ISO_8601.test(timestamp) ||
    Number.isNaN(Date.parse(timestamp))
  ) {
    return { problem: `has a "timestamp" that is not ISO-8601 (${JSON.stringify(timestamp)})` };
  }
  return { timestamp };
}

/**
 * The last log line of a pod matching the selector is a JSON object whose `timestamp` is an
 * ISO-8601 date and time (the seed's `kubectl logs deployment/<name> --tail=1 | jq -r
 * .timestamp` matching `^[0-9]{4}-[0-9]{2}-[0-9]{2}T`, here also with a time and a zone).
 *
 * @param namespace The namespace.
 * @param labelSelector The workload's pods.
 * @param options Container, name, required.
 * @returns The check; evidence: pod, container, timestamp, fields (on failure: the line, cut
 *   to 120 characters).
 *
 * @example
 * ```ts
 * import { structuredLogs } from "./logs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(structuredLogs("shop", "service=web").name, "Structured logging format");
 * ```
 */
export function structuredLogs(
  namespace: string,
  labelSelector: string,
  options: LogCheckOptions = {},
): Check {
  return kubeCheck("Structured logging format", async (k) => {
    const picked = await pickPod(k, namespace, labelSelector, options.container);
    if ("none" in picked) return fail(picked.none, { selector: labelSelector });
    const { pod, container } = picked;
    const evidence: Record<string, unknown> = { pod, container };
    let text: string;
    try {
      text = await k.podLogs(namespace, pod, { tailLines: 1, container });
    } catch (error) {
      return fail(unreadable(error, namespace, pod), evidence);
    }
    const line = linesOf(text).at(-1);
    if (line === undefined) {
      return fail(`pod ${namespace}/${pod} has logged nothing: no line to parse`, evidence);
    }
    const found = structureProblem(line);
    if ("problem" in found) {
      evidence.line = excerpt(line);
      return fail(
        `The last log line of pod ${namespace}/${pod} ${found.problem}: ${excerpt(line)}`,
        evidence,
      );
    }
    evidence.timestamp = found.timestamp;
    evidence.fields = Object.keys(JSON.parse(line) as Record<string, unknown>);
    return pass(`pod ${pod} logs JSON lines (last at ${found.timestamp})`, evidence);
  }, options);
}

/** Why a log could not be read, naming the pod. */
function unreadable(error: unknown, namespace: string, pod: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.includes(pod)
    ? message
    : `Cannot read the log of pod ${namespace}/${pod}: ${message}`;
}
