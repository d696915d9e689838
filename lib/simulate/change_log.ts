/**
 * The simulate observer's record of what it learned of the cluster: every change of an
 * HTTPRoute, Service or Deployment (by a list or a watch) once, by resourceVersion, with the
 * run's clock when it was learned, replayed in the order the changes were made.
 * @module
 */

/**
 * A JSON object as the API answers it.
 *
 * @example
 * ```ts
 * import type { Json } from "./change_log.ts";
 * const o: Json = { metadata: { name: "web" } };
 * ```
 */
export type Json = Record<string, unknown>;

/**
 * `v` as an object (`{}` when it is not one).
 *
 * @example
 * ```ts
 * import { obj } from "./change_log.ts";
 * console.assert(Object.keys(obj(null)).length === 0);
 * ```
 */
export const obj = (v: unknown): Json => (v && typeof v === "object" ? v as Json : {});

/**
 * `v` when it is a string, else null.
 *
 * @example
 * ```ts
 * import { str } from "./change_log.ts";
 * console.assert(str(1) === null && str("a") === "a");
 * ```
 */
export const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * An object's (or a list's) resourceVersion as a number (0 without one).
 *
 * @example
 * ```ts
 * import { rvOf } from "./change_log.ts";
 * console.assert(rvOf({ metadata: { resourceVersion: "42" } }) === 42);
 * ```
 */
export const rvOf = (o: Json): number => Number(obj(o.metadata).resourceVersion ?? 0) || 0;

/**
 * The kinds observed, and their collection paths (`NS`: the namespace).
 *
 * @example
 * ```ts
 * import { KINDS } from "./change_log.ts";
 * console.assert(KINDS.services.endsWith("/services"));
 * ```
 */
export const KINDS = {
  routes: "/apis/gateway.networking.k8s.io/v1/namespaces/NS/httproutes",
  services: "/api/v1/namespaces/NS/services",
  deployments: "/apis/apps/v1/namespaces/NS/deployments",
} as const;

/**
 * One change of an object, and the run's clock when the observer learned of it.
 *
 * @example
 * ```ts
 * import type { Change } from "./change_log.ts";
 * const c: Change = { kind: "routes", rv: 1, name: "web", object: null, learnedMs: 0 };
 * ```
 */
export interface Change {
  readonly kind: keyof typeof KINDS;
  readonly rv: number;
  readonly name: string;
  readonly object: Json | null;
  readonly learnedMs: number;
}

/**
 * Every change learned (by a list or a watch), once each, by resourceVersion.
 *
 * @example
 * ```ts
 * import { ChangeLog } from "./change_log.ts";
 * const log = new ChangeLog();
 * log.add("routes", "ADDED", { metadata: { name: "web", resourceVersion: "3" } }, 1000);
 * console.assert(log.ordered()[0]?.atMs === 1000 && log.latest.routes === 3);
 * ```
 */
export class ChangeLog {
  readonly #changes = new Map<string, Change>();
  /** The newest resourceVersion seen per kind (where a resumed watch starts). */
  readonly latest: Record<string, number> = {};
  /** Per kind, the newest change of each name (for the lists' deletions). */
  readonly #newest = new Map<string, Change>();

  add(kind: keyof typeof KINDS, type: string, o: Json, learnedMs: number): void {
    const name = str(obj(o.metadata).name) ?? "";
    const rv = rvOf(o);
    this.latest[kind] = Math.max(this.latest[kind] ?? 0, rv);
    const key = `${kind}/${rv}/${name}`;
    if (this.#changes.has(key)) return;
    const change = { kind, rv, name, object: type === "DELETED" ? null : o, learnedMs };
    this.#changes.set(key, change);
    const newest = this.#newest.get(`${kind}/${name}`);
    if (!newest || newest.rv < rv) this.#newest.set(`${kind}/${name}`, change);
  }

  /** A list as of `listRv`: its objects' versions, and deletions of the names it lacks. */
  list(kind: keyof typeof KINDS, items: readonly Json[], listRv: number, learnedMs: number) {
    for (const o of items) this.add(kind, "MODIFIED", o, learnedMs);
    const names = new Set(items.map((o) => str(obj(o.metadata).name) ?? ""));
    for (const c of [...this.#newest.values()]) {
      if (c.kind === kind && c.object !== null && !names.has(c.name) && c.rv <= listRv) {
        this.add(
          kind,
          "DELETED",
          { metadata: { name: c.name, resourceVersion: listRv } },
          learnedMs,
        );
      }
    }
    this.latest[kind] = Math.max(this.latest[kind] ?? 0, listRv);
  }

  /**
   * The changes in the order they were made, each at the earliest time it or a later change
   * was learned: a change is never made after a later one is learned, and one read while the
   * clock stood still after its write is stamped exactly.
   */
  ordered(): (Change & { atMs: number })[] {
    const changes = [...this.#changes.values()].sort((x, y) => x.rv - y.rv);
    let earliest = Infinity;
    const out = new Array<Change & { atMs: number }>(changes.length);
    for (let i = changes.length - 1; i >= 0; i--) {
      earliest = Math.min(earliest, changes[i]!.learnedMs);
      out[i] = { ...changes[i]!, atMs: earliest };
    }
    return out;
  }
}
