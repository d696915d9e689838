/**
 * The runbook's pre-flight "Pod security policies", as a cluster in the supported range
 * (Kubernetes ≥ 1.25) enforces it: PodSecurityPolicy (the runbook's `kubectl get
 * podsecuritypolicy tracktion-psp`) was removed in 1.25, and its successor is Pod Security
 * Admission, configured by the namespace's `pod-security.kubernetes.io/enforce` label. The
 * check asks that the namespace enforces at least a given level.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { KindRef } from "../lib/kubernetes/capability.ts";
import { kubeCheck } from "./kubernetes_check.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";

const NAMESPACE: KindRef = { apiVersion: "v1", kind: "Namespace" };

/** The label Pod Security Admission enforces from. */
export const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/** Pod Security Standards, least to most restrictive. */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;

/** One of {@linkcode POD_SECURITY_LEVELS}. */
export type PodSecurityLevel = typeof POD_SECURITY_LEVELS[number];

/** Options of {@linkcode podSecurityEnforced}. */
export interface PodSecurityOptions extends CommonCheckOptions {
  /** The least level the namespace must enforce (default `baseline`). */
  readonly minimum?: PodSecurityLevel;
}

/**
 * The namespace enforces a Pod Security Standard at least as strict as `minimum`: its
 * `pod-security.kubernetes.io/enforce` label is that level or a stricter one. No label (the
 * cluster's default, usually `privileged`), an unknown value or a weaker level fails, saying
 * which label to set.
 *
 * @param namespace The namespace.
 * @param options The minimum level (default `baseline`), name, `required` (default true).
 * @returns The check; evidence: namespace, enforce, minimum, version.
 *
 * @example
 * ```ts
 * import { podSecurityEnforced } from "./pod_security.ts";
 * import assert from "node:assert/strict";
 * const check = podSecurityEnforced("shop-prod", { minimum: "restricted" });
 * assert.equal(check.name, "Pod security admission enforced");
 * ```
 */
export function podSecurityEnforced(namespace: string, options: PodSecurityOptions = {}): Check {
  const minimum = options.minimum ?? "baseline";
  return kubeCheck("Pod security admission enforced", async (k) => {
    const ns = await k.get(NAMESPACE, null, namespace);
    if (!ns) return fail(`Namespace ${namespace} does not exist`, { namespace, minimum });
    const labels = ns.metadata.labels ?? {};
    const enforce = labels[ENFORCE_LABEL];
    const evidence = {
      namespace,
      enforce: enforce ?? null,
      minimum,
      version: labels[`${ENFORCE_LABEL}-version`] ?? null,
    };
    const fix = `label it: kubectl label namespace ${namespace} ${ENFORCE_LABEL}=${minimum}`;
    const level = POD_SECURITY_LEVELS.indexOf(enforce as PodSecurityLevel);
    if (enforce === undefined) {
      return fail(`Namespace ${namespace} enforces no Pod Security Standard: ${fix}`, evidence);
    }
    if (level < 0) {
      return fail(
        `Namespace ${namespace} has ${ENFORCE_LABEL}=${enforce}, not one of ${
          POD_SECURITY_LEVELS.join(", ")
        }: ${fix}`,
        evidence,
      );
    }
    if (level < POD_SECURITY_LEVELS.indexOf(minimum)) {
      return fail(
        `Namespace ${namespace} enforces "${enforce}", weaker than "${minimum}": ${fix}`,
        evidence,
      );
    }
    return pass(`Namespace ${namespace} enforces the "${enforce}" Pod Security Standard`, evidence);
  }, options);
}
