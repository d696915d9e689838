/**
 * The `scale` subresource of Deployments and ReplicaSets (`autoscaling/v1` Scale: get,
 * update, patch), as `kubectl scale` uses it.
 * @module
 */
import type { Api } from "./api.ts";
import { PATCH_TYPES } from "./api.ts";
import type { KObject, ResourceType } from "./resources.ts";
import { meta } from "./store.ts";
import { ApiError } from "./errors.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { SANDBOX_LIMITS } from "./limits.ts";

type JsonMap = Record<string, unknown>;

/**
 * The `scale` subresource (autoscaling/v1 Scale) of Deployments and ReplicaSets:
 * GET, PUT and PATCH, as `kubectl scale` and client-node use it.
 *
 * @returns The Scale object to answer.
 */
export async function scaleSubresource(
  api: Api,
  request: Request,
  options: {
    type: ResourceType;
    namespace: string;
    name: string;
    manager: string;
    dryRun: boolean;
    body: () => Promise<unknown>;
  },
): Promise<KObject> {
  const { type, namespace, name, manager, dryRun } = options;
  const obj = api.get(type, namespace, name);
  const toScale = (o: KObject): KObject => {
    const m = meta(o);
    const selector = ((o.spec as JsonMap).selector ?? {}) as JsonMap;
    const ml = (selector.matchLabels ?? {}) as Record<string, string>;
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
        creationTimestamp: m.creationTimestamp,
      },
      spec: { replicas: (o.spec as JsonMap).replicas ?? 0 },
      status: {
        replicas: ((o.status ?? {}) as JsonMap).replicas ?? 0,
        selector: Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(","),
      },
    };
  };
  if (request.method === "GET") return toScale(obj);
  let next: unknown;
  const body = await options.body();
  if (request.method === "PUT") next = body;
  else if (request.method === "PATCH") {
    const ct = (request.headers.get("content-type") ?? "").split(";")[0];
    const current = toScale(obj);
    next = ct === PATCH_TYPES.json
      ? jsonPatch(current, body)
      : ct === PATCH_TYPES.merge
      ? mergePatch(current, body)
      : strategicMergePatch(current, body);
  } else {throw ApiError.methodNotAllowed(
      "the server does not allow this method on the requested resource",
    );}
  const scale = next as JsonMap;
  const rv = (scale.metadata as JsonMap | undefined)?.resourceVersion;
  if (rv !== undefined && rv !== meta(obj).resourceVersion) {
    throw ApiError.conflict(type.plural, name, type.group);
  }
  const replicas = (scale.spec as JsonMap | undefined)?.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw ApiError.invalid("Scale", name, [{
      reason: "FieldValueInvalid",
      field: "spec.replicas",
      message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
    }], "autoscaling");
  }
  if (replicas > SANDBOX_LIMITS.replicas) {
    throw ApiError.invalid("Scale", name, [{
      reason: "FieldValueInvalid",
      field: "spec.replicas",
      message:
        `Invalid value: ${replicas}: must be less than or equal to ${SANDBOX_LIMITS.replicas} (the sandbox's limit)`,
    }], "autoscaling");
  }
  const updated = structuredClone(obj);
  (updated.spec as JsonMap).replicas = replicas;
  const result = api.update(type, namespace, name, updated, {
    manager,
    dryRun,
    subresource: "scale",
  });
  return toScale(result);
}
