/**
 * The dashboard's server: `Deno.serve` on 127.0.0.1 only (any other address is refused:
 * the dashboard steers deploys, it is for the person at this machine), on the port asked for
 * or a free one, with a token generated at start unless one is handed in. The address it
 * prints carries the token once (`/?token=...`); from there the browser keeps it as a cookie.
 * @module
 */
import { generateToken } from "./auth.ts";
import { dashboardHandler } from "./handler.ts";
import { readChartLibrary } from "../render/mod.ts";

/** The only address the dashboard listens on. */
export const LOOPBACK = "127.0.0.1";

/**
 * Options of {@linkcode startDashboard}.
 *
 * @example
 * ```ts
 * import type { DashboardOptions } from "./server.ts";
 * const o: DashboardOptions = { runsDir: "runs", user: "ana", port: 0 };
 * console.assert(o.port === 0);
 * ```
 */
export interface DashboardOptions {
  /** The runs folder. */
  readonly runsDir: string;
  /** Who decisions made in the dashboard are recorded as. */
  readonly user: string;
  /** The port (0 or missing: a free one). */
  readonly port?: number | undefined;
  /** Must be 127.0.0.1 when given. */
  readonly hostname?: string | undefined;
  /** The token (default: a new one, 32 random bytes). */
  readonly token?: string | undefined;
  /** See the run index's `staleMs`. */
  readonly staleMs?: number | undefined;
}

/**
 * A running dashboard.
 *
 * @example
 * ```ts ignore
 * const d = await startDashboard({ runsDir: "runs", user: "ana" });
 * console.log(d.url); // http://127.0.0.1:PORT/?token=...
 * await d.stop();
 * ```
 */
export interface Dashboard {
  /** Its address with the token, to open in a browser. */
  readonly url: string;
  /** Its origin, `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The port it listens on. */
  readonly port: number;
  /** The token. */
  readonly token: string;
  /** Ends the event streams and stops the server. */
  stop(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/**
 * Starts the dashboard.
 *
 * @param o The runs folder, the user, the port, and optionally the token.
 * @returns The running dashboard.
 * @throws {RangeError} When asked to listen anywhere but 127.0.0.1, or on a bad port.
 *
 * @example
 * ```ts
 * import { startDashboard } from "./server.ts";
 * import assert from "node:assert/strict";
 * const runsDir = await Deno.makeTempDir();
 * const d = await startDashboard({ runsDir, user: "ana" });
 * assert.equal((await fetch(`${d.origin}/`)).status, 401);
 * const ok = await fetch(`${d.origin}/api/runs`, { headers: { authorization: `Bearer ${d.token}` } });
 * assert.deepEqual(await ok.json(), []);
 * await d.stop();
 * await Deno.remove(runsDir);
 * ```
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  if (o.hostname !== undefined && o.hostname !== LOOPBACK) {
    throw new RangeError(
      `Cannot listen on ${o.hostname}: the dashboard listens on ${LOOPBACK} only`,
    );
  }
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot listen on port ${port}: must be an integer from 0 to 65535`);
  }
  // The pages inline Chart.js: a missing package fails here, not on the first page.
  await readChartLibrary();
  const token = o.token ?? generateToken();
  const streams = new AbortController();
  const ready: { handle?: (req: Request) => Promise<Response> } = {};
  const server = Deno.serve(
    { hostname: LOOPBACK, port, onListen: () => {} },
    (req) => ready.handle ? ready.handle(req) : new Response("Starting\n", { status: 503 }),
  );
  const actual = server.addr.port;
  ready.handle = dashboardHandler({
    runsDir: o.runsDir,
    token,
    port: actual,
    user: o.user,
    signal: streams.signal,
    staleMs: o.staleMs,
  });
  const origin = `http://${LOOPBACK}:${actual}`;
  let stopping: Promise<void> | undefined;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port: actual,
    token,
    stop() {
      stopping ??= (async () => {
        streams.abort();
        await server.shutdown();
      })();
      return stopping;
    },
    finished: server.finished,
  };
}
