/**
 * The sandbox's API semantics over the store: create, update, delete (cascading through
 * ownerReferences), the four patch types and server-side apply with managedFields, each
 * checked (decode, defaults, validation) as the real API server does.
 * @module
 */
import { apiVersionOf, findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta, type Store } from "./store.ts";
import { ApiError } from "./errors.ts";
import { checkDecode, validate } from "./validate.ts";
import { checkFields } from "./schema.ts";
import {
  type Allocated,
  allocatedAddresses,
  applyDefaults,
  emptyAllocation,
  initialStatus,
  jobSelectorDefaults,
  keepServiceAddresses,
} from "./defaults.ts";
import { kubeNow, kubeTime } from "./clock.ts";
import { type Clock, realClock } from "../clock/mod.ts";
import type { Random } from "../random/mod.ts";

export { kubeTime };
import { applyPatch } from "./patch.ts";
import { type ManagedEntry, serverSideApply, trackUpdate } from "./apply.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.ts";

type JsonMap = Record<string, unknown>;

/** Options shared by the write operations. */
export interface WriteOptions {
  /** The field manager (defaults from the User-Agent). */
  manager: string;
  /** `status` or `scale` for a subresource write. */
  subresource?: string;
  /** Validate and answer, but store nothing. */
  dryRun?: boolean;
  /** Unknown fields: `Strict` refuses (400), `Warn` collects warnings, unset ignores. */
  fieldValidation?: string;
  /** Collects warnings (unknown fields under `Warn`). */
  warnings?: string[];
}

/** The patch content types the API accepts. */
export const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

const NAMESPACES = findResource("", "v1", "namespaces") as ResourceType;

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function specOf(obj: KObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return JSON.stringify(rest);
}

const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Whether two objects are the same but for `metadata.resourceVersion` (a write that changes nothing). */
function sameButVersion(a: KObject, b: KObject): boolean {
  const [ma, mb] = [a.metadata, b.metadata];
  const skip = function (this: unknown, key: string, value: unknown) {
    return key === "resourceVersion" && (this === ma || this === mb) ? undefined : value;
  };
  return JSON.stringify(a, skip) === JSON.stringify(b, skip);
}

/**
 * The API semantics on top of the {@linkcode Store}: create, update, patch (four types),
 * delete with cascading, get and list with selectors, as the real server answers them.
 */
export class Api {
  #store: Store;
  #clock: Clock;
  #random: Random | undefined;

  /**
   * @param store The object store.
   * @param options The clock timestamps are taken from (default: real time), and a seeded
   *   generator for uids and generated names (default: crypto's and `Math.random`), so a
   *   seeded run names its objects the same every time.
   */
  constructor(store: Store, options: { clock?: Clock; random?: Random } = {}) {
    this.#store = store;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random;
  }

  /** A new object uid (a version-4 UUID; drawn from the seeded generator when given). */
  uid(): string {
    const r = this.#random;
    if (!r) return crypto.randomUUID();
    const hex = Array.from({ length: 32 }, () => r.int(16).toString(16));
    hex[12] = "4";
    hex[16] = (8 + r.int(4)).toString(16);
    const h = hex.join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
      h.slice(20)
    }`;
  }

  /** `n` characters for a generated name (`generateName`, a pod's `-abcde`). */
  suffix(n: number): string {
    const r = this.#random;
    let out = "";
    for (let i = 0; i < n; i++) {
      const k = r ? r.int(SUFFIX_ALPHABET.length) : Math.floor(Math.random() * 27);
      out += SUFFIX_ALPHABET[k];
    }
    return out;
  }

  /** The clock every timestamp and timer of this cluster uses. */
  get clock(): Clock {
    return this.#clock;
  }

  /** Now, as a Kubernetes timestamp on this cluster's clock. */
  now(): string {
    return kubeNow(this.#clock);
  }

  /** The underlying store. */
  get store(): Store {
    return this.#store;
  }

  /** Get one object (404 when missing). */
  get(type: ResourceType, namespace: string, name: string): KObject {
    return structuredClone(this.peek(type, namespace, name));
  }

  /** List objects with optional label and field selectors (copies). */
  list(
    type: ResourceType,
    namespace: string | undefined,
    options: { labelSelector?: string | null; fieldSelector?: string | null } = {},
  ): KObject[] {
    return this.view(type, namespace, options).map((o) => structuredClone(o));
  }

  /**
   * {@linkcode Api.list} without copying: the stored objects, read-only (to serialize them,
   * {@linkcode Store.jsonOf} has their text).
   */
  view(
    type: ResourceType,
    namespace: string | undefined,
    options: { labelSelector?: string | null; fieldSelector?: string | null } = {},
  ): KObject[] {
    const labels = options.labelSelector ? parseLabelSelector(options.labelSelector) : [];
    const fields = options.fieldSelector ? parseFieldSelector(options.fieldSelector) : [];
    const items = this.#store.scan(type, namespace).filter((o) =>
      matchesLabels(labels, meta(o).labels as Record<string, string>) && matchesFields(fields, o)
    );
    items.sort((a, b) => {
      const ma = meta(a), mb = meta(b);
      return `${ma.namespace ?? ""}/${ma.name}`.localeCompare(`${mb.namespace ?? ""}/${mb.name}`);
    });
    return items;
  }

  /** {@linkcode Api.get} without copying: the stored object, read-only (404 when missing). */
  peek(type: ResourceType, namespace: string, name: string): KObject {
    const obj = this.#store.peek(type, namespace, name);
    if (!obj) throw ApiError.notFound(type.plural, name, type.group);
    return obj;
  }

  #checkBody(type: ResourceType, namespace: string, body: unknown): KObject {
    if (!isMap(body)) throw ApiError.badRequest("the body of the request was not a JSON object");
    const obj = structuredClone(body);
    const apiVersion = apiVersionOf(type);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw ApiError.badRequest(
        `the API version in the data (${
          String(obj.apiVersion)
        }) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw ApiError.badRequest(
        `the kind in the data (${
          String(obj.kind)
        }) does not match the expected kind (${type.kind})`,
      );
    }
    obj.apiVersion = apiVersion;
    obj.kind = type.kind;
    const m = meta(obj);
    if (type.namespaced) {
      if (m.namespace !== undefined && m.namespace !== "" && m.namespace !== namespace) {
        throw ApiError.badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      m.namespace = namespace;
    } else delete m.namespace;
    checkDecode(type, obj);
    return obj;
  }

  #allocated(type: ResourceType): Allocated {
    return type.kind === "Service" ? allocatedAddresses(this.#store.scan(type)) : emptyAllocation();
  }

  #requireNamespace(type: ResourceType, namespace: string): void {
    if (type.namespaced && !this.#store.peek(NAMESPACES, "", namespace)) {
      throw ApiError.notFound("namespaces", namespace);
    }
  }

  /** Create an object (409 AlreadyExists, 422 Invalid, 404 for a missing namespace). */
  create(type: ResourceType, namespace: string, body: unknown, options: WriteOptions): KObject {
    if (type.readOnly) {
      throw ApiError.methodNotAllowed(
        "the server does not allow this method on the requested resource",
      );
    }
    const obj = this.#checkBody(type, namespace, body);
    checkFields(type, obj, options);
    const m = meta(obj);
    if ((m.name === undefined || m.name === "") && typeof m.generateName === "string") {
      m.name = `${m.generateName}${this.suffix(5)}`;
    }
    this.#requireNamespace(type, namespace);
    if (m.name && this.#store.peek(type, namespace, String(m.name))) {
      throw ApiError.alreadyExists(type.plural, String(m.name), type.group);
    }
    applyDefaults(type, obj, this.#allocated(type));
    validate(type, obj);
    m.uid = this.uid();
    m.creationTimestamp = this.now();
    if (type.kind === "Job") jobSelectorDefaults(obj);
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    if (type.generation) m.generation = 1;
    else delete m.generation;
    // A create sets no status (a controller's to write) but the kind's empty one: clients
    // read `status` fields without first checking it is there.
    if (type.subresources.includes("status") && type.kind !== "Namespace") {
      const status = initialStatus(type, obj);
      if (status) obj.status = status;
      else delete obj.status;
    }
    delete m.managedFields;
    trackUpdate(undefined, obj, {
      manager: options.manager,
      apiVersion: apiVersionOf(type),
      time: this.now(),
    });
    if (options.dryRun) return obj;
    return this.#store.adopt(type, obj);
  }

  /** Replace an object (PUT): 404 when missing, 409 on a stale resourceVersion. */
  update(
    type: ResourceType,
    namespace: string,
    name: string,
    body: unknown,
    options: WriteOptions,
  ): KObject {
    if (type.readOnly) {
      throw ApiError.methodNotAllowed(
        "the server does not allow this method on the requested resource",
      );
    }
    const current = this.#store.get(type, namespace, name);
    if (!current) throw ApiError.notFound(type.plural, name, type.group);
    const obj = this.#checkBody(type, namespace, body);
    checkFields(type, obj, options);
    const m = meta(obj);
    if (m.name !== undefined && m.name !== name) {
      throw ApiError.badRequest(
        "the name of the object (" + String(m.name) + ") does not match the name on the URL (" +
          name + ")",
      );
    }
    const rv = m.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== meta(current).resourceVersion) {
      throw ApiError.conflict(type.plural, name, type.group);
    }
    return this.#commit(type, current, obj, options);
  }

  #commit(type: ResourceType, current: KObject, next: KObject, options: WriteOptions): KObject {
    const cm = meta(current);
    const m = meta(next);
    m.name = cm.name;
    m.uid = cm.uid;
    m.creationTimestamp = cm.creationTimestamp;
    if (type.namespaced) m.namespace = cm.namespace;
    if (options.subresource === "status") {
      const status = next.status;
      next = structuredClone(current);
      if (status !== undefined) next.status = status;
      else delete next.status;
    } else if (type.subresources.includes("status")) {
      if (current.status !== undefined) next.status = current.status;
      else delete next.status;
    }
    if (!isMap(next.metadata)) next.metadata = m;
    if (type.kind === "Service") keepServiceAddresses(current, next);
    applyDefaults(type, next, this.#allocated(type));
    validate(type, next);
    const nm = meta(next);
    if (type.generation) {
      nm.generation = Number(cm.generation ?? 1) + (specOf(next) !== specOf(current) ? 1 : 0);
    }
    const requested = Array.isArray(nm.managedFields) &&
        JSON.stringify(nm.managedFields) !== JSON.stringify(cm.managedFields)
      ? structuredClone(nm.managedFields) as ManagedEntry[]
      : undefined;
    if (!Array.isArray(nm.managedFields)) nm.managedFields = cm.managedFields;
    if (!Array.isArray(nm.managedFields)) delete nm.managedFields;
    trackUpdate(current, next, {
      ...(requested ? { requested } : {}),
      manager: options.manager,
      apiVersion: apiVersionOf(type),
      time: this.now(),
      ...(options.subresource ? { subresource: options.subresource } : {}),
    });
    if (options.dryRun) return next;
    if (sameButVersion(next, current)) return current;
    return this.#store.adopt(type, next);
  }

  /** Patch an object with one of the four patch content types. */
  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    patch: { contentType: string; body: unknown; force?: boolean },
    options: WriteOptions,
  ): KObject {
    if (type.readOnly) {
      throw ApiError.methodNotAllowed(
        "the server does not allow this method on the requested resource",
      );
    }
    const contentType = patch.contentType.split(";")[0]?.trim() ?? "";
    const current = this.#store.get(type, namespace, name);
    if (contentType === PATCH_TYPES.apply) {
      if (!options.manager) {
        throw ApiError.badRequest(
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      }
      const applied = this.#checkBody(type, namespace, patch.body);
      checkFields(type, applied, options);
      if (meta(applied).name !== name) {
        throw ApiError.badRequest(
          `the name of the object (${
            String(meta(applied).name)
          }) does not match the name on the URL (${name})`,
        );
      }
      const defaulted = structuredClone(applied);
      applyDefaults(type, defaulted);
      const merged = serverSideApply(current, applied, {
        defaulted,
        manager: options.manager,
        force: patch.force ?? false,
        apiVersion: apiVersionOf(type),
        plural: type.plural,
        group: type.group,
        time: this.now(),
      });
      if (!current) {
        const managed = meta(merged).managedFields;
        const created = this.create(type, namespace, merged, {
          manager: options.manager,
          dryRun: true,
        });
        meta(created).managedFields = managed;
        return options.dryRun ? created : this.#store.adopt(type, created);
      }
      const before = meta(merged).managedFields;
      const result = this.#commit(type, current, merged, {
        ...options,
        manager: "\u0000apply",
        dryRun: true,
      });
      meta(result).managedFields = before;
      if (options.dryRun) return result;
      if (sameButVersion(result, current)) return current;
      return this.#store.adopt(type, result);
    }
    if (!current) throw ApiError.notFound(type.plural, name, type.group);
    const next = applyPatch(current, { contentType, body: patch.body, custom: type.custom });
    if (!isMap(next)) throw ApiError.badRequest("the patch produced a value that is not an object");
    const rv = meta(next).resourceVersion;
    if (rv !== undefined && rv !== meta(current).resourceVersion) {
      throw ApiError.conflict(type.plural, name, type.group);
    }
    checkDecode(type, next);
    checkFields(type, next, options);
    return this.#commit(type, current, next, options);
  }

  /** Delete an object and (unless orphaned) its dependents; returns the deleted object. */
  delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: { propagationPolicy?: string; preconditions?: JsonMap; dryRun?: boolean } = {},
  ): KObject {
    if (type.readOnly) {
      throw ApiError.methodNotAllowed(
        "the server does not allow this method on the requested resource",
      );
    }
    const current = this.#store.get(type, namespace, name);
    if (!current) throw ApiError.notFound(type.plural, name, type.group);
    const pre = options.preconditions ?? {};
    const cm = meta(current);
    if (pre.uid && pre.uid !== cm.uid) {
      throw new ApiError(
        409,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cm.uid}`,
        { reason: "Conflict", kind: type.plural, name },
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== cm.resourceVersion) {
      throw ApiError.conflict(type.plural, name, type.group);
    }
    if (options.dryRun) return current;
    const removed = this.#store.remove(type, namespace, name) ?? current;
    if (type.kind === "Namespace") {
      for (const t of this.#allTypes()) {
        if (!t.namespaced || t.readOnly) continue;
        for (const o of this.#store.scan(t, name)) {
          this.#store.remove(t, name, String(meta(o).name));
        }
      }
    } else if (options.propagationPolicy === "Orphan") {
      this.#orphan(String(cm.uid), namespace);
    } else {
      this.#cascade(String(cm.uid), namespace);
    }
    return removed;
  }

  /**
   * The garbage collector's orphaning, done at once: every dependent of `uid` loses its
   * ownerReference to it (and stays).
   */
  #orphan(uid: string, namespace: string): void {
    for (const t of this.#types) {
      if (!t.namespaced || t.readOnly) continue;
      for (const o of this.#store.scan(t, namespace)) {
        const owners = meta(o).ownerReferences;
        if (!Array.isArray(owners) || !owners.some((r) => isMap(r) && r.uid === uid)) continue;
        const next = structuredClone(o);
        const kept = owners.filter((r) => !(isMap(r) && r.uid === uid));
        if (kept.length > 0) meta(next).ownerReferences = kept;
        else delete meta(next).ownerReferences;
        this.#store.adopt(t, next);
      }
    }
  }

  #types: ResourceType[] = [];

  /** Register the resource types cascading deletes look through. */
  registerTypes(types: readonly ResourceType[]): void {
    this.#types = [...types];
  }

  #allTypes(): ResourceType[] {
    return this.#types;
  }

  #cascade(uid: string, namespace: string): void {
    for (const t of this.#types) {
      if (!t.namespaced || t.readOnly) continue;
      for (const o of this.#store.scan(t, namespace)) {
        const owners = meta(o).ownerReferences;
        if (Array.isArray(owners) && owners.some((r) => isMap(r) && r.uid === uid)) {
          const child = meta(o);
          this.#store.remove(t, namespace, String(child.name));
          this.#cascade(String(child.uid), namespace);
        }
      }
    }
  }
}
