/**
 * What the API server answers a DELETE with: the object for a Pod (graceful deletion) and for
 * Foreground and Orphan propagation (the object marked for deletion with its finalizer), a
 * `Status` of success otherwise — as apiserver's `Store.Delete` (registry/generic/registry/
 * store.go: `if !deleteImmediately || err != nil { return out, false, err }`).
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import { kubeNow } from "./clock.ts";
import type { KObject, ResourceType } from "./resources.ts";
import { meta } from "./store.ts";

/**
 * The body of a DELETE's answer.
 *
 * The sandbox's garbage collector does a finalizer's work at once, so the object answered with
 * `foregroundDeletion` or `orphan` is already gone when the client reads it again (404), as
 * after a collector that was quick.
 *
 * @param type The object's resource type.
 * @param removed The object as it was deleted.
 * @param policy The DELETE's `propagationPolicy`, if any.
 * @param clock The cluster's clock (the deletionTimestamp).
 * @returns The answer's JSON body.
 *
 * @example
 * ```ts
 * import { deleteAnswer } from "./delete_answer.ts";
 * import { findResource } from "./resources.ts";
 * import { realClock } from "../clock/mod.ts";
 * const type = findResource("", "v1", "configmaps")!;
 * const cm = { kind: "ConfigMap", metadata: { name: "a", uid: "u1" } };
 * const answer = deleteAnswer(type, cm, "Orphan", realClock) as { metadata: { finalizers: string[] } };
 * console.assert(answer.metadata.finalizers[0] === "orphan");
 * console.assert((deleteAnswer(type, cm, undefined, realClock) as { kind: string }).kind === "Status");
 * ```
 */
export function deleteAnswer(
  type: ResourceType,
  removed: KObject,
  policy: unknown,
  clock: Clock,
): KObject {
  if (type.kind === "Pod") return removed;
  const finalizer = policy === "Foreground"
    ? "foregroundDeletion"
    : policy === "Orphan"
    ? "orphan"
    : undefined;
  if (finalizer) {
    const marked = structuredClone(removed);
    const m = meta(marked);
    const finalizers = Array.isArray(m.finalizers) ? m.finalizers : [];
    m.finalizers = [...finalizers.filter((f) => f !== finalizer), finalizer];
    m.deletionTimestamp ??= kubeNow(clock);
    m.deletionGracePeriodSeconds ??= 0;
    return marked;
  }
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: {
      name: meta(removed).name,
      group: type.group,
      kind: type.plural,
      uid: meta(removed).uid,
    },
  };
}
