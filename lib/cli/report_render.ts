/**
 * `deno task report render`: being built (issue 15); refuses until then.
 * @module
 */
import { InputError } from "../runner/mod.ts";
import type { ReportIo } from "./report_verify.ts";

/**
 * The usage of `report render`.
 *
 * @example
 * ```ts
 * import { RENDER_USAGE } from "./report_render.ts";
 * console.assert(RENDER_USAGE.startsWith("usage: deno task report render"));
 * ```
 */
export const RENDER_USAGE = "usage: deno task report render (not built yet)";

/**
 * Runs `report render`.
 *
 * @example
 * ```ts
 * import { renderCommand } from "./report_render.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => renderCommand([], { stdout: () => {}, stderr: () => {} }));
 * ```
 */
export function renderCommand(_args: string[], _io: ReportIo): Promise<number> {
  return Promise.reject(new InputError(RENDER_USAGE));
}
