/**
 * The local web dashboard (`deno task ui`): the runs of a runs folder, newest first and
 * filtered by environment and status; a running run live, as server-sent events from its
 * journal as it grows (the stages on one time axis, a chart per gate, the traffic split);
 * a finished run as its HTML report; and promote/abort on a canary paused on a breach,
 * recorded as `deno task decide` records it, with who clicked. It listens on 127.0.0.1 only
 * and answers nothing without the token it prints at start (401).
 *
 * ```ts
 * import { startDashboard } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const runsDir = await Deno.makeTempDir();
 * const dashboard = await startDashboard({ runsDir, user: "ana" });
 * assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
 * assert.equal((await fetch(`${dashboard.origin}/api/runs`)).status, 401);
 * await dashboard.stop();
 * await Deno.remove(runsDir);
 * ```
 * @module
 */
export * from "./auth.ts";
export * from "./decision.ts";
export * from "./handler.ts";
export * from "./list_page.ts";
export * from "./live.ts";
export * from "./liveness.ts";
export * from "./page.ts";
export * from "./run_page.ts";
export * from "./runs.ts";
export * from "./server.ts";
export * from "./tail.ts";
