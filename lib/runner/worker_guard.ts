/**
 * The first module every runner Worker evaluates, before any pipeline code: it routes
 * everything the Worker could print — `console.*`, `Deno.stdout`/`Deno.stderr`,
 * `node:process`' streams, an uncaught error, an unhandled rejection — to the main
 * thread as messages, where the redactor sees it before the terminal or a log does.
 * The replacements cannot be put back by pipeline code (non-writable, non-configurable).
 * It also takes away what would let a stage get round it or the runner: Deno's internals
 * (raw printing) and changing the shared working directory. This guards against
 * accidents and careless libraries, not against a hostile pipeline: a stage granted
 * `run` can start a program that writes to the terminal itself (that is why `run` is
 * full trust), and one granted `write` to a device could open `/dev/stderr`.
 *
 * Node's console, `process` streams and `fs` are rerouted by {@linkcode guardNode}: as the
 * Worker starts (`./worker_guard_node.ts`) when the pipeline's modules import Node's modules
 * that can print or npm packages (`./node_routes.ts`), else on the first read of the global
 * `process`, the only way left to them, so that a Worker does not load Node's layer for
 * nothing.
 * @module
 */
import type { WorkerMessage } from "./protocol.ts";

const post = (m: WorkerMessage) =>
  (globalThis as unknown as { postMessage(m: unknown): void })
    .postMessage(m);
const decoder = new TextDecoder();

function print(stream: "stdout" | "stderr", text: string): void {
  if (text !== "") post({ type: "print", stream, text });
}

function sink(stream: "stdout" | "stderr") {
  const write = (data: Uint8Array | string) =>
    print(stream, typeof data === "string" ? data : decoder.decode(data));
  return Object.freeze({
    rid: -1,
    write(data: Uint8Array): Promise<number> {
      write(data);
      return Promise.resolve(data.byteLength);
    },
    writeSync(data: Uint8Array): number {
      write(data);
      return data.byteLength;
    },
    isTerminal: () => false,
    close() {},
    writable: new WritableStream<Uint8Array>({ write: (chunk) => write(chunk) }),
  });
}

function lock(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: false, configurable: false });
}

const show = (v: unknown) => (typeof v === "string" ? v : Deno.inspect(v, { depth: 4 }));

/** console's formatting (`%s %d %i %f %o %O %j %c`), without loading node:util. */
function format(args: unknown[]): string {
  const [first, ...rest] = args;
  if (typeof first !== "string") return args.map(show).join(" ");
  let i = 0;
  const head = first.replace(/%([sdifoOjc%])/g, (all, c: string) => {
    if (c === "%") return "%";
    if (i >= rest.length) return all;
    const v = rest[i++];
    if (c === "c") return "";
    if (c === "d" || c === "i") return String(c === "i" ? Math.trunc(Number(v)) : Number(v));
    if (c === "f") return String(Number(v));
    if (c === "j") return JSON.stringify(v);
    return show(v);
  });
  return [head, ...rest.slice(i).map(show)].join(" ");
}

const line = (args: unknown[]) => format(args) + "\n";
const toStdout = (...args: unknown[]) => print("stdout", line(args));
const toStderr = (...args: unknown[]) => print("stderr", line(args));
const quiet = () => {};
const consoleMethods = {
  ...Object.fromEntries(Object.keys(console).map((k) => [k, quiet])),
  log: toStdout,
  info: toStdout,
  debug: toStdout,
  trace: toStderr,
  warn: toStderr,
  error: toStderr,
  dir: (value: unknown) => print("stdout", Deno.inspect(value) + "\n"),
  table: toStdout,
  assert: (condition: unknown, ...args: unknown[]) => {
    if (!condition) toStderr("Assertion failed:", ...args);
  },
};
// Its methods cannot be replaced; it stays extensible, because Node's layer, when it is
// loaded later (the first read of `process`), binds its streams onto the global console as
// new properties (`_stdout`, ...), which the methods here never use.
const guardedConsole: Record<string, unknown> = {};
for (const [key, value] of Object.entries(consoleMethods)) {
  Object.defineProperty(guardedConsole, key, {
    value,
    enumerable: true,
    writable: false,
    configurable: false,
  });
}

lock(globalThis, "console", guardedConsole);
// The runtime's internals (raw printing, stream constructors by resource id): not for stages.
delete (Deno as unknown as Record<symbol, unknown>)[
  (Deno as unknown as { internal: symbol }).internal
];
// The working directory is the runner's, shared by every Worker of the process: a stage
// that changed it would move the relative paths of the runner and of other stages.
const noChdir = () => {
  throw new Deno.errors.NotCapable(
    "stages may not change the working directory: it belongs to the runner (use absolute paths)",
  );
};
lock(Deno, "chdir", noChdir);
lock(Deno, "stdout", sink("stdout"));
lock(Deno, "stderr", sink("stderr"));

/** Node's console, process and fs: what {@linkcode guardNode} reroutes. */
export interface NodeOutputs {
  readonly process: {
    stdout: object;
    stderr: object;
    chdir: unknown;
    getBuiltinModule?: (id: string) => unknown;
  };
  readonly console: object;
  readonly fs: { writeSync: unknown; write: unknown; createWriteStream: unknown };
}

let nodeGuarded = false;

/**
 * Reroutes what Node's compatibility layer could print: `node:console`, `node:process`'
 * streams and `chdir`, and `node:fs` on the terminal's descriptors (see the module's comment).
 * Once per Worker; later calls do nothing. `./worker_guard_node.ts` calls it as the Worker
 * starts, for a pipeline whose modules import Node's modules or npm packages; for any other,
 * the first read of the global `process` does (Node's layer is loaded only then).
 *
 * @param node The modules to patch.
 *
 * @example
 * ```ts ignore
 * import process from "node:process";
 * import nodeConsole from "node:console";
 * import fs from "node:fs";
 * guardNode({ process, console: nodeConsole, fs });
 * ```
 */
export function guardNode(node: NodeOutputs): void {
  if (nodeGuarded) return;
  nodeGuarded = true;
  const { process, console: nodeConsole, fs } = node;
  for (const [key, fn] of Object.entries(consoleMethods)) {
    try {
      lock(nodeConsole, key, fn);
    } catch { /* a property node:console does not let us replace */ }
  }
  lock(process, "chdir", noChdir);
  for (const stream of ["stdout", "stderr"] as const) {
    const write = (chunk: Uint8Array | string, ...rest: unknown[]) => {
      print(stream, typeof chunk === "string" ? chunk : decoder.decode(chunk));
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      done?.();
      return true;
    };
    const writev = (chunks: { chunk: Uint8Array | string }[], done?: () => void) => {
      for (const c of chunks) write(c.chunk);
      done?.();
    };
    // Every way into the stream: the public write and the Writable internals behind it.
    lock(process[stream], "write", write);
    lock(process[stream], "_write", write);
    lock(process[stream], "_writev", writev);
  }
  // node:fs on the terminal's descriptors, as CommonJS loggers do (`require("fs").writeSync(1,
  // …)`, sonic-boom under pino): the module object `require("fs")` returns is patched. An ES
  // `import { writeSync } from "node:fs"` binds the original and is not covered.
  const fsWriteSync = fs.writeSync;
  const fsWrite = fs.write;
  const fsCreateWriteStream = fs.createWriteStream;
  lock(fs, "writeSync", (fd: number, data: unknown, ...rest: unknown[]) => {
    const stream = STREAM_OF[fd];
    if (!stream) return (fsWriteSync as (...a: unknown[]) => number)(fd, data, ...rest);
    const t = text(data);
    print(stream, t);
    return new TextEncoder().encode(t).byteLength;
  });
  lock(fs, "write", (fd: number, data: unknown, ...rest: unknown[]) => {
    const stream = STREAM_OF[fd];
    if (!stream) return (fsWrite as (...a: unknown[]) => void)(fd, data, ...rest);
    const t = text(data);
    print(stream, t);
    const done = rest.find((r) => typeof r === "function") as
      | ((e: null, n: number) => void)
      | undefined;
    queueMicrotask(() => done?.(null, new TextEncoder().encode(t).byteLength));
  });
  lock(fs, "createWriteStream", (path: unknown, options?: { fd?: unknown }) => {
    const fd = typeof options === "object" && options ? Number(options.fd) : NaN;
    const stream = STREAM_OF[fd];
    if (stream) return process[stream];
    return (fsCreateWriteStream as (...a: unknown[]) => unknown)(path, options);
  });
}

const STREAM_OF: Record<number, "stdout" | "stderr"> = { 1: "stdout", 2: "stderr" };
const text = (data: unknown) =>
  typeof data === "string"
    ? data
    : data instanceof Uint8Array
    ? decoder.decode(data)
    : ArrayBuffer.isView(data)
    ? decoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    : String(data);

/**
 * Node's layer is loaded the first time the global `process` is read (Deno defines it as a
 * lazy getter): that read patches it before anything can use it. Called by the Worker's entry
 * when `./worker_guard_node.ts` is not loaded (no module of the pipeline imports Node's
 * modules or an npm package, so stage code can reach Node's output only through that global).
 *
 * @example
 * ```ts ignore
 * guardNodeOnFirstUse();
 * ```
 */
export function guardNodeOnFirstUse(): void {
  const global = Object.getOwnPropertyDescriptor(globalThis, "process");
  if (!global?.get) return; // not Deno's lazy global: nothing to wait for
  const get = global.get;
  Object.defineProperty(globalThis, "process", {
    get() {
      const process = get.call(globalThis) as NodeOutputs["process"];
      const builtin = process.getBuiltinModule!;
      guardNode({
        process,
        console: builtin("node:console") as object,
        fs: builtin("node:fs") as NodeOutputs["fs"],
      });
      return process;
    },
    enumerable: global.enumerable ?? false,
    configurable: false,
  });
}

function fatal(kind: "uncaught error" | "unhandled rejection", reason: unknown): void {
  const e = reason instanceof Error ? reason : new Error(String(reason));
  post({ type: "fatal", kind, name: e.name, message: e.message, stack: e.stack ?? "" });
}
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  fatal("uncaught error", (e as ErrorEvent).error ?? (e as ErrorEvent).message);
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fatal("unhandled rejection", (e as PromiseRejectionEvent).reason);
});
