/**
 * A followed pod log (`kubectl logs -f`): the answer stays open and each line the container
 * writes is sent as it is written, until the container stops running, the pod goes, the
 * client hangs up, `limitBytes` is reached or the server stops.
 * @module
 */
import type { KObject, ResourceType } from "./resources.ts";
import { meta, type Store } from "./store.ts";

type JsonMap = Record<string, unknown>;

/** Where a followed log's lines come from. */
export interface FollowSource {
  /** The pod and its (first container's) whole log now; undefined once the pod is gone. */
  read(): { pod: JsonMap; text: string } | undefined;
  /**
   * Calls `onChange` whenever a line may have been written (the kubelet writes a line in
   * the pass that changes the pod, so a change of the pod is the signal); returns the
   * function that stops it.
   */
  subscribe(onChange: () => void): () => void;
  /** The server's open streams: the close function is kept here while the log is followed. */
  open: Set<() => void>;
}

/**
 * A pod's log to follow from the store: its changes are the signal (the kubelet writes a
 * line in the pass that updates the pod), the same pod (by uid) or nothing once it is gone.
 *
 * @param store The object store.
 * @param pod The pod followed.
 * @param options Its resource type, how its log is read, the server's open streams.
 * @returns The source for {@linkcode followStream}.
 *
 * @example
 * ```ts
 * import { storeFollowSource } from "./pod_log_follow.ts";
 * import { Store } from "./store.ts";
 * import { findResource, type ResourceType } from "./resources.ts";
 * import assert from "node:assert/strict";
 * const pods = findResource("", "v1", "pods") as ResourceType;
 * const store = new Store();
 * const pod = store.put(pods, { metadata: { name: "p", namespace: "d", uid: "u1" } });
 * const source = storeFollowSource(store, pod, { type: pods, read: () => "a\n", open: new Set() });
 * let changes = 0;
 * const stop = source.subscribe(() => changes++);
 * store.put(pods, { metadata: { name: "p", namespace: "d", uid: "u1" }, status: {} });
 * stop();
 * assert.equal(changes, 1);
 * assert.equal(source.read()?.text, "a\n");
 * ```
 */
export function storeFollowSource(
  store: Store,
  pod: KObject,
  options: { type: ResourceType; read: () => string; open: Set<() => void> },
): FollowSource {
  const { type } = options;
  const m = meta(pod);
  const namespace = String(m.namespace ?? ""), name = String(m.name), uid = m.uid;
  return {
    read: () => {
      const now = store.peek(type, namespace, name);
      if (!now || meta(now).uid !== uid) return undefined;
      return { pod: now, text: options.read() };
    },
    subscribe: (onChange) =>
      store.subscribe((c) => {
        if (c.resource === type && meta(c.object).uid === uid) onChange();
      }),
    open: options.open,
  };
}

function running(pod: JsonMap, container: string): boolean {
  const status = (pod.status ?? {}) as JsonMap;
  const all = (status.containerStatuses ?? []) as JsonMap[];
  const state = (all.find((s) => s.name === container)?.state ?? {}) as JsonMap;
  return state.running !== undefined;
}

/**
 * The streaming answer of a followed log.
 *
 * @param first What is sent at once (the selected lines so far, newline-terminated).
 * @param options The source, the container, how many of its log lines were already read,
 *   the byte limit, and how new lines are written (the `timestamps` prefix).
 * @returns A `text/plain` response whose body ends when the container stops running.
 *
 * @example
 * ```ts
 * import { followStream } from "./pod_log_follow.ts";
 * import assert from "node:assert/strict";
 * const pod = { status: { containerStatuses: [{ name: "app", state: { running: {} } }] } };
 * let text = "a\n";
 * const listeners = new Set<() => void>();
 * const res = followStream("a\n", {
 *   source: {
 *     read: () => ({ pod, text }),
 *     subscribe: (fn) => (listeners.add(fn), () => listeners.delete(fn)),
 *     open: new Set(),
 *   },
 *   container: "app",
 *   sent: 1,
 *   format: (lines) => lines,
 * });
 * const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
 * assert.equal((await reader.read()).value, "a\n");
 * text = "a\nb\n";
 * pod.status.containerStatuses[0]!.state = {} as never; // the container stopped
 * for (const fn of listeners) fn();
 * assert.equal((await reader.read()).value, "b\n");
 * assert.equal((await reader.read()).done, true);
 * ```
 */
export function followStream(
  first: string,
  options: {
    source: FollowSource;
    container: string;
    /** Lines of the log already read (new ones come after). */
    sent: number;
    limitBytes?: number;
    format: (lines: string[]) => string[];
  },
): Response {
  const { source, container } = options;
  const encoder = new TextEncoder();
  let sent = options.sent;
  let budget = options.limitBytes ?? Infinity;
  let close = () => {};
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      let closed = false;
      const push = (text: string): boolean => {
        if (text === "") return true;
        let bytes = encoder.encode(text);
        if (bytes.length >= budget) bytes = bytes.slice(0, budget);
        budget -= bytes.length;
        try {
          controller.enqueue(bytes);
        } catch {
          return false;
        }
        return budget > 0;
      };
      const check = () => {
        if (closed) return;
        const now = source.read();
        if (!now) return close();
        const lines = now.text.split("\n");
        if (lines.at(-1) === "") lines.pop();
        const fresh = lines.slice(sent);
        sent = Math.max(sent, lines.length);
        const ok = fresh.length ? push(options.format(fresh).join("\n") + "\n") : true;
        if (!ok || !running(now.pod, container)) close();
      };
      const unsubscribe = source.subscribe(check);
      close = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        source.open.delete(close);
        try {
          controller.close();
        } catch {
          // the client already hung up
        }
      };
      source.open.add(close);
      if (!push(first)) close();
    },
    cancel: () => close(),
  });
  return new Response(body, {
    headers: { "content-type": "text/plain", "cache-control": "no-cache, private" },
  });
}
