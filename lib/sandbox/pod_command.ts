/**
 * The commands a simulated pod answers to `kubectl exec` (and a `kubectl run` pod runs):
 * `curl` and `wget` against the pod's own server or a Service or pod in the sandbox (really
 * fetched from its pod server), `cat /etc/hostname` (and `/etc/hosts`, or stdin), `hostname`
 * and `env`/`printenv`. Anything else is exit code 126 with a message saying so.
 * @module
 */
import { realClock } from "../clock/mod.ts";

/**
 * What a command writes and how it ends.
 *
 * @example
 * ```ts
 * import type { CommandResult } from "./pod_command.ts";
 * const r: CommandResult = { stdout: new Uint8Array(), stderr: "", exitCode: 0 };
 * ```
 */
export interface CommandResult {
  /** Bytes on standard output. */
  stdout: Uint8Array;
  /** Text on standard error. */
  stderr: string;
  /** The exit code (0 success; 126 not available in the sandbox). */
  exitCode: number;
}

/**
 * Where a command runs: the pod as its processes see it.
 *
 * @example
 * ```ts
 * import type { CommandContext } from "./pod_command.ts";
 * const ctx: CommandContext = { hostname: "web-1", namespace: "shop", podIP: "10.244.0.2", env: {}, resolve: () => "unknown" };
 * ```
 */
export interface CommandContext {
  /** The pod's name (its hostname). */
  hostname: string;
  /** The pod's namespace. */
  namespace: string;
  /** The pod's IP. */
  podIP: string;
  /** The container's environment (secrets included, as the container has them). */
  env: Readonly<Record<string, string>>;
  /**
   * The loopback port that answers `host:port` from inside this pod: the pod's own server
   * for `localhost` on one of its ports, a Service's ready pod for its name; undefined when
   * nothing listens (`refused`) or the name does not resolve (`unknown`).
   */
  resolve(host: string, port: number): number | "refused" | "unknown";
  /** Standard input, when the client sends it. */
  stdin?: () => Promise<Uint8Array>;
}

const encoder = new TextEncoder();

/**
 * The message of a command the sandbox does not run (stderr, exit code 126).
 *
 * @param command The command's name.
 * @returns The line for stderr.
 *
 * @example
 * ```ts
 * import { notAvailable } from "./pod_command.ts";
 * console.assert(notAvailable("python").startsWith("python: not available in the sandbox"));
 * ```
 */
export function notAvailable(command: string): string {
  return `${command}: not available in the sandbox (it answers curl, wget, cat /etc/hostname, env)\n`;
}

function done(stdout: string | Uint8Array, stderr = "", exitCode = 0): CommandResult {
  return { stdout: typeof stdout === "string" ? encoder.encode(stdout) : stdout, stderr, exitCode };
}

interface HttpOptions {
  url: string;
  method: string;
  headers: [string, string][];
  body?: string;
  timeoutMs: number;
}

type Fetched = { response: Response; body: Uint8Array } | {
  error: "resolve" | "refused" | "timeout";
  host: string;
  port: number;
};

async function fetchIn(ctx: CommandContext, o: HttpOptions): Promise<Fetched> {
  const url = new URL(o.url.includes("://") ? o.url : `http://${o.url}`);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname;
  const target = ctx.resolve(host, port);
  if (target === "unknown") return { error: "resolve", host, port };
  if (target === "refused") return { error: "refused", host, port };
  // --max-time is the process's own (wall) time, as a container's curl has it.
  const timeout = new AbortController();
  const cancel = realClock.schedule(o.timeoutMs, () => timeout.abort());
  try {
    const response = await fetch(`http://127.0.0.1:${target}${url.pathname}${url.search}`, {
      method: o.method,
      headers: [...o.headers, ["host", url.host]],
      ...(o.body !== undefined ? { body: o.body } : {}),
      signal: timeout.signal,
    });
    return { response, body: new Uint8Array(await response.arrayBuffer()) };
  } catch {
    return { error: timeout.signal.aborted ? "timeout" : "refused", host, port };
  } finally {
    cancel();
  }
}

/** `curl` as its common flags spell it (`-s`, `-S`, `-f`, `-m`, `-X`, `-H`, `-d`, `-o`, `-w`, `-i`). */
async function curl(args: string[], ctx: CommandContext): Promise<CommandResult> {
  let silent = false, showError = false, fail = false, include = false, head = false;
  let writeOut: string | undefined, output: string | undefined, url: string | undefined;
  const o: HttpOptions = { url: "", method: "GET", headers: [], timeoutMs: 30_000 };
  const takes = new Set(["m", "X", "H", "d", "o", "w", "A", "u"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    const long = () => {
      const eq = a.indexOf("=");
      return eq > 0 ? a.slice(eq + 1) : args[++i] ?? "";
    };
    if (a.startsWith("--")) {
      const name = a.split("=")[0];
      if (name === "--silent") silent = true;
      else if (name === "--show-error") showError = true;
      else if (name === "--fail") fail = true;
      else if (name === "--include") include = true;
      else if (name === "--head") head = true;
      else if (name === "--max-time" || name === "--connect-timeout") {
        o.timeoutMs = Number(long()) * 1000;
      } else if (name === "--request") o.method = long();
      else if (name === "--header") o.headers.push(header(long()));
      else if (name === "--data" || name === "--data-raw") {
        o.body = long();
        if (o.method === "GET") o.method = "POST";
      } else if (name === "--output") output = long();
      else if (name === "--write-out") writeOut = long();
      else if (name === "--user-agent") o.headers.push(["user-agent", long()]);
      else if (name === "--url") url = long();
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const f = a[j] ?? "";
        if (takes.has(f)) {
          const value = j + 1 < a.length ? a.slice(j + 1) : args[++i] ?? "";
          if (f === "m") o.timeoutMs = Number(value) * 1000;
          else if (f === "X") o.method = value;
          else if (f === "H") o.headers.push(header(value));
          else if (f === "d") {
            o.body = value;
            if (o.method === "GET") o.method = "POST";
          } else if (f === "o") output = value;
          else if (f === "w") writeOut = value;
          else if (f === "A") o.headers.push(["user-agent", value]);
          break;
        }
        if (f === "s") silent = true;
        else if (f === "S") showError = true;
        else if (f === "f") fail = true;
        else if (f === "i") include = true;
        else if (f === "I") head = true;
      }
      continue;
    }
    url = a;
  }
  if (!url) return done("", "curl: try 'curl --help' or 'curl --manual' for more information\n", 2);
  if (head) o.method = "HEAD";
  o.url = url;
  const quiet = silent && !showError;
  const got = await fetchIn(ctx, o);
  if ("error" in got) {
    const [code, text] = got.error === "resolve"
      ? [6, `Could not resolve host: ${got.host}`]
      : got.error === "timeout"
      ? [28, `Operation timed out after ${o.timeoutMs} milliseconds with 0 bytes received`]
      : [
        7,
        `Failed to connect to ${got.host} port ${got.port} after 0 ms: Couldn't connect to server`,
      ];
    const w = writeOut?.replaceAll("%{http_code}", "000").replaceAll("\\n", "\n") ?? "";
    return done(w, quiet ? "" : `curl: (${code}) ${text}\n`, code);
  }
  const { response, body } = got;
  if (fail && response.status >= 400) {
    const msg = `curl: (22) The requested URL returned error: ${response.status}\n`;
    return done(
      writeOut?.replaceAll("%{http_code}", String(response.status)) ?? "",
      quiet ? "" : msg,
      22,
    );
  }
  const parts: Uint8Array[] = [];
  if (include || head) {
    const lines = [`HTTP/1.1 ${response.status} ${response.statusText}`];
    response.headers.forEach((v, k) => lines.push(`${k}: ${v}`));
    parts.push(encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
  }
  if (output === undefined || output === "-") parts.push(body);
  if (writeOut !== undefined) {
    parts.push(encoder.encode(
      writeOut.replaceAll("%{http_code}", String(response.status)).replaceAll("\\n", "\n"),
    ));
  }
  return done(concat(parts));
}

function header(text: string): [string, string] {
  const colon = text.indexOf(":");
  return colon < 0 ? [text, ""] : [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `wget` as busybox's: `-q`, `-O-`/`-O -`, `-T`, `--spider`. */
async function wget(args: string[], ctx: CommandContext): Promise<CommandResult> {
  let quiet = false, toStdout = false, spider = false, url: string | undefined;
  let timeoutMs = 30_000;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--spider") spider = true;
    else if (a === "-q" || a === "--quiet") quiet = true;
    else if (
      a === "-O-" || a === "-qO-" || a === "-qO" || a === "-O" || a.startsWith("--output-document")
    ) {
      if (a === "-qO-" || a === "-qO") quiet = true;
      const value = a.endsWith("-") && a !== "-O" && a !== "-qO"
        ? "-"
        : a.includes("=")
        ? a.split("=")[1]
        : args[++i];
      toStdout = value === "-";
    } else if (a === "-T" || a === "--timeout") timeoutMs = Number(args[++i]) * 1000;
    else if (a.startsWith("-T")) timeoutMs = Number(a.slice(2)) * 1000;
    else if (!a.startsWith("-")) url = a;
  }
  if (!url) return done("", "wget: missing URL\n", 1);
  const got = await fetchIn(ctx, { url, method: "GET", headers: [], timeoutMs });
  if ("error" in got) {
    const text = got.error === "resolve"
      ? `wget: bad address '${got.host}'`
      : got.error === "timeout"
      ? "wget: download timed out"
      : `wget: can't connect to remote host: Connection refused`;
    return done("", `${text}\n`, got.error === "resolve" ? 4 : got.error === "timeout" ? 1 : 4);
  }
  const { response, body } = got;
  if (response.status >= 400) {
    return done(
      "",
      `wget: server returned error: HTTP/1.1 ${response.status} ${response.statusText}\n`,
      8,
    );
  }
  if (spider) return done("", quiet ? "" : "remote file exists\n");
  if (toStdout) return done(body, quiet ? "" : `writing to stdout\n`);
  return done("", quiet ? "" : "wget: only -O- (standard output) can be written in the sandbox\n");
}

async function readAll(ctx: CommandContext): Promise<Uint8Array> {
  return ctx.stdin ? await ctx.stdin() : new Uint8Array();
}

/**
 * Runs a command as the simulated pod would.
 *
 * @param argv The command and its arguments, as `kubectl exec <pod> -- …` sends them.
 * @param ctx The pod as its processes see it.
 * @returns What it wrote and its exit code.
 *
 * @example
 * ```ts
 * import { runPodCommand } from "./pod_command.ts";
 * import assert from "node:assert/strict";
 * const ctx = { hostname: "web-1", namespace: "shop", podIP: "10.244.0.2", env: { A: "1" }, resolve: () => "unknown" as const };
 * const r = await runPodCommand(["cat", "/etc/hostname"], ctx);
 * assert.equal(new TextDecoder().decode(r.stdout), "web-1\n");
 * assert.equal((await runPodCommand(["python", "-c", "1"], ctx)).exitCode, 126);
 * ```
 */
export async function runPodCommand(argv: string[], ctx: CommandContext): Promise<CommandResult> {
  const [command = "", ...args] = argv;
  const name = command.split("/").pop() ?? command;
  switch (name) {
    case "curl":
      return await curl(args, ctx);
    case "wget":
      return await wget(args, ctx);
    case "hostname":
      return done(`${ctx.hostname}\n`);
    case "env":
      if (args.length === 0) return done(envText(ctx));
      break;
    case "printenv":
      if (args.length === 0) return done(envText(ctx));
      return args.every((a) => fullEnv(ctx)[a] !== undefined)
        ? done(args.map((a) => `${fullEnv(ctx)[a]}\n`).join(""))
        : done(
          args.filter((a) => fullEnv(ctx)[a] !== undefined).map((a) => `${fullEnv(ctx)[a]}\n`).join(
            "",
          ),
          "",
          1,
        );
    case "cat": {
      if (args.length === 0 || args[0] === "-") return done(await readAll(ctx));
      const out: string[] = [];
      let err = "";
      for (const file of args) {
        if (file === "/etc/hostname") out.push(`${ctx.hostname}\n`);
        else if (file === "/etc/hosts") {
          out.push(
            `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ctx.podIP}\t${ctx.hostname}\n`,
          );
        } else err += `cat: ${file}: No such file or directory\n`;
      }
      return done(out.join(""), err, err ? 1 : 0);
    }
    case "true":
      return done("");
    case "false":
      return done("", "", 1);
  }
  return done("", notAvailable(command), 126);
}

function fullEnv(ctx: CommandContext): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOSTNAME: ctx.hostname,
    KUBERNETES_SERVICE_HOST: "10.96.0.1",
    KUBERNETES_SERVICE_PORT: "443",
    KUBERNETES_PORT: "tcp://10.96.0.1:443",
    ...ctx.env,
    HOME: ctx.env.HOME ?? "/root",
  };
}

function envText(ctx: CommandContext): string {
  return Object.entries(fullEnv(ctx)).map(([k, v]) => `${k}=${v}\n`).join("");
}
