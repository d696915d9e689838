// `deno task status` at a terminal (a pseudo-terminal from util-linux's `script`): colours
// there, none with NO_COLOR set, and none when the output is a pipe.
import assert from "node:assert/strict";

const ESC = String.fromCharCode(27);

/** `status staging --sandbox` (a sandbox without state: nothing to start) at a terminal. */
async function atTerminal(dir: string, vars: Record<string, string>): Promise<string> {
  const command =
    `${Deno.execPath()} run -A lib/cli/main.ts status staging --sandbox --sandbox-dir ${dir}/sandbox --runs-dir ${dir}/runs`;
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "", ...vars };
  const home = Deno.env.get("HOME");
  if (home) env.HOME = home;
  const deno = Deno.env.get("DENO_DIR");
  if (deno) env.DENO_DIR = deno;
  const out = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test("status colours at a terminal, not with NO_COLOR, not into a pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-status-colour-" });
  try {
    const coloured = await atTerminal(dir, {});
    assert.ok(coloured.includes(`${ESC}[1mstaging${ESC}[0m: namespace`), coloured);
    assert.ok(coloured.includes(`${ESC}[32mfree${ESC}[0m`), coloured);
    const plain = await atTerminal(dir, { NO_COLOR: "1" });
    assert.ok(!plain.includes(ESC), plain);
    assert.match(plain, /^staging: namespace tracktion-staging, blue-green, /);
    const piped = await new Deno.Command(Deno.execPath(), {
      env: { NO_COLOR: "" },
      args: [
        "run",
        "-A",
        "lib/cli/main.ts",
        "status",
        "staging",
        "--sandbox",
        "--sandbox-dir",
        `${dir}/sandbox`,
        "--runs-dir",
        `${dir}/runs`,
      ],
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(piped.stdout);
    assert.equal(piped.code, 0);
    assert.ok(!text.includes(ESC), text);
    // The same facts, with and without colour.
    assert.equal(
      coloured.replaceAll(new RegExp(`${ESC}\\[\\d+m`, "g"), "").replaceAll("\r\n", "\n").replace(
        /read at \S+/,
        "",
      ),
      text.replace(/read at \S+/, ""),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
