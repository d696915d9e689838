/**
 * What the strategy modules share privately: the kinds they touch, and two small
 * helpers over plain JSON.
 * @module
 */
import type { KindRef, RolloutStatus } from "../capability.ts";

/** `apps/v1` Deployment. */
export const DEPLOYMENT: KindRef = { apiVersion: "apps/v1", kind: "Deployment" };
/** `v1` Service. */
export const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };
/** `v1` Pod. */
export const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
/** `v1` ConfigMap. */
export const CONFIG_MAP: KindRef = { apiVersion: "v1", kind: "ConfigMap" };
/** Gateway API `HTTPRoute`. */
export const ROUTE: KindRef = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" };

/** A JSON object, or `{}` for anything else. */
export function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

/** Labels as a label selector: `a=1,b=2`. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
}

/** The rollout status a dry run reports: the server validated the apply, nothing rolled out. */
export function dryRunRollout(namespace: string, name: string): RolloutStatus {
  return {
    done: false,
    failed: false,
    message: `dry run: Deployment ${namespace}/${name} validated, not rolled out`,
    replicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
  };
}
