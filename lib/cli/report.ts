/**
 * `deno task report <subcommand>`: the audit record's commands. `verify <run-id>` (also the
 * short form `report <run-id>`) checks a run's report against its journal and signature;
 * `audit <env>` walks an environment's chain of runs (gaps, replaced runs, the cluster's
 * record) and gives DORA's four keys; `export <run-id> --in-toto` writes signed provenance;
 * `render <run-id> --html|--md` writes a report people read.
 * @module
 */
import { InputError } from "../runner/mod.ts";
import type { Command } from "./command.ts";
import { type ReportIo, VERIFY_USAGE, verifyCommand } from "./report_verify.ts";
import { AUDIT_USAGE, auditCommand } from "./report_audit.ts";
import { EXPORT_USAGE, exportCommand } from "./report_export.ts";
import { RENDER_USAGE, renderCommand } from "./report_render.ts";

export type { ReportIo } from "./report_verify.ts";

/** The subcommands of `report`, by name. */
const SUBCOMMANDS: Readonly<
  Record<string, { usage: string; run: (args: string[], io: ReportIo) => Promise<number> }>
> = {
  verify: { usage: VERIFY_USAGE, run: verifyCommand },
  audit: { usage: AUDIT_USAGE, run: auditCommand },
  export: { usage: EXPORT_USAGE, run: exportCommand },
  render: { usage: RENDER_USAGE, run: renderCommand },
};

/**
 * The usage of `report`: each subcommand's.
 *
 * @example
 * ```ts
 * import { REPORT_USAGE } from "./report.ts";
 * console.assert(REPORT_USAGE.includes("report audit"));
 * ```
 */
export const REPORT_USAGE: string = Object.values(SUBCOMMANDS).map((s) => s.usage).join("\n\n");

/**
 * Runs `report`: the subcommand named first, or `verify` when the first argument is a run.
 *
 * @param args The arguments after `report`.
 * @param io Where to write.
 * @returns The subcommand's exit code.
 * @throws {InputError} On bad usage.
 *
 * @example
 * ```ts
 * import { reportCommand } from "./report.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {} };
 * await assert.rejects(() => reportCommand([], io), /usage: deno task report/);
 * ```
 */
export async function reportCommand(args: string[], io: ReportIo): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === "--help" || first === "-h") {
    throw new InputError(REPORT_USAGE);
  }
  const sub = Object.hasOwn(SUBCOMMANDS, first) ? SUBCOMMANDS[first]! : undefined;
  return sub ? await sub.run(rest, io) : await verifyCommand(args, io);
}

/**
 * The `report` command of the CLI.
 *
 * @example
 * ```ts
 * import { REPORT_COMMAND } from "./report.ts";
 * console.assert(REPORT_COMMAND.name === "report");
 * ```
 */
export const REPORT_COMMAND: Command = {
  name: "report",
  summary: "verifies, audits, exports and renders runs' records",
  usage: REPORT_USAGE,
  run: reportCommand,
};
