/**
 * `pods/portforward` over a WebSocket, both ways clients speak it:
 * - the SPDY tunnel (`SPDY/3.1+portforward.k8s.io`, kubectl 1.31+): per forwarded
 *   connection the client opens an `error` and a `data` stream with headers `streamtype`,
 *   `port` and `requestid` (k8s.io/api/core/v1 `PortHeader`, `PortForwardRequestIDHeader`;
 *   the kubelet's cri/streaming/portforward httpstream.go pairs them by request id); the
 *   data stream's bytes go to the pod's port and back, the error stream carries a message
 *   when the port cannot be reached, then FIN;
 * - the channel protocol (`v4.channel.k8s.io`, the kubelet's portforward websocket.go, what
 *   `@kubernetes/client-node`'s `PortForward` speaks): for each `ports=` value a data channel
 *   `2i` and an error channel `2i+1`, each first sending the port as two little-endian bytes.
 * @module
 */
import { FLAG_FIN, FRAME, SpdyConnection } from "./pod_stream_spdy.ts";
import { chooseProtocol, upgradeWith } from "./pod_stream_channel.ts";

/**
 * The port-forward subprotocols, best first.
 *
 * @example
 * ```ts
 * import { PORT_FORWARD_PROTOCOLS } from "./pod_stream_portforward.ts";
 * console.assert(PORT_FORWARD_PROTOCOLS[0] === "SPDY/3.1+portforward.k8s.io");
 * ```
 */
export const PORT_FORWARD_PROTOCOLS = [
  "SPDY/3.1+portforward.k8s.io",
  "v4.channel.k8s.io",
  "channel.k8s.io",
] as const;

/**
 * Where a forwarded port goes: the loopback port that answers it, or undefined.
 *
 * @example
 * ```ts
 * import type { PortTarget } from "./pod_stream_portforward.ts";
 * const target: PortTarget = (port) => port === 8000 ? 40123 : undefined;
 * ```
 */
export type PortTarget = (port: number) => number | undefined;

interface Pair {
  error?: number;
  data?: number;
  conn?: Deno.TcpConn;
  port: number;
  pending: Uint8Array[];
  clientDone?: boolean;
}

function refused(pod: string, port: number): string {
  return `error forwarding port ${port} to pod ${pod}: failed to connect to localhost:${port} inside the pod: connection refused`;
}

async function pump(
  conn: Deno.TcpConn,
  send: (bytes: Uint8Array) => Promise<void> | void,
): Promise<void> {
  try {
    for await (const chunk of conn.readable) await send(chunk);
  } catch {
    // the connection was closed under us
  }
}

/** Serves the SPDY tunnel on an upgraded socket. */
function serveSpdy(socket: WebSocket, pod: string, target: PortTarget, open: Set<() => void>) {
  const pairs = new Map<string, Pair>();
  const byStream = new Map<number, Pair>();
  const conns = new Set<Deno.TcpConn>();
  const closeAll = () => {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    conns.clear();
    open.delete(stop);
  };
  const stop = () => {
    closeAll();
    spdy.close();
  };
  open.add(stop);
  const start = async (pair: Pair) => {
    const local = target(pair.port);
    if (local === undefined) {
      await spdy.data(pair.error!, new TextEncoder().encode(refused(pod, pair.port)), true);
      await spdy.data(pair.data!, new Uint8Array(), true);
      return;
    }
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: local });
    } catch {
      await spdy.data(pair.error!, new TextEncoder().encode(refused(pod, pair.port)), true);
      return;
    }
    conns.add(conn);
    pair.conn = conn;
    const writer = conn;
    for (const chunk of pair.pending.splice(0)) await writer.write(chunk);
    if (pair.clientDone) await conn.closeWrite().catch(() => {});
    await pump(conn, (bytes) => spdy.data(pair.data!, bytes));
    await spdy.data(pair.data!, new Uint8Array(), true);
    await spdy.data(pair.error!, new Uint8Array(), true);
    conns.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const spdy: SpdyConnection = new SpdyConnection(socket, async (frame, headers): Promise<void> => {
    if (frame.control) {
      const view = new DataView(frame.payload.buffer, frame.payload.byteOffset);
      if (frame.type === FRAME.ping) return void await spdy.pong(frame.payload);
      if (frame.type === FRAME.goAway) return stop();
      if (frame.type === FRAME.rstStream) {
        const pair = byStream.get(view.getUint32(0) & 0x7fffffff);
        try {
          pair?.conn?.close();
        } catch { /* closed */ }
        return;
      }
      if (frame.type !== FRAME.synStream || !headers) return;
      const id = view.getUint32(0) & 0x7fffffff;
      await spdy.reply(id);
      const key = headers.requestid ?? String(id);
      const pair = pairs.get(key) ?? { port: Number(headers.port), pending: [] };
      pairs.set(key, pair);
      byStream.set(id, pair);
      if (headers.streamtype === "error") pair.error = id;
      else if (headers.streamtype === "data") pair.data = id;
      else return void await spdy.reset(id, 1);
      if (pair.error !== undefined && pair.data !== undefined) {
        pairs.delete(key);
        void start(pair);
      }
      return;
    }
    const pair = byStream.get(frame.streamId);
    if (!pair || frame.streamId !== pair.data) return;
    if (frame.data.length > 0) {
      if (pair.conn) await pair.conn.write(frame.data).catch(() => 0);
      else pair.pending.push(frame.data);
    }
    if (frame.flags & FLAG_FIN) {
      pair.clientDone = true;
      if (pair.conn) await pair.conn.closeWrite().catch(() => {});
    }
  });
  socket.addEventListener("close", closeAll);
}

/** Serves the channel protocol on an upgraded socket: one connection per port. */
function serveChannels(
  socket: WebSocket,
  ports: number[],
  target: PortTarget,
  open: Set<() => void>,
) {
  socket.binaryType = "arraybuffer";
  const conns: (Deno.TcpConn | undefined)[] = [];
  const pending: Uint8Array[][] = ports.map(() => []);
  const send = (channel: number, bytes: Uint8Array) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    const message = new Uint8Array(bytes.length + 1);
    message[0] = channel;
    message.set(bytes, 1);
    socket.send(message);
  };
  const stop = () => {
    for (const c of conns) {
      try {
        c?.close();
      } catch { /* closed */ }
    }
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    open.delete(stop);
  };
  open.add(stop);
  socket.addEventListener("message", (event) => {
    if (!(event.data instanceof ArrayBuffer)) return;
    const bytes = new Uint8Array(event.data);
    const index = (bytes[0] ?? 0) / 2;
    if (!Number.isInteger(index) || index >= ports.length) return;
    const conn = conns[index];
    if (conn) void conn.write(bytes.slice(1)).catch(() => 0);
    else pending[index]?.push(bytes.slice(1));
  });
  socket.addEventListener("close", stop);
  socket.addEventListener("open", () => {
    ports.forEach(async (port, i) => {
      const portBytes = new Uint8Array([port & 0xff, port >> 8]);
      send(2 * i, portBytes);
      send(2 * i + 1, portBytes);
      const local = target(port);
      let conn: Deno.TcpConn | undefined;
      try {
        if (local !== undefined) conn = await Deno.connect({ hostname: "127.0.0.1", port: local });
      } catch { /* refused */ }
      if (!conn) {
        send(2 * i + 1, new TextEncoder().encode(refused("", port)));
        return stop();
      }
      conns[i] = conn;
      for (const chunk of pending[i]?.splice(0) ?? []) await conn.write(chunk).catch(() => 0);
      await pump(conn, (b) => send(2 * i, b));
      stop();
    });
  });
}

/**
 * Upgrades a `pods/<name>/portforward` request and serves it.
 *
 * @param request The original request (a WebSocket upgrade).
 * @param options The pod (`namespace/name`), where its ports go, the open-stream registry
 *   (closed when the sandbox stops).
 * @returns The 101 answer, or undefined when the client offers none of the protocols.
 *
 * @example
 * ```ts ignore
 * import { portForwardResponse } from "./pod_stream_portforward.ts";
 * const answer = portForwardResponse(request, { pod: "shop/web-1", target: () => 40123, open });
 * ```
 */
export function portForwardResponse(
  request: Request,
  options: { pod: string; target: PortTarget; open: Set<() => void>; ports: number[] },
): Response | undefined {
  const protocol = chooseProtocol(
    request.headers.get("sec-websocket-protocol"),
    PORT_FORWARD_PROTOCOLS,
  );
  if (!protocol) return undefined;
  const { socket, response } = upgradeWith(request, protocol);
  if (protocol.startsWith("SPDY/")) serveSpdy(socket, options.pod, options.target, options.open);
  else serveChannels(socket, options.ports, options.target, options.open);
  return response;
}
