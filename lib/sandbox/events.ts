/**
 * `EventRecorder`: writes `Event` objects for the controllers (Normal and Warning, counted
 * when repeated) as `kubectl describe` and `kubectl get events` show them.
 * @module
 */
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";

const EVENTS = findResource("", "v1", "events") as ResourceType;
const MAX_EVENTS_PER_NAMESPACE = 1000;

/** Records core/v1 Events the way controllers and the kubelet do, counting repeats. */
export class EventRecorder {
  #api: Api;
  #seen = new Map<string, string>();

  /** @param api The API to write events through. */
  constructor(api: Api) {
    this.#api = api;
  }

  /** Record an event about `object`. */
  record(
    object: KObject,
    event: { type?: "Normal" | "Warning"; reason: string; message: string; component: string },
  ): void {
    const m = meta(object);
    const namespace = String(m.namespace ?? "default");
    const key = `${m.uid}|${event.reason}|${event.message}`;
    const now = this.#api.now();
    const existingName = this.#seen.get(key);
    if (existingName) {
      const existing = this.#api.store.get(EVENTS, namespace, existingName);
      if (existing) {
        existing.count = Number(existing.count ?? 1) + 1;
        existing.lastTimestamp = now;
        this.#api.store.put(EVENTS, existing);
        return;
      }
    }
    const name = `${m.name}.${this.#api.uid().replaceAll("-", "").slice(0, 16)}`;
    const created = this.#api.create(EVENTS, namespace, {
      metadata: { name, namespace },
      involvedObject: {
        kind: object.kind,
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        apiVersion: object.apiVersion,
        resourceVersion: m.resourceVersion,
      },
      reason: event.reason,
      message: event.message,
      type: event.type ?? "Normal",
      source: { component: event.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: event.component,
      reportingInstance: `${event.component}-sandbox`,
    }, { manager: event.component });
    this.#seen.set(key, String(meta(created).name));
    this.#trim(namespace);
  }

  #trim(namespace: string): void {
    const all = this.#api.store.scan(EVENTS, namespace);
    if (all.length <= MAX_EVENTS_PER_NAMESPACE) return;
    const sorted = [...all].sort((a, b) =>
      String(a.lastTimestamp).localeCompare(String(b.lastTimestamp))
    );
    for (const e of sorted.slice(0, all.length - MAX_EVENTS_PER_NAMESPACE)) {
      this.#api.store.remove(EVENTS, namespace, String(meta(e).name));
    }
  }
}
