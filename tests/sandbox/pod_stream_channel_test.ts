/**
 * The exec/attach session's first frame waits for the client to register its streams
 * (`FIRST_FRAME_DELAY_MS`): kubectl drops a frame for a stream it has not registered yet
 * ("Unknown stream id 2, discarding message"), which once lost a command's stderr in CI. On a
 * virtual clock the wait is exact: no frame leaves before it.
 */
import assert from "node:assert/strict";
import { virtualClock } from "../../lib/clock/mod.ts";
import {
  CHANNEL,
  ChannelSession,
  FIRST_FRAME_DELAY_MS,
} from "../../lib/sandbox/pod_stream_channel.ts";

/** An open socket that records each frame with the clock's time, and its close. */
function recordingSocket(now: () => number) {
  const frames: { at: number; channel: number; text: string }[] = [];
  const socket = Object.assign(new EventTarget(), {
    readyState: WebSocket.OPEN as number,
    bufferedAmount: 0,
    binaryType: "blob",
    send(data: Uint8Array) {
      frames.push({ at: now(), channel: data[0]!, text: new TextDecoder().decode(data.slice(1)) });
    },
    close() {
      socket.readyState = WebSocket.CLOSED;
    },
  });
  return {
    socket: socket as unknown as WebSocket,
    frames,
    closed: () => socket.readyState === WebSocket.CLOSED,
  };
}

Deno.test("a session's output, exit status and errors leave only after the first-frame delay", async () => {
  const clock = virtualClock({ startMs: 0 });
  try {
    const run = recordingSocket(() => clock.now());
    const session = new ChannelSession(run.socket, "v5.channel.k8s.io", clock);
    await session.ready();
    session.send(CHANNEL.stderr, "python: not available in the sandbox\n");
    await session.finish(126, ["python"]);
    assert.deepEqual(run.frames.map((f) => f.channel), [CHANNEL.stderr, CHANNEL.error]);
    for (const f of run.frames) assert.ok(f.at >= FIRST_FRAME_DELAY_MS, `frame at ${f.at} ms`);
    assert.match(run.frames[1]!.text, /"reason":"NonZeroExitCode"/);
    assert.ok(run.closed());

    // finish() and fail() wait by themselves, for a caller that sends nothing first.
    const quiet = recordingSocket(() => clock.now());
    const start = clock.now();
    await new ChannelSession(quiet.socket, "v5.channel.k8s.io", clock).finish(0, ["true"]);
    assert.equal(quiet.frames.length, 1);
    assert.ok(quiet.frames[0]!.at - start >= FIRST_FRAME_DELAY_MS);

    const refused = recordingSocket(() => clock.now());
    const at = clock.now();
    await new ChannelSession(refused.socket, "v5.channel.k8s.io", clock).fail({
      kind: "Status",
      status: "Failure",
      message: "pod web-1 does not have a host assigned",
      code: 400,
    });
    assert.equal(refused.frames.length, 1);
    assert.ok(refused.frames[0]!.at - at >= FIRST_FRAME_DELAY_MS);
    assert.match(refused.frames[0]!.text, /does not have a host assigned/);
    assert.ok(refused.closed());
  } finally {
    clock.dispose();
  }
});
