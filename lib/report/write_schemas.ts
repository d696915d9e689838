/**
 * Writes `schemas/report.schema.json` from the zod schema (`deno task schemas`).
 * A test fails when the committed file is stale.
 * @module
 */
import { reportJsonSchema } from "./schema.ts";

/** The committed JSON Schema's path, relative to the repository. */
export const REPORT_SCHEMA_PATH = "schemas/report.schema.json";

/** The JSON Schema file's exact text. */
export function reportSchemaText(): string {
  return JSON.stringify(reportJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  await Deno.writeTextFile(REPORT_SCHEMA_PATH, reportSchemaText());
  console.log(`wrote ${REPORT_SCHEMA_PATH}`);
}
