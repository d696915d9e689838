/**
 * How a sandbox keeps its state on disk: saved a while after the store changes
 * ({@linkcode autosave}), and before an API write is answered ({@linkcode durably}), as an
 * API server answers a write once etcd committed it.
 * @module
 */
import type { Store } from "./store.ts";
import type { ApiHttp } from "./server.ts";
import type { Clock } from "../clock/clock.ts";

/**
 * Saves the state a while after the store changes: 250 ms of real time on a wall clock,
 * 15 s of target time on a virtual one (its canary's hour would otherwise be ~4,000 saves of
 * the whole store, a tenth of a rehearsal's CPU; a deploy's lock, renewed every few seconds,
 * lasts 30). The timer is `clock.timeout`'s (it never moves a
 * virtual clock on by itself), and none is set while nothing changes.
 *
 * @param store The store whose changes arm the timer.
 * @param clock The sandbox's clock.
 * @param save Writes the state.
 * @returns `stop()`, the save under way (`saving()`), and `flush()`: save now if dirty.
 *
 * @example
 * ```ts ignore
 * const saver = autosave(store, clock, save);
 * await saver.flush(); // the state on disk holds every change so far
 * saver.stop();
 * ```
 */
export function autosave(store: Store, clock: Clock, save: () => Promise<void>) {
  const afterMs = clock.kind === "virtual" ? 15_000 : 250 * clock.scale;
  let saving: Promise<void> = Promise.resolve();
  let next: Promise<void> | undefined;
  let armed = false;
  let stopped = false;
  const arm = () => {
    if (armed || stopped) return;
    armed = true;
    clock.timeout(afterMs).addEventListener("abort", () => {
      armed = false;
      if (stopped || !store.dirty) return;
      saving = saving.then(save).catch(() => {});
    }, { once: true });
  };
  const unsubscribe = store.subscribe(arm);
  return {
    stop() {
      stopped = true;
      unsubscribe();
    },
    saving: () => saving,
    /**
     * Saves now if anything changed, after any save already under way. Group commit: every
     * write answered while a save runs waits for the one next save, not a save each (a
     * queue of saves would make each answer wait for all the others').
     */
    flush(): Promise<void> {
      if (!next) {
        next = saving.then(() => {
          next = undefined;
          return store.dirty && !stopped ? save() : undefined;
        }).catch(() => {});
        saving = next;
      }
      return clock.track("sandbox: saving a write", next);
    },
  };
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Answers a write to the API (`/api`, `/apis`) only once the state holding it is saved.
 *
 * @param request The request.
 * @param http The API.
 * @param flush Saves the state (see {@linkcode autosave}).
 * @returns The API's answer, after the save.
 *
 * @example
 * ```ts ignore
 * const handle = (r: Request) => durably(r, http, saver.flush);
 * ```
 */
export async function durably(
  request: Request,
  http: ApiHttp,
  flush: () => Promise<void>,
): Promise<Response> {
  const response = await http.handle(request);
  if (WRITES.has(request.method) && /^\/apis?\//.test(new URL(request.url).pathname)) {
    await flush();
  }
  return response;
}
