/**
 * SPDY/3 framing over a WebSocket, for the port-forward tunnel kubectl 1.31+ opens by
 * default (PortForwardWebsockets): the WebSocket subprotocol is `SPDY/3.1+portforward.k8s.io`
 * (client-go tools/portforward tunneling_dialer.go: `WebsocketsSPDYTunnelingPrefix` +
 * `portforward.k8s.io`), and its binary messages carry the bytes of a SPDY/3 connection
 * (tunneling_connection.go: each Write is one BinaryMessage, Read concatenates messages).
 * Frames as moby/spdystream's spdy package reads and writes them (spdy/types.go, read.go,
 * write.go): control frames `0x8003 type | flags | length(24)`, data frames
 * `stream-id(31) | flags | length(24)`; header blocks zlib-compressed with the SPDY/3
 * dictionary over one stream per direction, each block ended by a sync flush.
 * @module
 */
import zlib from "node:zlib";
import { Buffer } from "node:buffer";

/** The SPDY/3 header compression dictionary (1423 bytes, spdystream's `headerDictionary`). */
const DICTIONARY = Uint8Array.from(
  atob(
    "AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADm" +
      "FjY2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdl" +
      "cwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAA" +
      "AMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxl" +
      "bmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC" +
      "10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0" +
      "Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaW" +
      "VkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJw" +
      "cm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldH" +
      "J5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUA" +
      "AAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG" +
      "9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1Ymxp" +
      "YwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMz" +
      "A0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5v" +
      "bi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQm" +
      "FkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2Vy" +
      "dmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE" +
      "1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBT" +
      "YXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYX" +
      "Rpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2" +
      "YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLG" +
      "VucT0wLg==",
  ),
  (c) => c.charCodeAt(0),
);

/**
 * Control frame types (spdy/types.go).
 *
 * @example
 * ```ts
 * import { FRAME } from "./pod_stream_spdy.ts";
 * console.assert(FRAME.synStream === 1);
 * ```
 */
export const FRAME = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

/**
 * The FIN flag of SYN_STREAM, SYN_REPLY and data frames.
 *
 * @example
 * ```ts
 * import { FLAG_FIN } from "./pod_stream_spdy.ts";
 * console.assert(FLAG_FIN === 1);
 * ```
 */
export const FLAG_FIN = 0x01;

/**
 * One parsed frame.
 *
 * @example
 * ```ts
 * import type { SpdyFrame } from "./pod_stream_spdy.ts";
 * const f: SpdyFrame = { control: false, streamId: 1, flags: 1, data: new Uint8Array() };
 * ```
 */
export type SpdyFrame =
  | { control: true; type: number; flags: number; payload: Uint8Array }
  | { control: false; streamId: number; flags: number; data: Uint8Array };

/** A zlib stream in one direction, each block pushed through with a sync flush. */
class ZStream {
  #z: zlib.Inflate | zlib.Deflate;
  #out: Uint8Array[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(z: zlib.Inflate | zlib.Deflate) {
    this.#z = z;
    z.on("data", (chunk: Uint8Array) => this.#out.push(chunk));
    z.on("error", () => {});
  }

  push(bytes: Uint8Array): Promise<Uint8Array> {
    const run = this.#queue.then(() =>
      new Promise<Uint8Array>((resolve) => {
        this.#z.write(bytes);
        this.#z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          resolve(new Uint8Array(Buffer.concat(this.#out.splice(0))));
        });
      })
    );
    this.#queue = run;
    return run;
  }

  close(): void {
    this.#z.close();
  }
}

/**
 * Reads a SPDY/3 header block (uncompressed): a 32-bit count, then 32-bit-length-prefixed
 * names and values (lower-case names; multiple values NUL-separated).
 *
 * @param block The decompressed block.
 * @returns Name → value.
 *
 * @example
 * ```ts
 * import { decodeHeaderBlock, encodeHeaderBlock } from "./pod_stream_spdy.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({ port: "8000" })), { port: "8000" });
 * ```
 */
export function decodeHeaderBlock(block: Uint8Array): Record<string, string> {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const decoder = new TextDecoder();
  const out: Record<string, string> = {};
  let at = 4;
  const count = block.length >= 4 ? view.getUint32(0) : 0;
  for (let i = 0; i < count && at + 4 <= block.length; i++) {
    const nameLength = view.getUint32(at);
    const name = decoder.decode(block.subarray(at + 4, at + 4 + nameLength));
    at += 4 + nameLength;
    const valueLength = view.getUint32(at);
    out[name.toLowerCase()] = decoder.decode(block.subarray(at + 4, at + 4 + valueLength));
    at += 4 + valueLength;
  }
  return out;
}

/**
 * Writes a SPDY/3 header block (uncompressed).
 *
 * @param headers Name → value.
 * @returns The block.
 *
 * @example
 * ```ts
 * import { encodeHeaderBlock } from "./pod_stream_spdy.ts";
 * console.assert(encodeHeaderBlock({}).length === 4);
 * ```
 */
export function encodeHeaderBlock(headers: Record<string, string>): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [name, value] of entries) {
    const n = encoder.encode(name.toLowerCase()), v = encoder.encode(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * The server end of a SPDY/3 connection carried in a WebSocket's binary messages: frames
 * in (split or joined across messages as they come), frames out in order, header blocks
 * through the connection's zlib streams.
 *
 * @example
 * ```ts ignore
 * import { FRAME, SpdyConnection } from "./pod_stream_spdy.ts";
 * const spdy: SpdyConnection = new SpdyConnection(socket, async (frame) => {
 *   if (frame.control && frame.type === FRAME.ping) await spdy.pong(frame.payload);
 * });
 * ```
 */
export class SpdyConnection {
  #socket: WebSocket;
  #buffer = new Uint8Array(0);
  #inflate = new ZStream(zlib.createInflate({ dictionary: Buffer.from(DICTIONARY) }));
  #deflate = new ZStream(zlib.createDeflate({ dictionary: Buffer.from(DICTIONARY) }));
  #incoming: Promise<void> = Promise.resolve();
  #outgoing: Promise<void> = Promise.resolve();

  /**
   * Reads and writes SPDY frames on an upgraded socket.
   *
   * @param socket The upgraded WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`).
   * @param onFrame Each frame, in order; SYN_STREAM and HEADERS come with their headers.
   */
  constructor(
    socket: WebSocket,
    onFrame: (frame: SpdyFrame, headers?: Record<string, string>) => void | Promise<void>,
  ) {
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      const bytes = new Uint8Array(event.data);
      this.#incoming = this.#incoming.then(() => this.#receive(bytes, onFrame)).catch(() =>
        this.close()
      );
    });
    socket.addEventListener("close", () => {
      this.#inflate.close();
      this.#deflate.close();
    });
  }

  async #receive(
    bytes: Uint8Array,
    onFrame: (frame: SpdyFrame, headers?: Record<string, string>) => void | Promise<void>,
  ): Promise<void> {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer);
    joined.set(bytes, this.#buffer.length);
    let at = 0;
    while (joined.length - at >= 8) {
      const length = (joined[at + 5]! << 16) | (joined[at + 6]! << 8) | joined[at + 7]!;
      if (joined.length - at < 8 + length) break;
      const head = joined.subarray(at, at + 8);
      const body = joined.slice(at + 8, at + 8 + length);
      at += 8 + length;
      const view = new DataView(head.buffer, head.byteOffset, 8);
      if (head[0]! & 0x80) {
        const type = view.getUint16(2);
        const frame: SpdyFrame = { control: true, type, flags: head[4]!, payload: body };
        if (type === FRAME.synStream || type === FRAME.headers || type === FRAME.synReply) {
          const skip = type === FRAME.synStream ? 10 : 4;
          const block = await this.#inflate.push(body.subarray(skip));
          await onFrame(frame, decodeHeaderBlock(block));
        } else await onFrame(frame);
      } else {
        await onFrame({
          control: false,
          streamId: view.getUint32(0) & 0x7fffffff,
          flags: head[4]!,
          data: body,
        });
      }
    }
    this.#buffer = joined.slice(at);
  }

  #write(build: () => Promise<Uint8Array> | Uint8Array): Promise<void> {
    const run = this.#outgoing.then(async () => {
      const frame = await build();
      if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(frame);
    });
    this.#outgoing = run.catch(() => {});
    return run;
  }

  #control(type: number, flags: number, payload: Uint8Array): Uint8Array {
    const frame = new Uint8Array(8 + payload.length);
    const view = new DataView(frame.buffer);
    view.setUint16(0, 0x8003);
    view.setUint16(2, type);
    view.setUint32(4, payload.length);
    frame[4] = flags;
    frame.set(payload, 8);
    return frame;
  }

  /** SYN_REPLY for a stream the client opened (no headers). */
  reply(streamId: number): Promise<void> {
    return this.#write(async () => {
      const block = await this.#deflate.push(encodeHeaderBlock({}));
      const payload = new Uint8Array(4 + block.length);
      new DataView(payload.buffer).setUint32(0, streamId & 0x7fffffff);
      payload.set(block, 4);
      return this.#control(FRAME.synReply, 0, payload);
    });
  }

  /** A data frame (FIN to half-close the stream); long data goes in several frames. */
  data(streamId: number, data: Uint8Array, fin = false): Promise<void> {
    const max = 0xffff;
    let last: Promise<void> = Promise.resolve();
    for (let at = 0; at < data.length || (at === 0 && fin); at += max) {
      const chunk = data.subarray(at, at + max);
      const end = fin && at + max >= data.length;
      last = this.#write(() => {
        const frame = new Uint8Array(8 + chunk.length);
        const view = new DataView(frame.buffer);
        view.setUint32(0, streamId & 0x7fffffff);
        view.setUint32(4, chunk.length);
        frame[4] = end ? FLAG_FIN : 0;
        frame.set(chunk, 8);
        return frame;
      });
      if (data.length === 0) break;
    }
    return last;
  }

  /** Answers a PING with the same id. */
  pong(payload: Uint8Array): Promise<void> {
    return this.#write(() => this.#control(FRAME.ping, 0, payload));
  }

  /** RST_STREAM with a status (5 CANCEL, 6 INTERNAL_ERROR). */
  reset(streamId: number, status: number): Promise<void> {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(0, streamId & 0x7fffffff);
    new DataView(payload.buffer).setUint32(4, status);
    return this.#write(() => this.#control(FRAME.rstStream, 0, payload));
  }

  /** Closes the WebSocket (normal closure) once what is queued has been sent. */
  close(): void {
    void this.#outgoing.then(() => {
      if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1000);
    });
  }
}
