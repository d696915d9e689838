/**
 * The wrapper every Kubernetes check uses.
 * @module
 */
import type { Check, CheckOutcome, StageContext } from "../lib/dsl/types.ts";
import type { KubernetesCapability } from "../lib/kubernetes/capability.ts";
import { type CommonCheckOptions, fail } from "./_outcome.ts";

/**
 * A check over the `kubernetes` capability: an unexpected error (API down, forbidden)
 * becomes a failing outcome naming it instead of a throw.
 *
 * @param name The default name.
 * @param body The check, given the capability and the stage context.
 * @param options Name override and `required` (default true).
 * @returns The check.
 *
 * @example
 * ```ts
 * import { kubeCheck } from "./kubernetes_check.ts";
 * import type { KindRef } from "../lib/kubernetes/capability.ts";
 * import assert from "node:assert/strict";
 * const NS: KindRef = { apiVersion: "v1", kind: "Namespace" };
 * const check = kubeCheck("Namespace shop exists", async (k) => {
 *   const ns = await k.get(NS, null, "shop");
 *   return { ok: ns !== null, message: ns ? "exists" : "missing", evidence: {} };
 * });
 * assert.equal(check.required, true);
 * ```
 */
export function kubeCheck(
  name: string,
  body: (k: KubernetesCapability, ctx: StageContext) => Promise<CheckOutcome>,
  options: CommonCheckOptions = {},
): Check {
  return {
    name: options.name ?? name,
    required: options.required ?? true,
    async run(ctx) {
      try {
        return await body(ctx.use<KubernetesCapability>("kubernetes"), ctx);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return fail(`${options.name ?? name}: ${message}`, { error: message });
      }
    },
  };
}
