/**
 * The `pods/{name}/log` subresource as the kubelet answers it: `container` (required when a
 * pod has several), `tailLines`, `limitBytes`, `sinceSeconds`/`sinceTime`, `timestamps`,
 * `previous` (the last terminated instance of a restarted container) and `follow` (the
 * answer stays open and each new line is sent as it is written, until the container stops
 * or the pod goes), a container that has not started yet refused with 400 ("waiting to
 * start"), bad options with the API server's words.
 * @module
 */
import type { KObject } from "./resources.ts";
import { realClock } from "../clock/mod.ts";
import { ApiError, cause } from "./errors.ts";
import { queryBool, queryInt } from "./query.ts";
import { linesSince, logInstances, withTimestamps } from "./pod_log_lines.ts";
import { type FollowSource, followStream } from "./pod_log_follow.ts";

export type { FollowSource };

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

/** Options of {@linkcode podLogResponse}. */
export interface PodLogOptions {
  /** Now on the cluster's clock (epoch ms), for `sinceSeconds` (default: the wall's). */
  readonly now?: number;
  /** Where a `follow=true` answer reads new lines from; without it `follow` is ignored. */
  readonly follow?: FollowSource;
}

function sinceOf(params: URLSearchParams, podName: string, now: number): number | undefined {
  const seconds = params.get("sinceSeconds");
  const time = params.get("sinceTime");
  if (seconds !== null && time !== null) {
    throw ApiError.invalid("PodLogOptions", podName, [
      cause(
        "FieldValueInvalid",
        "",
        "at most one of `sinceTime` or `sinceSeconds` may be specified",
      ),
    ]);
  }
  const n = queryInt(params, "sinceSeconds");
  if (n !== undefined) {
    if (n < 1) {
      throw ApiError.invalid("PodLogOptions", podName, [
        cause("FieldValueInvalid", "sinceSeconds", `Invalid value: ${n}: must be greater than 0`),
      ]);
    }
    return now - n * 1000;
  }
  if (time === null || time === "") return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(time)
    ? Date.parse(time)
    : NaN;
  if (Number.isNaN(ms)) {
    throw ApiError.badRequest(
      `parsing time ${JSON.stringify(time)} as "2006-01-02T15:04:05Z07:00": cannot parse`,
    );
  }
  return Math.floor(ms / 1000) * 1000;
}

/**
 * Answers `GET .../pods/{name}/log` for a pod whose first container wrote `text` (its
 * lines; the sandbox simulates no other container's output, so theirs is empty).
 *
 * A restarted container's log holds each of its runs: `previous=true` answers the last
 * terminated one (what `lastState.terminated` describes), a 400 when it never restarted.
 * `follow=true` on a running container keeps the answer open and sends each line as it is
 * written, ending when the container stops running or the pod is deleted.
 *
 * @param pod The pod.
 * @param text What its container logged, one line each, newline-terminated.
 * @param params The request's query.
 * @param options The cluster's time, and where a followed log's new lines come from.
 * @returns The log as `text/plain` (a stream when followed).
 * @throws {ApiError} 400 for an unknown or missing container, a container still waiting to
 *   start, no previous instance, or a bad option; 422 for a bad count or time.
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
export function podLogResponse(
  pod: KObject,
  text: string,
  params: URLSearchParams,
  options: PodLogOptions = {},
): Response {
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
  const since = sinceOf(params, podName, options.now ?? realClock.now());
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
  const previous = queryBool(params, "previous");
  if (previous && !last.terminated) {
    throw ApiError.badRequest(
      `previous terminated container "${container}" in pod "${podName}" not found`,
    );
  }
  const own = container === (names[0] ?? "") ? text : "";
  let lines = own.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const total = lines.length;
  if (previous) {
    // The last instance is the current one (running, or waiting to restart): the one
    // before it is the run that ended last (what lastState.terminated describes).
    lines = logInstances(lines).at(-2) ?? [];
  }
  if (since !== undefined) lines = linesSince(lines, since);
  if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
  const started = String(((state.running ?? {}) as JsonMap).startedAt ?? "");
  const timestamps = queryBool(params, "timestamps");
  if (timestamps) lines = withTimestamps(lines, started);
  const body = lines.length ? lines.join("\n") + "\n" : "";
  if (queryBool(params, "follow") && options.follow && !previous && state.running) {
    return followStream(body, {
      source: options.follow,
      container,
      sent: total,
      ...(limit !== undefined ? { limitBytes: limit } : {}),
      format: (next) => timestamps ? withTimestamps(next, started) : next,
    });
  }
  const bytes = new TextEncoder().encode(body);
  return new Response(limit === undefined ? body : bytes.slice(0, limit), {
    headers: { "content-type": "text/plain" },
  });
}
