/**
 * The `pods/{name}/log` subresource as the kubelet answers it: `container` (required when a
 * pod has several), `tailLines`, `limitBytes`, `timestamps` and `previous`, a container that
 * has not started yet refused with 400 ("waiting to start"), bad options with the API
 * server's words.
 * @module
 */
import type { KObject } from "./resources.ts";
import { ApiError, cause } from "./errors.ts";

type JsonMap = Record<string, unknown>;

function containerNames(pod: KObject): string[] {
  const spec = (pod.spec ?? {}) as JsonMap;
  const list = [
    ...(spec.containers ?? []) as JsonMap[],
    ...(spec.initContainers ?? []) as JsonMap[],
  ];
  return list.map((c) => String(c.name ?? ""));
}

function count(
  params: URLSearchParams,
  name: "tailLines" | "limitBytes",
  podName: string,
  min: number,
): number | undefined {
  const text = params.get(name);
  if (text === null || text === "") return undefined;
  if (!/^-?\d+$/.test(text)) {
    throw ApiError.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  const n = Number(text);
  if (n < min) {
    throw ApiError.invalid("PodLogOptions", podName, [
      cause(
        "FieldValueInvalid",
        name,
        `Invalid value: ${n}: must be greater than ${min ? "0" : "or equal to 0"}`,
      ),
    ]);
  }
  return n;
}

/** The status of a pod's container, by name. */
function statusOf(pod: KObject, container: string): JsonMap | undefined {
  const status = (pod.status ?? {}) as JsonMap;
  const all = [
    ...(status.containerStatuses ?? []) as JsonMap[],
    ...(status.initContainerStatuses ?? []) as JsonMap[],
  ];
  return all.find((s) => s.name === container);
}

/** Each line prefixed with its time (the JSON line's `timestamp`, else the pod's start). */
function withTimestamps(lines: string[], fallback: string): string[] {
  return lines.map((line) => {
    let at = fallback;
    try {
      const parsed = JSON.parse(line) as JsonMap;
      if (typeof parsed.timestamp === "string" && !Number.isNaN(Date.parse(parsed.timestamp))) {
        at = new Date(parsed.timestamp).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
      }
    } catch {
      // a plain-text line keeps the fallback
    }
    return `${at} ${line}`;
  });
}

/**
 * Answers `GET .../pods/{name}/log` for a pod whose container wrote `text` (its lines).
 *
 * @param pod The pod.
 * @param text What its container logged, one line each, newline-terminated.
 * @param params The request's query.
 * @returns The log as `text/plain`.
 * @throws {ApiError} 400 for an unknown or missing container, a container still waiting to
 *   start, or a bad option; 422 for a negative count.
 *
 * @example
 * ```ts
 * import { podLogResponse } from "./pod_logs.ts";
 * import assert from "node:assert/strict";
 * const pod = {
 *   metadata: { name: "web-1" },
 *   spec: { containers: [{ name: "web" }] },
 *   status: { containerStatuses: [{ name: "web", restartCount: 0, state: { running: {} } }] },
 * };
 * const res = podLogResponse(pod, "a\nb\nc\n", new URLSearchParams("tailLines=2"));
 * assert.equal(await res.text(), "b\nc\n");
 * ```
 */
export function podLogResponse(pod: KObject, text: string, params: URLSearchParams): Response {
  const podName = String(((pod.metadata ?? {}) as JsonMap).name ?? "");
  const names = containerNames(pod);
  const asked = params.get("container") ?? "";
  if (asked === "" && names.length > 1) {
    throw ApiError.badRequest(
      `a container name must be specified for pod ${podName}, choose one of: [${names.join(" ")}]`,
    );
  }
  const container = asked || names[0] || "";
  if (!names.includes(container)) {
    throw ApiError.badRequest(`container ${container} is not valid for pod ${podName}`);
  }
  const tail = count(params, "tailLines", podName, 0);
  const limit = count(params, "limitBytes", podName, 1);
  const status = statusOf(pod, container);
  const state = (status?.state ?? {}) as JsonMap;
  const last = (status?.lastState ?? {}) as JsonMap;
  const waiting = state.waiting as JsonMap | undefined;
  if ((!status || waiting) && !last.terminated && Number(status?.restartCount ?? 0) === 0) {
    const reason = String(waiting?.reason ?? "ContainerCreating");
    throw ApiError.badRequest(
      `container "${container}" in pod "${podName}" is waiting to start: ${reason}`,
    );
  }
  const previous = params.get("previous") === "true";
  if (previous && !last.terminated) {
    throw ApiError.badRequest(
      `previous terminated container "${container}" in pod "${podName}" not found`,
    );
  }
  let lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
  if (params.get("timestamps") === "true") {
    const started = String(((state.running ?? {}) as JsonMap).startedAt ?? "");
    lines = withTimestamps(lines, started);
  }
  const body = lines.length ? lines.join("\n") + "\n" : "";
  const bytes = new TextEncoder().encode(body);
  return new Response(limit === undefined ? body : bytes.slice(0, limit), {
    headers: { "content-type": "text/plain" },
  });
}
