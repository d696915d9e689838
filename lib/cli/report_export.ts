/**
 * `deno task report export`: being built (issue 15); refuses until then.
 * @module
 */
import { InputError } from "../runner/mod.ts";
import type { ReportIo } from "./report_verify.ts";

/**
 * The usage of `report export`.
 *
 * @example
 * ```ts
 * import { EXPORT_USAGE } from "./report_export.ts";
 * console.assert(EXPORT_USAGE.startsWith("usage: deno task report export"));
 * ```
 */
export const EXPORT_USAGE = "usage: deno task report export (not built yet)";

/**
 * Runs `report export`.
 *
 * @example
 * ```ts
 * import { exportCommand } from "./report_export.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => exportCommand([], { stdout: () => {}, stderr: () => {} }));
 * ```
 */
export function exportCommand(_args: string[], _io: ReportIo): Promise<number> {
  return Promise.reject(new InputError(EXPORT_USAGE));
}
