/**
 * The remote-command channel protocol over a WebSocket, as kube-apiserver speaks it for
 * `exec` and `attach` (and the kubelet's channel port-forward): every binary message is one
 * channel byte then data. Channels (k8s.io/apimachinery/pkg/util/remotecommand constants.go,
 * client-go tools/remotecommand websocket.go `streamType2streamID`): 0 stdin, 1 stdout,
 * 2 stderr, 3 error (v4 and v5: a `metav1.Status` JSON), 4 resize; v5 (`v5.channel.k8s.io`)
 * adds the CLOSE signal, a message `[255, channel]` that half-closes a channel (the client's
 * stdin EOF). Subprotocols, best first: `v5.channel.k8s.io`, `v4.channel.k8s.io`,
 * `v3.channel.k8s.io`, `v2.channel.k8s.io`, `channel.k8s.io` (wsstream conn.go).
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";

/**
 * The exec/attach subprotocols the sandbox speaks, best first.
 *
 * @example
 * ```ts
 * import { EXEC_PROTOCOLS } from "./pod_stream_channel.ts";
 * console.assert(EXEC_PROTOCOLS[0] === "v5.channel.k8s.io");
 * ```
 */
export const EXEC_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;

/**
 * Channel numbers.
 *
 * @example
 * ```ts
 * import { CHANNEL } from "./pod_stream_channel.ts";
 * console.assert(CHANNEL.error === 3);
 * ```
 */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/**
 * How long a session waits after the upgrade before its first frame (real milliseconds).
 * client-go's WebSocket executor (kubectl's) starts reading the socket in one goroutine while
 * another registers the stdout, stderr and error streams, and drops a frame for a stream not
 * yet registered ("Unknown stream id 2, discarding message"): a command's output, or its exit
 * status, lost. A real API server's first frame comes only after its hop to the kubelet and the
 * runtime's exec (tens of milliseconds), which hides that race; the sandbox answered within
 * the same millisecond, so on a busy machine kubectl sometimes lost the output. The window is
 * a few map writes in kubectl; this pause gives them 25 ms of real time.
 *
 * @example
 * ```ts
 * import { FIRST_FRAME_DELAY_MS } from "./pod_stream_channel.ts";
 * console.assert(FIRST_FRAME_DELAY_MS > 0);
 * ```
 */
export const FIRST_FRAME_DELAY_MS = 25;

/**
 * The subprotocol to answer with: the first of `preferred` the client offers.
 *
 * @param header The request's `Sec-WebSocket-Protocol`.
 * @param preferred The server's protocols, best first.
 * @returns The chosen protocol, or undefined when none is offered.
 *
 * @example
 * ```ts
 * import { chooseProtocol, EXEC_PROTOCOLS } from "./pod_stream_channel.ts";
 * import assert from "node:assert/strict";
 * assert.equal(chooseProtocol("v4.channel.k8s.io, v5.channel.k8s.io", EXEC_PROTOCOLS), "v5.channel.k8s.io");
 * ```
 */
export function chooseProtocol(
  header: string | null,
  preferred: readonly string[],
): string | undefined {
  const offered = (header ?? "").split(",").map((s) => s.trim());
  // Deno.upgradeWebSocket only finds a protocol in a list joined with ", " (the `ws` package
  // joins with ","): callers upgrade without one and name it in the 101 themselves.
  return preferred.find((p) => offered.includes(p));
}

/**
 * The error channel's final message: `{"status":"Success"}`, or a Failure with reason
 * `NonZeroExitCode` and a cause of type (JSON `reason`) `ExitCode` whose message is the code — what the
 * kubelet writes (cri/streaming/remotecommand) and client-go's v4 error decoder turns into
 * `command terminated with exit code N`.
 *
 * @param exitCode The command's exit code.
 * @param argv The command (named in the message).
 * @returns The Status object.
 *
 * @example
 * ```ts
 * import { exitStatus } from "./pod_stream_channel.ts";
 * import assert from "node:assert/strict";
 * assert.equal(exitStatus(0, ["true"]).status, "Success");
 * assert.equal(exitStatus(126, ["python"]).details?.causes[0]?.message, "126");
 * ```
 */
export function exitStatus(exitCode: number, argv: string[]): {
  metadata: Record<string, never>;
  status: string;
  message?: string;
  reason?: string;
  details?: { causes: { reason: string; message: string }[] };
} {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${
      argv.join(" ")
    }], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    // metav1.StatusCause's Type is spelled `reason` in JSON.
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/**
 * One exec/attach session on an upgraded socket: stdin in (until the v5 CLOSE signal),
 * stdout and stderr out, the exit status on the error channel, then a normal close.
 *
 * @example
 * ```ts ignore
 * import { ChannelSession } from "./pod_stream_channel.ts";
 * const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "v5.channel.k8s.io" });
 * const session = new ChannelSession(socket, "v5.channel.k8s.io");
 * socket.onopen = async () => {
 *   await session.ready();
 *   session.send(1, "hello\n");
 *   await session.finish(0, ["echo"]);
 * };
 * ```
 */
export class ChannelSession {
  #socket: WebSocket;
  #protocol: string;
  #stdin: Uint8Array[] = [];
  #stdinClosed = false;
  #waiters: (() => void)[] = [];
  #closed = false;
  #ready: Promise<void> | undefined;
  #clock: Clock;

  /**
   * Serves a session on an upgraded socket.
   *
   * @param socket The upgraded WebSocket.
   * @param protocol The negotiated subprotocol.
   * @param clock Real time (the default): the client's pace, whatever the cluster's clock.
   */
  constructor(socket: WebSocket, protocol: string, clock: Clock = realClock) {
    this.#clock = clock;
    this.#socket = socket;
    this.#protocol = protocol;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      const bytes = new Uint8Array(event.data);
      if (bytes[0] === CHANNEL.close && bytes[1] === CHANNEL.stdin) this.#endStdin();
      else if (bytes[0] === CHANNEL.stdin) this.#stdin.push(bytes.slice(1));
      this.#wake();
    });
    socket.addEventListener("close", () => {
      this.#closed = true;
      this.#endStdin();
    });
  }

  /**
   * Resolves {@linkcode FIRST_FRAME_DELAY_MS} after its first call (made when the socket
   * opens): the moment the client has its streams registered. Every frame waits for it.
   */
  ready(): Promise<void> {
    return this.#ready ??= this.#clock.sleep(FIRST_FRAME_DELAY_MS);
  }

  /** Whether the client has gone. */
  get closed(): boolean {
    return this.#closed;
  }

  #endStdin(): void {
    this.#stdinClosed = true;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Everything the client sends on stdin until it closes it (v5 CLOSE, or the socket). */
  async readStdin(): Promise<Uint8Array> {
    while (!this.#stdinClosed) await new Promise<void>((r) => this.#waiters.push(r));
    const out = new Uint8Array(this.#stdin.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.#stdin) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Sends bytes on a channel (nothing once the client is gone). */
  send(channel: number, data: Uint8Array | string): void {
    if (this.#closed || this.#socket.readyState !== WebSocket.OPEN) return;
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (bytes.length === 0) return;
    const message = new Uint8Array(bytes.length + 1);
    message[0] = channel;
    message.set(bytes, 1);
    this.#socket.send(message);
  }

  /**
   * Ends the session with the command's exit code on the error channel, then closes. The
   * output already sent leaves the socket first: the status waits for it, and the close waits
   * for the status. (Output lost on a busy machine — `kubectl exec … wget` printing nothing —
   * was kubectl dropping frames that came before its streams existed: see
   * {@linkcode FIRST_FRAME_DELAY_MS}.)
   */
  async finish(exitCode: number, argv: string[]): Promise<void> {
    const status = exitStatus(exitCode, argv);
    const v4 = this.#protocol.startsWith("v4.") || this.#protocol.startsWith("v5.");
    await this.ready();
    await this.#drained();
    if (v4) this.send(CHANNEL.error, JSON.stringify(status));
    else if (status.message) this.send(CHANNEL.error, status.message);
    await this.#drained();
    this.close();
  }

  /**
   * Resolves once everything sent has been handed to the connection (`bufferedAmount` 0) or
   * the client is gone. Real time: a socket's buffer empties at the network's pace, whatever
   * the cluster's clock.
   */
  async #drained(): Promise<void> {
    while (
      !this.#closed && this.#socket.readyState === WebSocket.OPEN &&
      this.#socket.bufferedAmount > 0
    ) {
      await this.#clock.sleep(2);
    }
  }

  /** Ends the session with an API error (a Status) on the error channel, then closes. */
  async fail(status: Record<string, unknown>): Promise<void> {
    await this.ready();
    const v4 = this.#protocol.startsWith("v4.") || this.#protocol.startsWith("v5.");
    this.send(CHANNEL.error, v4 ? JSON.stringify(status) : String(status.message ?? ""));
    this.close();
  }

  /** Closes the socket normally. */
  close(): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1000);
    this.#closed = true;
  }
}

/**
 * `Deno.upgradeWebSocket` answering with `protocol`, however the client joined its list.
 *
 * @param request The original upgrade request.
 * @param protocol The chosen subprotocol (one the client offered).
 * @returns The socket and the 101 answer naming the protocol.
 *
 * @example
 * ```ts ignore
 * import { upgradeWith } from "./pod_stream_channel.ts";
 * const { socket, response } = upgradeWith(request, "v5.channel.k8s.io");
 * ```
 */
export function upgradeWith(
  request: Request,
  protocol: string,
): { socket: WebSocket; response: Response } {
  const listed = (request.headers.get("sec-websocket-protocol") ?? "").split(", ");
  if (listed.includes(protocol)) return Deno.upgradeWebSocket(request, { protocol });
  const upgraded = Deno.upgradeWebSocket(request);
  upgraded.response.headers.set("sec-websocket-protocol", protocol);
  return upgraded;
}
