// Nothing in the runner, the Kubernetes layer or the journal reads wall time or sets a
// timer itself: they take a Clock (lib/clock is the only place that may).
import assert from "node:assert/strict";

const FOLDERS = ["lib/runner", "lib/kubernetes", "lib/journal"];
const FORBIDDEN = [
  /\bDate\.now\(/,
  /\bnew Date\(\s*\)/,
  /\bsetTimeout\(/,
  /\bsetInterval\(/,
  /\bperformance\.now\(/,
  /\bAbortSignal\.timeout\(/,
];

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(`../../${dir}/`, import.meta.url))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await files(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

Deno.test(`${FOLDERS.join(", ")} read no wall time and set no timer of their own`, async () => {
  const offenders: string[] = [];
  for (const folder of FOLDERS) {
    for (const path of await files(folder)) {
      const text = await Deno.readTextFile(new URL(`../../${path}`, import.meta.url));
      for (const [i, line] of text.split("\n").entries()) {
        const code = line.trim();
        if (code.startsWith("//") || code.startsWith("*") || code.startsWith("/*")) continue;
        if (FORBIDDEN.some((re) => re.test(line))) offenders.push(`${path}:${i + 1}: ${code}`);
      }
    }
  }
  assert.deepEqual(
    offenders,
    [],
    `use the run's Clock (lib/clock) instead:\n  ${offenders.join("\n  ")}`,
  );
});
