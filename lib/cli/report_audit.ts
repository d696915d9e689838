/**
 * `deno task report audit`: being built (issue 15); refuses until then.
 * @module
 */
import { InputError } from "../runner/mod.ts";
import type { ReportIo } from "./report_verify.ts";

/**
 * The usage of `report audit`.
 *
 * @example
 * ```ts
 * import { AUDIT_USAGE } from "./report_audit.ts";
 * console.assert(AUDIT_USAGE.startsWith("usage: deno task report audit"));
 * ```
 */
export const AUDIT_USAGE = "usage: deno task report audit (not built yet)";

/**
 * Runs `report audit`.
 *
 * @example
 * ```ts
 * import { auditCommand } from "./report_audit.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => auditCommand([], { stdout: () => {}, stderr: () => {} }));
 * ```
 */
export function auditCommand(_args: string[], _io: ReportIo): Promise<number> {
  return Promise.reject(new InputError(AUDIT_USAGE));
}
