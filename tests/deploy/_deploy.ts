// Runs the real CLI against a sandbox of the test's own (state, runs and database in a
// temporary folder), and reads what the cluster then holds with the real kubectl.
//
// With no sandbox running, each `deploy` (and `rollback`) starts one in the CLI's process
// on the virtual clock, over the state the previous run saved in `sandboxDir`, and stops
// it when the run ends: hours of canary analysis then take no wall time. To look at the
// cluster between such runs (kubectl), `inspect` starts the sandbox from that state in
// the test's process and stops it again before the next run.
import { stopLeftover } from "../../lib/companions/process.ts";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";

export interface Deployment {
  code: number;
  stdout: string;
  stderr: string;
  report: Record<string, unknown> & {
    status: string;
    stages: {
      id: string;
      status: string;
      reason?: string;
      gates: { verdict: string; samples: unknown[]; reason?: string; method?: string }[];
    }[];
    rollback: { performed: boolean; succeeded: boolean | null };
    target: Record<string, unknown>;
  };
  reportPath: string;
}

/**
 * The lease a run on the virtual clock takes here: `--option lock-seconds=1200` (20 minutes
 * of sandbox time; a scaled clock's floor does not apply to a virtual one). The default 30 s lease is renewed every 6 s of sandbox time: on a virtual
 * clock an hour of canary is some 600 renewals, each an API write that costs the sandbox a
 * controller pass and a save of its whole state (half of a production deploy's CPU, measured).
 * For runs whose claims are not about the lease's own duration.
 *
 * @example
 * ```ts ignore
 * const r = await Rehearsal.create();
 * await r.deploy("production", "v1.0.0", ["--confirm", "DEPLOY TO PRODUCTION", ...VIRTUAL_LEASE]);
 * ```
 */
export const VIRTUAL_LEASE: readonly string[] = ["--option", "lock-seconds=1200"];

export class Rehearsal {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<Rehearsal> {
    return new Rehearsal(await Deno.makeTempDir({ prefix: "tracktion-deploy-test-" }));
  }

  get sandboxDir(): string {
    return `${this.dir}/sandbox`;
  }

  args(command: string, env: string, version: string | undefined, extra: string[] = []): string[] {
    return [
      "run",
      "-A",
      // as deno.json's tasks: a stage reaching past its grant is refused, never asked about
      "--no-prompt",
      "lib/cli/main.ts",
      command,
      env,
      ...(version ? [version] : []),
      "--sandbox",
      "--sandbox-dir",
      this.sandboxDir,
      "--runs-dir",
      `${this.dir}/runs`,
      "--skip-type-check",
      ...extra,
    ];
  }

  async deploy(
    env: string,
    version: string,
    extra: string[] = [],
    vars: Record<string, string> = {},
  ): Promise<Deployment> {
    return await this.#run(this.args("deploy", env, version, extra), vars);
  }

  async rollback(env: string, extra: string[] = []): Promise<Deployment> {
    return await this.#run(this.args("rollback", env, undefined, extra));
  }

  async #run(args: string[], vars: Record<string, string> = {}): Promise<Deployment> {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      env: { NO_COLOR: "1", ...vars },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    const stdout = d.decode(out.stdout);
    const stderr = d.decode(out.stderr);
    const last = stdout.trimEnd().split("\n").at(-1) ?? "";
    const reportPath = last.startsWith("report: ") ? last.slice("report: ".length) : "";
    const report = reportPath ? JSON.parse(await Deno.readTextFile(reportPath)) : undefined;
    return { code: out.code, stdout, stderr, report, reportPath };
  }

  /** Runs the real kubectl against the sandbox (which must be running). */
  async kubectl(...args: string[]): Promise<string> {
    const out = await new Deno.Command("kubectl", {
      args: ["--kubeconfig", `${this.sandboxDir}/kubeconfig`, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${d.decode(out.stderr)}`);
    return d.decode(out.stdout);
  }

  /**
   * Starts the sandbox in this process from the state the last run saved, runs `fn` (e.g.
   * kubectl, or a change a person makes between deploys), and stops it, saving the state,
   * before the next run starts its own. Its clock goes on from the saved one at wall speed
   * (×1) with no simulated traffic, so looking moves the cluster's time on only by as long
   * as it takes (a lease or a backup stamped from `sandbox.clock` stays as fresh as it was).
   *
   * @param fn What to do while it runs (given the sandbox: its clock stamps cluster time).
   * @param o A scenario for it (what the faulted objects it restores answer).
   * @returns What `fn` returned.
   *
   * @example
   * ```ts ignore
   * const slot = await r.inspect(() =>
   *   r.kubectl("get", "service", "analysis-service", "-n", "tracktion-prod", "-o",
   *     "jsonpath={.spec.selector.slot}")
   * );
   * ```
   */
  async inspect<T>(
    fn: (sandbox: Sandbox) => Promise<T>,
    o: { scenario?: string } = {},
  ): Promise<T> {
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: this.sandboxDir,
      timeScale: 1,
      trafficRate: 0,
      ...(o.scenario ? { scenario: o.scenario } : {}),
    });
    try {
      return await fn(sandbox);
    } finally {
      await sandbox.stop();
    }
  }

  /** Stops companions a killed runner left (by their pid files), then removes the folder. */
  async remove(): Promise<void> {
    const companions = `${this.sandboxDir}/companions`;
    try {
      for await (const e of Deno.readDir(companions)) {
        if (e.isDirectory) await stopLeftover(`${companions}/${e.name}`);
      }
    } catch {
      // no companions
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

export function stage(d: Deployment, id: string) {
  const s = d.report.stages.find((x) => x.id === id);
  if (!s) throw new Error(`no stage ${id}`);
  return s;
}
