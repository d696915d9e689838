// Every deno.json task that runs the CLI passes --no-prompt: a stage's Worker reaching past its
// grant is refused (NotCapable), never asked about at a terminal, where the question would stop
// the run (the live view's test, tests/view/live_tmux_test.ts, runs at a terminal without
// DENO_NO_PROMPT). Proved at a pseudo-terminal with a Worker that lacks read permission.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno.json: every task running lib/cli/main.ts has --no-prompt", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const cli = Object.entries(tasks).filter(([, t]) => t.includes("lib/cli/main.ts"));
  assert.ok(cli.length >= 15, `only ${cli.length} CLI tasks`);
  for (const [name, task] of cli) {
    assert.match(task, /^deno run -A --no-prompt lib\/cli\/main\.ts /, name);
  }
});

Deno.test("--no-prompt at a terminal: a Worker without read permission is refused, not asked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "no-prompt-" });
  try {
    await Deno.writeTextFile(
      `${dir}/worker.ts`,
      `try { Deno.readTextFileSync("/etc/hostname"); self.postMessage("read"); }
       catch (e) { self.postMessage(e instanceof Deno.errors.NotCapable ? "refused" : String(e)); }`,
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `const w = new Worker(new URL("./worker.ts", import.meta.url), {
         type: "module", deno: { permissions: "none" } });
       w.onmessage = (e) => { console.log("worker:", e.data, Deno.stdin.isTerminal()); w.terminate(); };`,
    );
    // script(1) gives the program a pseudo-terminal; stdin is /dev/null so a prompt would fail
    // rather than hang, and the output then shows it.
    const run = (flags: string) =>
      new Deno.Command("script", {
        args: [
          "-qec",
          `${Deno.execPath()} run -A ${flags} --unstable-worker-options ${dir}/main.ts`,
          "/dev/null",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
        // A prompt waits for an answer that never comes (measured: it hangs; refused it
        // ends in ~0.3 s): the bound ends the wait, and the output shows the question.
        signal: AbortSignal.timeout(60_000),
      }).output();
    const out = await run("--no-prompt");
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /worker: refused true/, text);
    assert.doesNotMatch(text, /Allow\?|Granted|┏/, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
