// Runs the real CLI as a user would, but from a temporary working directory (so that a
// default `.tracktion/` written by mistake shows up there), and snapshots folders so a test
// can assert that nothing changed.
import { fileURLToPath } from "node:url";
import { denoOutput } from "./_run.ts";

/** The repository root. */
export const REPO: string = fileURLToPath(new URL("../../", import.meta.url));

/** The repository's environment files. */
export const ENVIRONMENTS = `${REPO}environments`;

/** A runner fixture pipeline, by file name. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** The command line of the CLI (`deno task deploy ...` is `deno run -A lib/cli/main.ts deploy ...`). */
export function cliArgs(args: string[]): string[] {
  return ["run", "-A", "--config", `${REPO}deno.json`, `${REPO}lib/cli/main.ts`, ...args];
}

/**
 * `run basic.ts development` in a sandbox whose state is `sandboxDir`, runs in `runsDir`
 * (the repository's environments, no type check), then `extra`.
 */
export function sandboxRunArgs(
  o: { sandboxDir: string; runsDir: string },
  extra: string[] = [],
): string[] {
  return cliArgs([
    "run",
    fixturePath("basic.ts"),
    "development",
    "--environments-dir",
    ENVIRONMENTS,
    "--skip-type-check",
    "--sandbox",
    "--sandbox-dir",
    o.sandboxDir,
    "--runs-dir",
    o.runsDir,
    ...extra,
  ]);
}

/** Runs the CLI in `cwd`; stdin is closed (not a terminal). */
export async function cliIn(
  cwd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await denoOutput(cliArgs(args), { cwd });
}

/** Every entry under `dir` (relative path → "dir" or the SHA-256 of the file's bytes). */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        out[path] = "dir";
        await walk(path);
      } else {
        const bytes = await Deno.readFile(`${dir}/${path}`);
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        out[path] = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      }
    }
  };
  await walk("");
  return out;
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
export async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-cli-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Polls `check` until it returns a value, failing after `timeoutMs` with `what`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Opens a connection to `url` and leaves a request stuck in the server: headers promising a
 * body, `Expect: 100-continue` answered (so the server's handler is observed reading the
 * body), then only part of the body. Close the connection to end it.
 */
export async function stuckRequest(url: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const write = async (text: string) => {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  };
  await write(
    `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: ${hostname}\r\n` +
      "Content-Type: application/json\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n",
  );
  const buffer = new Uint8Array(4096);
  let answer = "";
  while (!answer.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`the server closed the connection: ${answer}`);
    answer += new TextDecoder().decode(buffer.subarray(0, n));
  }
  if (!answer.startsWith("HTTP/1.1 100")) {
    conn.close();
    throw new Error(`expected 100 Continue, got: ${answer}`);
  }
  await write('{"metadata":'); // ... and the rest never comes
  return conn;
}
