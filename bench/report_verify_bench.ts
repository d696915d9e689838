// `deno task report verify` of a production run (the render tests' rehearsal: the deploy
// tests' baseline, then a canary that breaches at 5% and rolls back; made once, outside the
// measured part): the command in-process (report and journal read, the chain, every field
// re-derived from the journal and compared, the digest, approvals, the signature), and
// verifyReport() alone. Prints the journal's size and the medians.
//
//   deno bench -A bench/report_verify_bench.ts
import { verifyCommand } from "../lib/cli/report_verify.ts";
import { verifyReport } from "../lib/report/verify.ts";
import { productionRun } from "../tests/render/_production.ts";

const io = { stdout: () => {}, stderr: () => {} };
const times = new Map<string, number[]>();

async function measured(b: Deno.BenchContext, name: string, fn: () => unknown): Promise<void> {
  b.start();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  b.end();
  times.set(name, [...times.get(name) ?? [], ms]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

Deno.bench({
  name: "report verify (read, chain, every field re-derived, digest, approvals, signature)",
  baseline: true,
  async fn(b) {
    const { runDir } = await productionRun();
    let code = -1;
    await measured(b, "report verify", async () => {
      code = await verifyCommand([runDir], io);
    });
    if (code !== 0) throw new Error(`verify exited ${code}`);
  },
});

Deno.bench({
  name: "verifyReport() alone (chain, fields, digest)",
  async fn(b) {
    const { runDir } = await productionRun();
    let ok = false;
    await measured(b, "verifyReport()", async () => {
      ok = (await verifyReport(runDir)).ok;
    });
    if (!ok) throw new Error("the report does not verify");
  },
});

globalThis.addEventListener("unload", () => {
  for (const [name, xs] of times) {
    console.log(`${name}: median ${median(xs).toFixed(2)} ms over ${xs.length}`);
  }
});
