// Every TypeScript example in README.md runs as written: each is saved beside the real
// pipelines (its imports are relative to pipelines/), type-checked, and planned.
import assert from "node:assert/strict";
import { cli } from "./_run.ts";
import { typeCheck } from "../../lib/runner/typecheck.ts";

const README = new URL("../../README.md", import.meta.url);

function examples(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

Deno.test("README.md's pipeline examples type-check and plan as written", async () => {
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
    } finally {
      await Deno.remove(file);
    }
  }
});
