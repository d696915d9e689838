/**
 * Server-side apply's bookkeeping: field sets, `managedFields` in FieldsV1 form, conflicts
 * between managers, and the upgrade from client-side apply's last-applied annotation.
 * @module
 */
import type { KObject } from "./resources.ts";
import { ApiError, type StatusCause } from "./errors.ts";
import { listMergeKey, strategicMergePatch } from "./patch.ts";

type JsonMap = Record<string, unknown>;
const SEP = "\u0001";

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A set of owned field paths (elements joined by an internal separator). */
export type FieldSet = Set<string>;

const ROOT_SKIP = new Set(["apiVersion", "kind", "status"]);
const META_KEEP = new Set(["labels", "annotations", "ownerReferences", "finalizers"]);

/** Collect the owned field paths of an object (leaves, keyed list items). */
export function fieldSet(obj: KObject): FieldSet {
  return new Set(fieldValues(obj).keys());
}

/**
 * The owned field paths of an object with the value at each ({@linkcode valueAt}'s: a
 * leaf's value, a keyed list item itself), found in one walk.
 */
function fieldValues(obj: KObject): Map<string, unknown> {
  const out = new Map<string, unknown>();
  walk(obj, [], out, true);
  return out;
}

function walk(value: unknown, path: string[], out: Map<string, unknown>, root: boolean): void {
  if (!isMap(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (root && ROOT_SKIP.has(key)) continue;
    if (path.length === 1 && path[0] === "f:metadata" && !META_KEEP.has(key)) continue;
    const p = [...path, `f:${key}`];
    if (isMap(child) && Object.keys(child).length > 0) {
      walk(child, p, out, false);
    } else if (Array.isArray(child) && listMergeKey(key, child)) {
      const mk = listMergeKey(key, child) ?? "";
      for (const item of child) {
        if (!isMap(item)) continue;
        const ip = [...p, `k:${JSON.stringify({ [mk]: item[mk] })}`];
        const at = ip.join(SEP);
        // valueAt finds a key's first item: the first one stands for a duplicated key.
        if (!out.has(at)) out.set(at, item);
        walk(item, ip, out, false);
      }
    } else {
      const at = p.join(SEP);
      if (!out.has(at)) out.set(at, child);
    }
  }
}

function step(cur: unknown, element: string): unknown {
  if (element.startsWith("f:")) return isMap(cur) ? cur[element.slice(2)] : undefined;
  if (element.startsWith("k:") && Array.isArray(cur)) {
    const key = JSON.parse(element.slice(2)) as JsonMap;
    const [k, v] = Object.entries(key)[0] ?? ["", undefined];
    return cur.find((i) => isMap(i) && i[k] === v);
  }
  return undefined;
}

/** The value at an owned path, or undefined. */
export function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const element of path.split(SEP)) cur = step(cur, element);
  return cur;
}

/** Remove the value at a path (a field or a keyed list item). */
export function removeAt(obj: unknown, path: string): void {
  const elements = path.split(SEP);
  const last = elements.pop() ?? "";
  let parent: unknown = obj;
  for (const element of elements) parent = step(parent, element);
  if (last.startsWith("f:") && isMap(parent)) delete parent[last.slice(2)];
  if (last.startsWith("k:")) {
    const key = JSON.parse(last.slice(2)) as JsonMap;
    const [k, v] = Object.entries(key)[0] ?? ["", undefined];
    const listField = elements[elements.length - 1] ?? "";
    let grand: unknown = obj;
    for (const element of elements.slice(0, -1)) grand = step(grand, element);
    if (isMap(grand)) {
      const list = grand[listField.slice(2)];
      if (Array.isArray(list)) {
        grand[listField.slice(2)] = list.filter((i) => !(isMap(i) && i[k] === v));
      }
    }
  }
}

/** Convert a field set to the `fieldsV1` tree. */
export function toFieldsV1(set: FieldSet): JsonMap {
  const root: JsonMap = {};
  for (const path of [...set].sort()) {
    let node = root;
    for (const element of path.split(SEP)) {
      if (!isMap(node[element])) node[element] = {};
      node = node[element] as JsonMap;
    }
    node["."] = {};
  }
  return prune(root);
}

function prune(node: JsonMap): JsonMap {
  const keys = Object.keys(node);
  if (keys.length === 1 && keys[0] === ".") return {};
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(node)) out[k] = isMap(v) ? prune(v) : v;
  return out;
}

/** Convert a `fieldsV1` tree back to a field set. */
export function fromFieldsV1(tree: unknown): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: unknown, path: string[]) => {
    if (!isMap(node)) return;
    const keys = Object.keys(node);
    if (path.length > 0 && (keys.length === 0 || keys.includes("."))) out.add(path.join(SEP));
    for (const k of keys) if (k !== ".") visit(node[k], [...path, k]);
  };
  visit(tree, []);
  return out;
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

function upgradesClientSideApply(live: KObject, conflicts: StatusCause[]): boolean {
  const annotations = ((live.metadata ?? {}) as JsonMap).annotations as JsonMap | undefined;
  const text = annotations?.[LAST_APPLIED];
  if (typeof text !== "string") return false;
  let lastApplied: KObject;
  try {
    lastApplied = JSON.parse(text) as KObject;
  } catch {
    return false;
  }
  const fields = new Set([...fieldSet(lastApplied)].map(fieldLabel));
  return conflicts.every((c) => fields.has(c.field));
}

function fieldLabel(path: string): string {
  return "." +
    path.split(SEP).map((s) => s.startsWith("f:") ? s.slice(2) : `[${s.slice(2)}]`).join(".");
}

/** One managedFields entry. */
export interface ManagedEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: JsonMap;
  subresource?: string;
}

function entries(obj: KObject): ManagedEntry[] {
  const m = (obj.metadata ?? {}) as JsonMap;
  return Array.isArray(m.managedFields) ? structuredClone(m.managedFields) as ManagedEntry[] : [];
}

function setEntries(obj: KObject, list: ManagedEntry[]): void {
  const m = (obj.metadata ?? {}) as JsonMap;
  const kept = list.filter((e) => Object.keys(e.fieldsV1).length > 0);
  if (kept.length > 0) m.managedFields = kept;
  else delete m.managedFields;
  obj.metadata = m;
}

/**
 * Record a non-apply write (create, update, patch) by `manager`: it takes ownership of
 * the fields it changed, and fields that disappeared are released by everyone.
 */
export function trackUpdate(
  before: KObject | undefined,
  after: KObject,
  options: {
    manager: string;
    apiVersion: string;
    subresource?: string;
    /** Entries the request itself set (they replace the stored ones). */
    requested?: ManagedEntry[];
    /** Now, as a Kubernetes timestamp (the entry's `time`). */
    time: string;
  },
): void {
  const oldValues = before ? fieldValues(before) : new Map<string, unknown>();
  const newValues = fieldValues(after);
  const changed = new Set<string>();
  for (const [p, value] of newValues) {
    if (!oldValues.has(p) || JSON.stringify(oldValues.get(p)) !== JSON.stringify(value)) {
      changed.add(p);
    }
  }
  const gone = [...oldValues.keys()].filter((p) => !newValues.has(p));
  if (!options.requested && changed.size === 0 && gone.length === 0) {
    // Nothing owned changed (a status write, say): every entry stays as it was.
    return setEntries(after, entries(before ?? after));
  }
  const list = (options.requested ?? entries(before ?? after)).map((e) => {
    const set = fromFieldsV1(e.fieldsV1);
    for (const p of [...changed, ...gone]) set.delete(p);
    return { ...e, fieldsV1: toFieldsV1(set) };
  });
  if (changed.size > 0) {
    const own = list.find((e) => e.manager === options.manager && e.operation === "Update");
    const set = own ? fromFieldsV1(own.fieldsV1) : new Set<string>();
    for (const p of changed) set.add(p);
    const entry: ManagedEntry = {
      manager: options.manager,
      operation: "Update",
      apiVersion: options.apiVersion,
      time: options.time,
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(set),
    };
    if (options.subresource) entry.subresource = options.subresource;
    if (own) Object.assign(own, entry);
    else list.push(entry);
  }
  setEntries(after, list);
}

/**
 * Server-side apply: merge `applied` into `current` for `manager`, detecting conflicts with
 * other managers (409 unless `force`) and removing fields this manager no longer applies.
 */
export function serverSideApply(
  current: KObject | undefined,
  applied: KObject,
  options: {
    manager: string;
    force: boolean;
    apiVersion: string;
    plural: string;
    group: string;
    /** The applied object with server defaults, used to compare values. */
    defaulted?: KObject;
    /** Now, as a Kubernetes timestamp (the entry's `time`). */
    time: string;
  },
): KObject {
  const compareTo = options.defaulted ?? applied;
  const appliedSet = fieldSet(applied);
  const base: KObject = current ? structuredClone(current) : {};
  let list = entries(base);
  const conflicts: StatusCause[] = [];
  for (const e of list) {
    if (e.manager === options.manager) continue;
    const theirs = fromFieldsV1(e.fieldsV1);
    for (const p of appliedSet) {
      if (!theirs.has(p)) continue;
      if (p.split(SEP).at(-1)?.startsWith("k:")) continue;
      if (JSON.stringify(valueAt(base, p)) === JSON.stringify(valueAt(compareTo, p))) continue;
      if (options.force) theirs.delete(p);
      else {
        const field = "." +
          p.split(SEP).map((s) => s.startsWith("f:") ? s.slice(2) : `[${s.slice(2)}]`).join(".");
        conflicts.push({
          reason: "FieldManagerConflict",
          message: `conflict with "${e.manager}"${
            e.operation === "Update" ? ` using ${e.apiVersion}` : ""
          }`,
          field,
        });
      }
    }
    e.fieldsV1 = toFieldsV1(theirs);
  }
  if (conflicts.length > 0 && !options.force && upgradesClientSideApply(base, conflicts)) {
    // Like the API server's last-applied manager: an apply whose conflicts all lie in the
    // fields of the client-side-apply annotation is an upgrade to server-side apply.
    return serverSideApply(current, applied, { ...options, force: true });
  }
  if (conflicts.length > 0) {
    const name = String(((applied.metadata ?? {}) as JsonMap).name ?? "");
    const what = conflicts.map((c) => `${c.message}: ${c.field}`).join("\n- ");
    throw new ApiError(
      409,
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? "s" : ""}: ${what}`,
      { reason: "Conflict", kind: options.plural, name, group: options.group, causes: conflicts },
    );
  }
  const own = list.find((e) => e.manager === options.manager && e.operation === "Apply");
  const previous = own ? fromFieldsV1(own.fieldsV1) : new Set<string>();
  const others = new Set<string>();
  for (const e of list) {
    if (e === own) continue;
    for (const p of fromFieldsV1(e.fieldsV1)) others.add(p);
  }
  const merged = strategicMergePatch(base, applied) as KObject;
  const removed = [...previous].filter((p) => !appliedSet.has(p) && !others.has(p));
  removed.sort((a, b) => b.length - a.length);
  for (const p of removed) removeAt(merged, p);
  const fieldsV1 = toFieldsV1(appliedSet);
  const unchanged = own !== undefined &&
    JSON.stringify(own.fieldsV1) === JSON.stringify(fieldsV1) &&
    own.apiVersion === options.apiVersion;
  const entry: ManagedEntry = {
    manager: options.manager,
    operation: "Apply",
    apiVersion: options.apiVersion,
    // A no-op apply keeps the entry as it was, so the object (and its resourceVersion) stays.
    time: unchanged ? own.time : options.time,
    fieldsType: "FieldsV1",
    fieldsV1,
  };
  list = own ? list.map((e) => e === own ? entry : e) : [...list, entry];
  setEntries(merged, list);
  return merged;
}
