/**
 * The run's report (`report.json`), the audit record of a run: its shapes
 * ({@linkcode Report}, {@linkcode StageRecord}, {@linkcode GateRecord}, ...), its JSON
 * Schema ({@linkcode reportJsonSchema}, committed as `schemas/report.schema.json`), and
 * a gate's record before any sample ({@linkcode gateRecord}), and its check against the
 * journal, the source of truth: what the journal says the report must state
 * ({@linkcode deriveReport}, {@linkcode rebuiltReport}) and the verification
 * ({@linkcode verifyReport}). The zod schema that validates a report is `schema.ts`'s
 * `reportSchema`.
 *
 * ```ts
 * import { reportJsonSchema } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = reportJsonSchema();
 * assert.equal(schema.type, "object");
 * assert.ok((schema.required as string[]).includes("stages"));
 * ```
 * @module
 */
export * from "./derive.ts";
export * from "./gate_record.ts";
export * from "./types.ts";
export { undeliveredOf, type UndeliveredRecord } from "./undelivered.ts";
export { reportJsonSchema } from "./schema.ts";
export * from "./verify.ts";
export * from "./write_schemas.ts";
