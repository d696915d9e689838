import type { KObject, ResourceType } from "./resources.ts";
import { meta, type Store, type StoreChange } from "./store.ts";
import { ApiError } from "./errors.ts";
import { toTable } from "./tables.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.ts";

/**
 * A watch stream: newline-delimited `{type, object}` events, starting with synthetic ADDED
 * events (no resourceVersion, `0`, or `sendInitialEvents=true` with its closing BOOKMARK) or
 * the history after a resourceVersion (410 Gone when it is too old), then live changes.
 * The close function is registered in `open` so the server can end every watch on stop.
 */
export function watchResponse(
  store: Store,
  options: {
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
  const sendInitial = params.get("sendInitialEvents") === "true";
  const initial: string[] = [];
  const encode = (t: string, o: unknown) => {
    const object = options.asTable && t !== "BOOKMARK"
      ? toTable(type, [o as KObject], {
        resourceVersion: String(meta(o as KObject).resourceVersion),
        includeObject: params.get("includeObject") ?? "Metadata",
      })
      : o;
    return JSON.stringify({ type: t, object }) + "\n";
  };
  if (sendInitial || rvParam === "" || rvParam === "0") {
    for (const o of store.scan(type, namespace)) if (matches(o)) initial.push(encode("ADDED", o));
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
    for (const c of store.changesSince(from)) {
      if (c.resource === type && matches(c.object)) initial.push(encode(c.type, c.object));
    }
  }
  const timeoutSeconds = Number(params.get("timeoutSeconds") ?? "1800");
  const encoder = new TextEncoder();
  let close = () => {};
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      for (const line of initial) controller.enqueue(encoder.encode(line));
      const unsubscribe = store.subscribe((c: StoreChange) => {
        if (c.resource !== type || !matches(c.object)) return;
        try {
          controller.enqueue(encoder.encode(encode(c.type, c.object)));
        } catch {
          close();
        }
      });
      const timer = setTimeout(() => close(), Math.max(1, timeoutSeconds) * 1000);
      let closed = false;
      close = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearTimeout(timer);
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
