/**
 * Watch responses: a stream of `ADDED`/`MODIFIED`/`DELETED` events (or Table rows) from a
 * resourceVersion, with bookmarks and `sendInitialEvents`.
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { KObject, ResourceType } from "./resources.ts";
import { meta, type Store, type StoreChange } from "./store.ts";
import { ApiError } from "./errors.ts";
import { toTable } from "./tables.ts";
import { queryBool, queryInt } from "./query.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.ts";

/**
 * A watch stream: newline-delimited `{type, object}` events, starting with synthetic ADDED
 * events (no resourceVersion, `0`, or `sendInitialEvents=true` with its closing BOOKMARK) or
 * the history after a resourceVersion (an ERROR event with the 410 Expired Status when it
 * is too old, as the API server's watch cache answers), then live changes.
 * The close function is registered in `open` so the server can end every watch on stop.
 *
 * The stream ends after `timeoutSeconds` (default 1800) of the cluster's clock; that timer
 * never moves a virtual clock on by itself (a watch is a client's real-time wait, not a
 * cluster event), and the server holds no clock for a watch.
 */
export function watchResponse(
  store: Store,
  options: {
    /** The cluster's clock (the watch's time limit). */
    clock: Clock;
    type: ResourceType;
    namespace: string;
    params: URLSearchParams;
    open: Set<() => void>;
    /** Send each object as a one-row Table (kubectl get --watch). */
    asTable?: boolean;
  },
): Response {
  const { type, params } = options;
  const namespace = type.namespaced ? options.namespace || undefined : undefined;
  const labels = params.get("labelSelector")
    ? parseLabelSelector(params.get("labelSelector") ?? "")
    : [];
  const fields = params.get("fieldSelector")
    ? parseFieldSelector(params.get("fieldSelector") ?? "")
    : [];
  const matches = (o: KObject) =>
    (!namespace || meta(o).namespace === namespace) &&
    matchesLabels(labels, meta(o).labels as Record<string, string>) && matchesFields(fields, o);
  const rvParam = params.get("resourceVersion") ?? "";
  const sendInitial = queryBool(params, "sendInitialEvents");
  const initial: string[] = [];
  const encode = (t: string, o: unknown) => {
    if (options.asTable && t !== "BOOKMARK") {
      const table = toTable(type, [o as KObject], {
        resourceVersion: String(meta(o as KObject).resourceVersion),
        includeObject: params.get("includeObject") ?? "Metadata",
        now: options.clock.now(),
      });
      return JSON.stringify({ type: t, object: table }) + "\n";
    }
    // A stored object's text is kept (Store.jsonOf); what the history holds is stored too.
    return `{"type":${JSON.stringify(t)},"object":${store.jsonOf(o as KObject)}}\n`;
  };
  // Objects this watcher currently sees: one that stops matching the selectors is sent as
  // DELETED, one that starts matching as ADDED (as the real watch cache does).
  const visible = new Set<string>();
  const key = (o: KObject) => `${meta(o).namespace ?? ""}/${meta(o).name}`;
  const translate = (c: { type: string; object: KObject }): string | undefined => {
    const k = key(c.object);
    const was = visible.has(k);
    if (c.type !== "DELETED" && matches(c.object)) {
      visible.add(k);
      return was ? "MODIFIED" : "ADDED";
    }
    visible.delete(k);
    return was ? "DELETED" : undefined;
  };
  if (sendInitial || rvParam === "" || rvParam === "0") {
    for (const o of store.scan(type, namespace)) {
      if (!matches(o)) continue;
      visible.add(key(o));
      initial.push(encode("ADDED", o));
    }
    if (sendInitial) {
      initial.push(encode("BOOKMARK", {
        kind: type.kind,
        apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
        metadata: {
          resourceVersion: String(store.resourceVersion),
          annotations: { "k8s.io/initial-events-end": "true" },
        },
      }));
    }
  } else {
    const from = Number(rvParam);
    if (!Number.isFinite(from)) {
      throw ApiError.badRequest(`invalid resource version "${rvParam}"`);
    }
    let history: StoreChange[];
    try {
      history = store.changesSince(from);
    } catch (error) {
      // The API server answers a watch from a compacted resourceVersion with 200 and one
      // ERROR event carrying the 410 Expired Status (the watch cache's error watcher).
      if (!(error instanceof ApiError) || error.code !== 410) throw error;
      const event = JSON.stringify({ type: "ERROR", object: error.toStatus() }) + "\n";
      return new Response(event, {
        headers: { "content-type": "application/json", "cache-control": "no-cache, private" },
      });
    }
    const changes = history.filter((c) =>
      c.resource === type && (!namespace || meta(c.object).namespace === namespace)
    );
    // State at `from`: objects changed since then existed unless first seen as ADDED.
    const first = new Map<string, string>();
    for (const c of changes) if (!first.has(key(c.object))) first.set(key(c.object), c.type);
    for (const o of store.scan(type, namespace)) {
      if (!first.has(key(o)) && matches(o)) visible.add(key(o));
    }
    for (const [k, t] of first) if (t !== "ADDED") visible.add(k);
    for (const c of changes) {
      const t = translate(c);
      if (t) initial.push(encode(t, c.object));
    }
  }
  const timeoutSeconds = queryInt(params, "timeoutSeconds") ?? 1800;
  const encoder = new TextEncoder();
  let close = () => {};
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      for (const line of initial) controller.enqueue(encoder.encode(line));
      const unsubscribe = store.subscribe((c: StoreChange) => {
        if (c.resource !== type) return;
        if (namespace && meta(c.object).namespace !== namespace) return;
        const t = translate(c);
        if (!t) return;
        try {
          controller.enqueue(encoder.encode(encode(t, c.object)));
        } catch {
          close();
        }
      });
      // A non-persistent timer (Clock.timeout): it never makes a virtual clock jump.
      const limit = options.clock.timeout(Math.max(1, timeoutSeconds) * 1000);
      const onLimit = () => close();
      limit.addEventListener("abort", onLimit, { once: true });
      let closed = false;
      close = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        limit.removeEventListener("abort", onLimit);
        options.open.delete(close);
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      options.open.add(close);
    },
    cancel: () => close(),
  });
  return new Response(body, {
    headers: {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    },
  });
}
