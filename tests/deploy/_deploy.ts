// Runs the real CLI against a sandbox of the test's own (state, runs and database in a
// temporary folder), and reads what the cluster then holds with the real kubectl.
import { stopLeftover } from "../../lib/companions/process.ts";

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
      gates: { verdict: string; samples: unknown[]; reason?: string }[];
    }[];
    rollback: { performed: boolean; succeeded: boolean | null };
    target: Record<string, unknown>;
  };
  reportPath: string;
}

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
