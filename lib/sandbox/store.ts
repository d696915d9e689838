/**
 * `Store`: the sandbox's in-memory object store — resourceVersions, change listeners for
 * watches, snapshots for the saved state.
 * @module
 */
import type { KObject, ResourceType } from "./resources.ts";
import { ApiError } from "./errors.ts";

/** The type of a watch event. */
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** A change recorded by the store. */
export interface StoreChange {
  /** ADDED, MODIFIED or DELETED. */
  type: WatchEventType;
  /** The resource type changed. */
  resource: ResourceType;
  /** The object after the change (for DELETED: its last state, with a new resourceVersion). */
  object: KObject;
  /** The resourceVersion of the change. */
  rv: number;
}

/** A listener for changes. */
export type ChangeListener = (change: StoreChange) => void;

const HISTORY_LIMIT = 10_000;

/** The key of an object in the store. */
export function storeKey(type: ResourceType, namespace: string, name: string): string {
  return `${type.group}/${type.plural}/${type.namespaced ? namespace : ""}/${name}`;
}

/** The metadata of an object (always an object). */
export function meta(obj: KObject): Record<string, unknown> {
  let m = obj.metadata as Record<string, unknown> | undefined;
  if (!m || typeof m !== "object") {
    m = {};
    obj.metadata = m;
  }
  return m;
}

/**
 * The in-memory object store with resourceVersions, change history for watches,
 * and snapshot/restore for persistence.
 */
export class Store {
  #objects = new Map<string, { resource: ResourceType; object: KObject }>();
  /** The same entries by resource type, in the same order: a scan reads only its type's. */
  #byType = new Map<ResourceType, Map<string, { resource: ResourceType; object: KObject }>>();
  /** Each stored object's JSON text ({@linkcode Store.jsonOf}), while it is stored. */
  #json = new WeakMap<KObject, string>();
  /** Every object this store has held: never changed (a write stores a new object). */
  #held = new WeakSet<KObject>();
  /** Per type, the resourceVersion of its last change (since the last restore). */
  #changed = new Map<ResourceType, number>();
  #restoredAt = 0;
  #rv = 1;
  #history: StoreChange[] = [];
  #listeners = new Set<ChangeListener>();
  #dirty = false;

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /**
   * The resourceVersion of the last change to an object of one of `types` (a restore
   * counts as a change to every type): what a cache of something derived from those
   * types only is keyed by, so that writes to other types (a lease's renewals) keep it.
   */
  lastChange(types: readonly ResourceType[]): number {
    let last = this.#restoredAt;
    for (const type of types) last = Math.max(last, this.#changed.get(type) ?? 0);
    return last;
  }

  /** Whether there are changes not yet saved. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Mark the store as changed (state kept outside the objects changed). */
  markDirty(): void {
    this.#dirty = true;
  }

  /** Mark the store as saved. */
  markClean(): void {
    this.#dirty = false;
  }

  /** Get a copy of one object, or undefined. */
  get(type: ResourceType, namespace: string, name: string): KObject | undefined {
    const entry = this.#objects.get(storeKey(type, namespace, name));
    return entry ? structuredClone(entry.object) : undefined;
  }

  /** Get one object without copying (read-only use by controllers). */
  peek(type: ResourceType, namespace: string, name: string): KObject | undefined {
    return this.#objects.get(storeKey(type, namespace, name))?.object;
  }

  /** All objects of a type (optionally in a namespace), not copied: do not mutate. */
  scan(type: ResourceType, namespace?: string): KObject[] {
    const out: KObject[] = [];
    for (const entry of this.#byType.get(type)?.values() ?? []) {
      if (namespace && type.namespaced && meta(entry.object).namespace !== namespace) continue;
      out.push(entry.object);
    }
    return out;
  }

  /** Copies of all objects of a type (optionally in a namespace). */
  list(type: ResourceType, namespace?: string): KObject[] {
    return this.scan(type, namespace).map((o) => structuredClone(o));
  }

  /** Store an object (create or replace), giving it the next resourceVersion. */
  put(type: ResourceType, object: KObject): KObject {
    const stored = this.adopt(type, structuredClone(object));
    // As before adopt(): the caller's object carries its new resourceVersion too.
    meta(object).resourceVersion = meta(stored).resourceVersion;
    return stored;
  }

  /**
   * {@linkcode Store.put} for an object nobody else holds (the API's own copy of a request's
   * body): it is stored as it is, not copied first. The caller must not touch it afterwards.
   */
  adopt(type: ResourceType, object: KObject): KObject {
    const m = meta(object);
    const key = storeKey(type, String(m.namespace ?? ""), String(m.name));
    const existed = this.#objects.has(key);
    this.#rv++;
    m.resourceVersion = String(this.#rv);
    this.#set(key, { resource: type, object });
    this.#record({
      type: existed ? "MODIFIED" : "ADDED",
      resource: type,
      object,
      rv: this.#rv,
    });
    return structuredClone(object);
  }

  /** Remove an object; returns its last state or undefined. */
  remove(type: ResourceType, namespace: string, name: string): KObject | undefined {
    const key = storeKey(type, namespace, name);
    const entry = this.#objects.get(key);
    if (!entry) return undefined;
    this.#objects.delete(key);
    this.#byType.get(entry.resource)?.delete(key);
    this.#rv++;
    const last = structuredClone(entry.object);
    meta(last).resourceVersion = String(this.#rv);
    this.#record({ type: "DELETED", resource: type, object: last, rv: this.#rv });
    return structuredClone(last);
  }

  #set(key: string, entry: { resource: ResourceType; object: KObject }): void {
    const was = this.#objects.get(key);
    if (was && was.resource !== entry.resource) this.#byType.get(was.resource)?.delete(key);
    this.#objects.set(key, entry);
    this.#held.add(entry.object);
    let ofType = this.#byType.get(entry.resource);
    if (!ofType) this.#byType.set(entry.resource, ofType = new Map());
    ofType.set(key, entry);
  }

  #record(change: StoreChange): void {
    this.#dirty = true;
    this.#changed.set(change.resource, change.rv);
    this.#history.push(change);
    if (this.#history.length > HISTORY_LIMIT) {
      this.#history.splice(0, this.#history.length - HISTORY_LIMIT);
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // a broken watcher must not break writes
      }
    }
  }

  /**
   * Changes after `fromRv`, for a watch that starts from a resourceVersion.
   * Throws 410 Gone when the history no longer reaches back that far.
   */
  changesSince(fromRv: number): StoreChange[] {
    const first = this.#history[0];
    if (fromRv < this.#rv && first && first.rv > fromRv + 1) {
      throw new ApiError(410, `too old resource version: ${fromRv} (${first.rv - 1})`, {
        reason: "Expired",
      });
    }
    return this.#history.filter((c) => c.rv > fromRv);
  }

  /** Listen to every change; returns the function that stops listening. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * {@linkcode Store.snapshot} as JSON text, as `JSON.stringify(store.snapshot())` writes it.
   * A stored object is never changed (a write stores a new copy), so each object's text is
   * kept until that object is replaced: a save writes again only what changed since the last.
   */
  snapshotJson(): string {
    const parts: string[] = [];
    for (const e of this.#objects.values()) {
      const type = JSON.stringify(`${e.resource.group}/${e.resource.version}/${e.resource.plural}`);
      parts.push(`{"type":${type},"object":${this.jsonOf(e.object)}}`);
    }
    return `{"resourceVersion":${this.#rv},"objects":[${parts.join(",")}]}`;
  }

  /**
   * `JSON.stringify(object)`, computed once for an object as stored ({@linkcode Store.peek},
   * {@linkcode Store.scan}): a stored object is never changed. Of any other object (a copy),
   * the text is computed each time.
   */
  jsonOf(object: KObject): string {
    if (!this.#held.has(object)) return JSON.stringify(object);
    let text = this.#json.get(object);
    if (text === undefined) {
      text = JSON.stringify(object);
      this.#json.set(object, text);
    }
    return text;
  }

  /** A JSON-able snapshot of all objects. */
  snapshot(): { resourceVersion: number; objects: { type: string; object: KObject }[] } {
    const objects = [...this.#objects.values()].map((e) => ({
      type: `${e.resource.group}/${e.resource.version}/${e.resource.plural}`,
      object: e.object,
    }));
    return { resourceVersion: this.#rv, objects };
  }

  /** Restore from a snapshot (no watch events). */
  restore(
    snapshot: { resourceVersion: number; objects: { type: string; object: KObject }[] },
    resolve: (type: string) => ResourceType | undefined,
  ): void {
    this.#objects.clear();
    this.#byType.clear();
    this.#history = [];
    this.#rv = snapshot.resourceVersion;
    this.#changed.clear();
    this.#restoredAt = this.#rv;
    for (const { type, object } of snapshot.objects) {
      const resource = resolve(type);
      if (!resource) continue;
      const m = meta(object);
      this.#set(storeKey(resource, String(m.namespace ?? ""), String(m.name)), {
        resource,
        object,
      });
    }
  }
}
