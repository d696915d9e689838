/**
 * The cluster pre-flight checks what the environment file says the namespace holds; a file
 * that leaves out what the runbook's checks need is refused when the pipeline is built —
 * exit 2 naming the field, nothing run or written — instead of a check quietly skipped.
 * @module
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { cli } from "../runner/_run.ts";

const PRODUCTION = new URL("../../environments/production.yml", import.meta.url);

async function withProduction(
  edit: (kubernetes: Record<string, unknown>) => void,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "preflight-declared-" });
  try {
    const doc = parse(await Deno.readTextFile(PRODUCTION)) as Record<string, unknown>;
    edit(doc.kubernetes as Record<string, unknown>);
    await Deno.writeTextFile(`${dir}/production.yml`, stringify(doc));
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("plan shows the checks of what the namespace holds, by name", async () => {
  const r = await cli(["plan", "production", "v1.2.4", "--format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as { stages: { id: string; checks: { name: string }[] }[] };
  const names = plan.stages.find((s) => s.id === "preflight:cluster")!.checks.map((c) => c.name);
  for (
    const check of ["Required secrets exist", "TLS certificates valid", "Load balancer health"]
  ) {
    assert.ok(names.includes(check), `${check} in ${names.join(", ")}`);
  }
});

for (const field of ["load_balancer", "service_account", "secrets"]) {
  Deno.test(`a production file without kubernetes.${field}: deploy exits 2, nothing run`, async () => {
    await withProduction((k) => delete k[field], async (dir) => {
      const runs = `${dir}/runs`;
      await Deno.mkdir(runs);
      const r = await cli([
        "deploy",
        "production",
        "v1.2.4",
        "--environments-dir",
        dir,
        "--runs-dir",
        runs,
        "--dry-run",
        "--skip-type-check",
      ]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`declares no kubernetes\\.${field}`));
      assert.deepEqual([...Deno.readDirSync(runs)], [], "no run folder");
    });
  });
}
