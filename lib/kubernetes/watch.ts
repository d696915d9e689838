/**
 * A watch that survives a flaky API server: it starts without a resourceVersion (the
 * server sends the current objects as ADDED: the list), follows the stream, and when the
 * stream ends early resumes from the last resourceVersion it saw (an event's or a
 * BOOKMARK's); a 410 Gone/Expired (as the answer's status or as an ERROR event) means that
 * version is too old: it starts over without one (a re-list, told as `relist`). Opening a
 * stream that the server refuses (429, 5xx) is retried with backoff on the client's clock.
 * A watch is a real-time wait: it never holds the clock.
 * @module
 */
import { RequestContext, ResponseContext } from "@kubernetes/client-node";
import { IsomorphicFetchHttpLibrary } from "@kubernetes/client-node";
import type { KindRef, KubeObject } from "./capability.ts";
import type { KubeClient } from "./client.ts";
import { retryAfterMs } from "./retry.ts";
import { seededRandom } from "../random/mod.ts";

/** One change, as the watch tells it. */
export interface WatchEvent {
  /** `ADDED`, `MODIFIED` or `DELETED`; `relist` when the watch started over (a 410). */
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "relist";
  /** The object (for `relist`: none). */
  readonly object?: KubeObject;
}

/** Options of {@linkcode watchObjects}. */
export interface WatchOptions {
  /** A label selector. */
  readonly labelSelector?: string | undefined;
  /** Ends the watch. */
  readonly signal: AbortSignal;
  /**
   * Told each change, in order; returns true to end the watch. After a `relist` the
   * current objects come again as ADDED.
   */
  readonly onEvent: (event: WatchEvent) => boolean | void;
  /** Streams opened in a row that fail before the watch gives up (default 8). */
  readonly attempts?: number | undefined;
}

/** What a watch went through. */
export interface WatchStats {
  /** Events told. */
  events: number;
  /** Streams resumed from a resourceVersion after they ended early. */
  resumes: number;
  /** Starts over after a 410. */
  relists: number;
  /** Streams the server refused (429, 5xx) and were opened again. */
  retries: number;
}

function pathOf(kind: KindRef, namespace: string | null): string {
  const [group, version] = kind.apiVersion.includes("/")
    ? kind.apiVersion.split("/")
    : ["", kind.apiVersion];
  const plural = kind.kind.toLowerCase().replace(/(s|x|ch|sh)$/, "$1e").replace(/y$/, "ie") + "s";
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${plural}`;
}

/** Opens one stream: the status and a reader of its body. */
async function open(
  client: KubeClient,
  url: string,
  signal: AbortSignal,
): Promise<
  { status: number; headers: Record<string, string>; body: ReadableStream<Uint8Array> | null }
> {
  const context = new RequestContext(url, "GET" as never);
  context.setHeaderParam("Accept", "application/json");
  context.setHeaderParam("User-Agent", "kubernetes-client-javascript/2.0.1");
  await client.config.applySecurityAuthentication(context);
  context.setSignal(signal);
  if (client.transport) {
    const res = await client.transport(
      new Request(url, { headers: context.getHeaders(), signal }),
    );
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => headers[k] = v);
    return { status: res.status, headers, body: res.body };
  }
  const res: ResponseContext = await new IsomorphicFetchHttpLibrary().send(context).toPromise();
  return {
    status: res.httpStatusCode,
    headers: res.headers,
    body: res.body.stream() as ReadableStream<Uint8Array> | null,
  };
}

/** Reads newline-delimited JSON events; resolves when the stream ends. */
async function lines(body: ReadableStream<Uint8Array>, each: (line: string) => boolean) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return rest.trim() !== "" && each(rest.trim()); // a last line without "\n"
      rest += value;
      let at: number;
      while ((at = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, at).trim();
        rest = rest.slice(at + 1);
        if (line && each(line)) return true;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Watches objects of a kind until `onEvent` says stop or `signal` aborts, resuming dropped
 * streams from the last resourceVersion and re-listing on 410.
 *
 * @param client The client (its transport or client-node's fetch, its credentials).
 * @param kind The kind.
 * @param namespace The namespace (null: cluster-wide).
 * @param options Selector, signal, the event callback.
 * @returns What it went through.
 * @throws {Error} When the server refused the stream `attempts` times in a row.
 *
 * @example
 * ```ts ignore
 * import { watchObjects } from "./watch.ts";
 * const stats = await watchObjects(client, { apiVersion: "apps/v1", kind: "Deployment" }, "shop", {
 *   signal: new AbortController().signal,
 *   onEvent: (e) => e.object?.status?.readyReplicas === 3,
 * });
 * ```
 */
export async function watchObjects(
  client: KubeClient,
  kind: KindRef,
  namespace: string | null,
  options: WatchOptions,
): Promise<WatchStats> {
  const stats: WatchStats = { events: 0, resumes: 0, relists: 0, retries: 0 };
  const random = seededRandom("kubernetes watch");
  const base = new URL(client.config.getCurrentCluster()!.server);
  let rv = "";
  let refused = 0;
  while (!options.signal.aborted) {
    const url = new URL(pathOf(kind, namespace), base);
    url.searchParams.set("watch", "true");
    url.searchParams.set("allowWatchBookmarks", "true");
    if (options.labelSelector) url.searchParams.set("labelSelector", options.labelSelector);
    if (rv) url.searchParams.set("resourceVersion", rv);
    const res = await open(client, url.toString(), options.signal);
    let gone = res.status === 410;
    if (res.status !== 200 && !gone) {
      await res.body?.cancel();
      if (++refused >= (options.attempts ?? 8)) {
        throw new Error(
          `Cannot watch ${kind.kind} objects${namespace ? ` in namespace ${namespace}` : ""}: ` +
            `the API answered ${res.status} ${refused} times in a row`,
        );
      }
      stats.retries++;
      const cap = Math.min(8_000, 250 * 2 ** (refused - 1));
      const wait = Math.max(
        retryAfterMs(res.headers, client.clock.now()),
        cap / 2 + random.next() * cap / 2,
      );
      await client.clock.sleep(wait, { signal: options.signal }).catch(() => {});
      continue;
    }
    refused = 0;
    let stop = false;
    if (!gone && res.body) {
      stop = await lines(res.body, (line) => {
        const e = JSON.parse(line) as { type: string; object: KubeObject & { code?: number } };
        if (e.type === "ERROR") {
          gone = e.object.code === 410;
          return true;
        }
        const at = e.object.metadata?.resourceVersion;
        if (typeof at === "string" && at !== "") rv = at;
        if (e.type === "BOOKMARK") return false;
        stats.events++;
        return options.onEvent({ type: e.type as WatchEvent["type"], object: e.object }) === true;
      }).catch(() => false) && !gone;
    } else await res.body?.cancel();
    if (stop) break;
    if (gone) {
      rv = "";
      stats.relists++;
      if (options.onEvent({ type: "relist" }) === true) break;
    } else if (!options.signal.aborted) stats.resumes++;
  }
  return stats;
}
