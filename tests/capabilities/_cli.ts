/**
 * The CLI over the `cluster.ts` fixture (two stages that use Kubernetes), as a user runs it
 * with `KUBECONFIG` pointing at a given file: `run <fixture> development --dry-run`, output
 * collected, the runs folder to check that nothing was written.
 * @module
 */
import { main } from "../../lib/cli/main.ts";

/** What {@linkcode runClusterFixture} saw. */
export interface FixtureRun {
  /** The exit code. */
  readonly code: number;
  /** Standard output and error, together. */
  readonly out: string;
  /** The entries of the runs folder afterwards. */
  readonly written: string[];
}

/**
 * Runs the fixture through `main()` with `KUBECONFIG` set to `kubeconfig` (restored after).
 *
 * @param kubeconfig The kubeconfig path (need not exist).
 * @param dir A temp folder: the runs folder is made in it.
 * @returns The exit code, the output and what the runs folder holds.
 */
export async function runClusterFixture(kubeconfig: string, dir: string): Promise<FixtureRun> {
  const runs = `${dir}/runs`;
  await Deno.mkdir(runs, { recursive: true });
  const saved = Deno.env.get("KUBECONFIG");
  Deno.env.set("KUBECONFIG", kubeconfig);
  let out = "";
  try {
    const code = await main(
      [
        "run",
        new URL("./fixtures/cluster.ts", import.meta.url).pathname,
        "development",
        "--dry-run",
        "--runs-dir",
        runs,
        "--skip-type-check",
      ],
      { stdout: (t) => out += t, stderr: (t) => out += t, tty: false, colour: false },
    );
    return { code, out, written: [...Deno.readDirSync(runs)].map((e) => e.name) };
  } finally {
    if (saved === undefined) Deno.env.delete("KUBECONFIG");
    else Deno.env.set("KUBECONFIG", saved);
  }
}
