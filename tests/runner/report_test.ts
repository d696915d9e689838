// The run report: the committed JSON Schema matches the zod schema, and reports of
// succeeded, failed and interrupted runs validate against it.
import assert from "node:assert/strict";
import { reportSchema } from "../../lib/report/schema.ts";
import { REPORT_SCHEMA_PATH, reportSchemaText } from "../../lib/report/write_schemas.ts";
import { runFixture } from "./_run.ts";

Deno.test("schemas/report.schema.json is the zod schema's current JSON Schema", async () => {
  assert.equal(
    await Deno.readTextFile(REPORT_SCHEMA_PATH),
    reportSchemaText(),
    "run `deno task schemas` and commit the result",
  );
});

for (const [mode, status] of [["ok", "succeeded"], ["fail-right", "rolled_back"]] as const) {
  Deno.test(`the report of a ${status} run validates against its schema`, async () => {
    const run = await runFixture("basic.ts", { options: { mode } });
    try {
      const report = reportSchema.parse(JSON.parse(await Deno.readTextFile(run.reportPath)));
      assert.equal(report.status, status);
      assert.equal(report.pipeline.name, "basic");
      assert.equal(report.environment, "development");
      assert.ok(report.who.user.length > 0 && report.who.host.length > 0);
      assert.match(report.git.commit ?? "", /^[0-9a-f]{40}$/);
      assert.equal(report.events.count > 0, true);
      assert.equal(report.stages.length, 11);
    } finally {
      await run.cleanup();
    }
  });
}

Deno.test("a failed run's report names the failure; a report with a wrong field fails the schema", async () => {
  const run = await runFixture("basic.ts", { options: { mode: "fail-right" } });
  try {
    const raw = JSON.parse(await Deno.readTextFile(run.reportPath));
    assert.match(raw.error, /stage "right" failed/);
    raw.status = "mostly-fine";
    assert.equal(reportSchema.safeParse(raw).success, false);
  } finally {
    await run.cleanup();
  }
});
