/**
 * The Gateway API controller: HTTPRoutes get an `Accepted`/`ResolvedRefs` status per parent,
 * as a real gateway controller would report.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { meta } from "./store.ts";

type JsonMap = Record<string, unknown>;
const ROUTES = findResource("gateway.networking.k8s.io", "v1", "httproutes") as ResourceType;
const SERVICES = findResource("", "v1", "services") as ResourceType;
const CONTROLLER = `${SANDBOX_API_GROUP}/gateway-controller`;

/**
 * A Gateway API controller for HTTPRoutes: for each parentRef it reports `Accepted` and
 * `ResolvedRefs` (False with `BackendNotFound` while a backend Service is missing).
 */
export class RouteController {
  #api: Api;

  /** @param api The API. */
  constructor(api: Api) {
    this.#api = api;
  }

  /** Reconcile every HTTPRoute's status once. */
  reconcile(): void {
    for (const route of this.#api.store.scan(ROUTES)) this.#sync(route);
  }

  #sync(route: KObject): void {
    const m = meta(route);
    const ns = String(m.namespace);
    const spec = (route.spec ?? {}) as JsonMap;
    const missing: string[] = [];
    for (const rule of (spec.rules ?? []) as JsonMap[]) {
      for (const ref of (rule.backendRefs ?? []) as JsonMap[]) {
        const refNs = String(ref.namespace ?? ns);
        if (!this.#api.store.peek(SERVICES, refNs, String(ref.name))) {
          missing.push(String(ref.name));
        }
      }
    }
    const parents = (spec.parentRefs ?? []) as JsonMap[];
    const previous = ((route.status ?? {}) as JsonMap).parents as JsonMap[] | undefined;
    const now = this.#api.now();
    const condition = (type: string, ok: boolean, reason: string, message: string) => {
      const old = (previous ?? []).flatMap((p) => (p.conditions ?? []) as JsonMap[])
        .find((c) => c.type === type);
      const status = ok ? "True" : "False";
      return {
        type,
        status,
        reason,
        message,
        observedGeneration: m.generation,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
      };
    };
    const status = {
      parents: parents.map((parentRef) => ({
        parentRef,
        controllerName: CONTROLLER,
        conditions: [
          condition("Accepted", true, "Accepted", "Route is accepted"),
          missing.length === 0
            ? condition("ResolvedRefs", true, "ResolvedRefs", "All references are resolved")
            : condition(
              "ResolvedRefs",
              false,
              "BackendNotFound",
              `Service(s) not found: ${missing.join(", ")}`,
            ),
        ],
      })),
    };
    if (JSON.stringify(route.status ?? {}) === JSON.stringify(status)) return;
    const next = structuredClone(route);
    next.status = status;
    this.#api.update(ROUTES, ns, String(m.name), next, {
      manager: "gateway-controller",
      subresource: "status",
    });
  }
}
