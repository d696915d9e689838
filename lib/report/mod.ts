/**
 * The run's report (`report.json`), the audit record of a run: its shapes
 * ({@linkcode Report}, {@linkcode StageRecord}, {@linkcode GateRecord}, ...), its JSON
 * Schema ({@linkcode reportJsonSchema}, committed as `schemas/report.schema.json`), and
 * a gate's record before any sample ({@linkcode gateRecord}). The zod schema that
 * validates a report is `schema.ts`'s `reportSchema`.
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
export * from "./gate_record.ts";
export * from "./types.ts";
export { undeliveredOf, type UndeliveredRecord } from "./undelivered.ts";
export { reportJsonSchema } from "./schema.ts";
export * from "./write_schemas.ts";
