// Every TypeScript example in README.md runs as written: each is saved beside the real
// pipelines (its imports are relative to pipelines/), type-checked, and planned.
import assert from "node:assert/strict";
import { cli } from "./_run.ts";
import { typeCheck } from "../../lib/runner/typecheck.ts";

const README = new URL("../../README.md", import.meta.url);

function examples(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/**
 * Runs an example in a sandbox of its own: a dry run succeeds; a real one measures its gates
 * against the sandbox's real traffic — nothing is deployed there, so there is none, and the
 * gates fail closed and the rollback stage runs (exit 1), as the README says.
 */
async function runsInTheSandbox(file: string, i: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "readme-run-" });
  try {
    const args = ["run", file, "staging", "v1.2.4", "--sandbox", "--sandbox-dir", `${dir}/sb`];
    const dry = await cli([...args, "--runs-dir", `${dir}/dry`, "--dry-run", "--skip-type-check"]);
    assert.equal(dry.code, 0, `example ${i}, dry run:\n${dry.stdout}${dry.stderr}`);
    const real = await cli([...args, "--runs-dir", `${dir}/real`, "--skip-type-check"]);
    assert.equal(real.code, 1, `example ${i}, real run:\n${real.stdout}${real.stderr}`);
    const path = real.stdout.match(/^report: (.+)$/m)?.[1];
    assert.ok(path, real.stdout);
    const report = JSON.parse(await Deno.readTextFile(path));
    assert.equal(report.status, "rolled_back");
    const status = Object.fromEntries(
      report.stages.map((s: { id: string; status: string }) => [s.id, s.status]),
    );
    assert.equal(status["canary-5"], "failed");
    assert.equal(status["rollback"], "succeeded");
    assert.match(real.stdout, /inconclusive \(no requests in the window/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("README.md's pipeline examples type-check, plan and run as written", async () => {
  const found = examples(await Deno.readTextFile(README));
  assert.ok(found.length >= 1, "README.md has no ```ts example");
  for (const [i, source] of found.entries()) {
    const file = new URL(`../../pipelines/.readme-example-${i}.ts`, import.meta.url).pathname;
    await Deno.writeTextFile(file, source);
    try {
      assert.deepEqual(await typeCheck(file), [], `example ${i} does not type-check`);
      const plan = await cli(["plan", "staging", "v1.2.4", "--pipeline", file]);
      assert.equal(plan.code, 0, `example ${i}:\n${plan.stderr}`);
      for (const id of source.matchAll(/stage\("([^"]+)"\)/g)) {
        assert.match(plan.stdout, new RegExp(`^\\s*${id[1]}\\b`, "m"), `plan lists ${id[1]}`);
      }
      await runsInTheSandbox(file, i);
    } finally {
      await Deno.remove(file);
    }
  }
});

Deno.test("README.md's environment-file example validates and seeds the sandbox as it says", async () => {
  const { parse, stringify } = await import("yaml");
  const { loadEnvironment } = await import("../../lib/config/mod.ts");
  const { sandboxSeed } = await import("../../lib/targets/sandbox_seed.ts");
  const blocks = [...(await Deno.readTextFile(README)).matchAll(/^```yaml\n([\s\S]*?)^```$/gm)]
    .map((m) => m[1]!);
  assert.equal(blocks.length, 1, "one environment-file example");
  const example = parse(blocks[0]!) as Record<string, Record<string, unknown>>;
  const base = parse(
    await Deno.readTextFile(new URL("../../environments/production.yml", import.meta.url)),
  ) as Record<string, Record<string, unknown>>;
  const dir = await Deno.makeTempDir();
  try {
    // The example's sections, over a real environment file.
    const merged = {
      ...base,
      kubernetes: example.kubernetes,
      notifications: { ...base.notifications, ...example.notifications },
    };
    await Deno.writeTextFile(`${dir}/production.yml`, stringify(merged));
    const env = await loadEnvironment("production", { dir });
    const [ns] = sandboxSeed([env]).namespaces ?? [];
    assert.equal(ns?.name, env.environment.namespace);
    // The declared ones, plus every Secret a secret_key_ref names (redis.password here).
    assert.deepEqual(ns?.secrets?.map((s) => s.name).sort(), [
      "api-keys",
      "db-credentials",
      "redis-credentials",
      "tls-certificates",
    ]);
    assert.deepEqual(ns?.loadBalancers?.map((l) => l.name), ["shop-lb"]);
    assert.deepEqual(ns?.serviceAccounts?.map((a) => a.name), ["shop-deployer"]);
    // And a secret that is two things at once is refused, as the README says.
    const bad = structuredClone(merged) as unknown as {
      kubernetes: { secrets: Record<string, unknown> };
    };
    bad.kubernetes.secrets["api-keys"] = { keys: ["a"], tls: "x.example" };
    await Deno.writeTextFile(`${dir}/production.yml`, stringify(bad));
    await assert.rejects(loadEnvironment("production", { dir }), /api-keys/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
