// A real CLI run in a real terminal: tmux (its own server, on a socket of this test's) runs
// the command in a detached session of a given size; the test reads the screen as a person
// would see it (capture-pane), types into it (send-keys) and resizes it.
export const TMUX = "/usr/bin/tmux";

export class Tmux {
  readonly socket: string;
  constructor(name: string) {
    this.socket = `tracktion-view-${Deno.pid}-${name}`;
  }

  async #tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command(TMUX, {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
    })
      .output();
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  }

  /**
   * Starts `command` (a shell line) in a session `columns` × `rows`; `EXIT=<code>` follows it.
   * The session's environment is this process's, but for NO_COLOR (CI sets it): a terminal
   * has colour unless `env` says NO_COLOR.
   */
  async start(command: string, columns: number, rows: number, env: Record<string, string> = {}) {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ");
    await this.#tmux(
      "new-session",
      "-d",
      "-s",
      "v",
      "-x",
      `${columns}`,
      "-y",
      `${rows}`,
      `cd ${Deno.cwd()} && env -u NO_COLOR ${vars} ${command}; echo EXIT=$?; exec cat`,
    );
    await this.#tmux("set-option", "-t", "v", "history-limit", "50000");
  }

  /** The visible screen (`escapes`: with its SGR sequences). */
  screen(escapes = false): Promise<string> {
    return this.#tmux("capture-pane", "-p", "-t", "v", ...(escapes ? ["-e"] : []));
  }

  /** Everything: the scrollback and the screen. */
  history(escapes = false): Promise<string> {
    return this.#tmux(
      "capture-pane",
      "-p",
      "-t",
      "v",
      "-S",
      "-",
      "-E",
      "-",
      ...(escapes ? ["-e"] : []),
    );
  }

  resize(columns: number, rows: number): Promise<string> {
    return this.#tmux("resize-window", "-t", "v", "-x", `${columns}`, "-y", `${rows}`);
  }

  type(text: string): Promise<string> {
    return this.#tmux("send-keys", "-t", "v", text, "Enter");
  }

  /**
   * Reads the screen until `ok` holds for it; fails if the command exits first (its `EXIT=`
   * shows and `ok` still does not hold): no time bound of its own, the run's end is the bound.
   */
  async until(ok: (screen: string) => boolean, what: string): Promise<string> {
    while (true) {
      const screen = await this.history();
      if (ok(screen)) return screen;
      if (/^EXIT=\d+$/m.test(screen)) {
        const said = screen.split("\n").filter((l) =>
          /^(staging|rehearsal|run |deploy → )/.test(l)
        );
        throw new Error(
          `The run ended before ${what}:\n${said.join("\n")}\n…\n` +
            screen.split("\n").slice(-60).join("\n"),
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async kill(): Promise<void> {
    await this.#tmux("kill-server").catch(() => "");
  }
}
