// Running `deno task monitoring ...` as a user does (the real CLI in a subprocess), and promtool.

/** What a command printed and its exit code. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A lib/cli/main.ts monitoring <args>` (what `deno task monitoring` runs). */
export async function monitoring(...args: string[]): Promise<Ran> {
  return await run(Deno.execPath(), ["run", "-A", "lib/cli/main.ts", "monitoring", ...args]);
}

/** Runs the real promtool. */
export async function promtool(...args: string[]): Promise<Ran> {
  return await run("promtool", args);
}

async function run(command: string, args: string[]): Promise<Ran> {
  const out = await new Deno.Command(command, {
    args,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}
