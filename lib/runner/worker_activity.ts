/**
 * Inside a stage's Worker: what it is busy with, so that a virtual clock neither jumps
 * past its work nor waits for it forever. The main thread holds the run's clock from the
 * moment it posts the Worker a message until the Worker says it is *quiet*: after a
 * message has settled (a macrotask turn), it waits for the main thread (a capability call
 * or a sleep outstanding) and has none of its own real I/O in flight — `fetch` (and its
 * body), `Deno.Command` (its output, or a spawned child's status) and Deno's asynchronous
 * file and network calls are counted. Real timers are not: on a virtual clock a stage
 * waits with `ctx.sleep`.
 * @module
 */
import type { WorkerMessage } from "./protocol.ts";

/**
 * Counts a stage's outstanding requests and real I/O, and says when it is quiet.
 *
 * @example
 * ```ts ignore
 * const activity = new Activity((m) => postMessage(m));
 * activity.delivered(1); // a message from the main thread arrived
 * activity.requestStarted(); // the stage asked for a sleep: quiet after this turn
 * ```
 */
export class Activity {
  #requests = 0;
  #io = 0;
  #delivery = 0;
  #quietSent = true;
  #checking = false;
  #post: (m: WorkerMessage) => void;
  #channel: MessageChannel | undefined;

  /** @param post Posts a message to the main thread. */
  constructor(post: (m: WorkerMessage) => void) {
    this.#post = post;
  }

  /** A message from the main thread arrived (its number): the Worker is busy again. */
  delivered(delivery: number): void {
    this.#delivery = delivery;
    this.#quietSent = false;
    this.#check();
  }

  /** A request to the main thread (a call, a sleep) went out. */
  requestStarted(): void {
    this.#requests++;
    this.#check();
  }

  /** A request was answered or given up. */
  requestEnded(): void {
    this.#requests--;
    this.#check();
  }

  /** Real I/O of the Worker's own started; the returned function ends it (once). */
  started(): () => void {
    this.#io++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#io--;
      this.#check();
    };
  }

  /** Counts `work` as real I/O while it is pending. */
  track<T>(work: Promise<T>): Promise<T> {
    const end = this.started();
    return work.finally(end);
  }

  /** After a macrotask turn: quiet when it waits for the main thread and for nothing else. */
  #check(): void {
    if (this.#checking) return;
    this.#checking = true;
    this.#turn(() => {
      this.#checking = false;
      if (this.#quietSent || this.#requests === 0 || this.#io > 0) return;
      this.#quietSent = true;
      this.#post({ type: "quiet", delivery: this.#delivery });
    });
  }

  /** Runs `fn` on the next macrotask (a message port: no timer a stage could see). */
  #turn(fn: () => void): void {
    if (!this.#channel) {
      this.#channel = new MessageChannel();
      // Not kept alive by the port: the Worker lives as long as the main thread wants.
      (this.#channel.port1 as unknown as { unref?: () => void }).unref?.();
    }
    const channel = this.#channel;
    channel.port1.onmessage = () => fn();
    channel.port2.postMessage(null);
  }
}

const FS_CALLS = [
  "readFile",
  "readTextFile",
  "writeFile",
  "writeTextFile",
  "open",
  "create",
  "stat",
  "lstat",
  "mkdir",
  "remove",
  "rename",
  "copyFile",
  "readLink",
  "realPath",
  "makeTempDir",
  "makeTempFile",
  "truncate",
  "chmod",
  "symlink",
  "link",
  "utime",
  "connect",
  "connectTls",
  "resolveDns",
] as const;

/** A Response whose body reads count as I/O. */
function countedResponse(activity: Activity, response: Response): Response {
  for (const method of ["text", "json", "arrayBuffer", "blob", "bytes", "formData"] as const) {
    const original = (response as unknown as Record<string, unknown>)[method];
    if (typeof original !== "function") continue;
    Object.defineProperty(response, method, {
      configurable: true,
      value: (...args: unknown[]) =>
        activity.track(Promise.resolve(original.apply(response, args) as Promise<unknown>)),
    });
  }
  return response;
}

/**
 * Counts the Worker's real I/O from now on: wraps `fetch`, `Deno.Command` and Deno's
 * asynchronous file and network calls. Called once, before any pipeline code loads (code
 * that kept the originals is not counted).
 *
 * @param activity The Worker's counter.
 *
 * @example
 * ```ts ignore
 * const activity = new Activity(post);
 * countRealIo(activity); // in the Worker, before the pipeline module is imported
 * ```
 */
export function countRealIo(activity: Activity): void {
  const originalFetch = globalThis.fetch;
  globalThis.fetch =
    ((input: RequestInfo | URL, init?: RequestInit) =>
      activity.track(originalFetch(input, init)).then((r) =>
        countedResponse(activity, r)
      )) as typeof fetch;
  const deno = Deno as unknown as Record<string, unknown>;
  for (const name of FS_CALLS) {
    const original = deno[name];
    if (typeof original !== "function") continue;
    const counted = (...args: unknown[]) =>
      activity.track(Promise.resolve((original as (...a: unknown[]) => unknown)(...args)));
    try {
      Object.defineProperty(Deno, name, { value: counted, writable: true, configurable: true });
    } catch { /* a call the runtime does not let us replace: not counted */ }
  }
  const Command = Deno.Command;
  class CountedCommand extends Command {
    override output(): Promise<Deno.CommandOutput> {
      return activity.track(super.output());
    }
    override spawn(): Deno.ChildProcess {
      const child = super.spawn();
      void activity.track(child.status).catch(() => {});
      return child;
    }
  }
  try {
    Object.defineProperty(Deno, "Command", { value: CountedCommand, configurable: true });
  } catch { /* not counted */ }
}
