/**
 * The runbook's pre-flight "Service health: <service>" outside production: what is live
 * now answers `/health` as healthy before another version goes beside it. Asked through the
 * API server's proxy to the Service (`services/<name>:<port>/proxy/health`), so the runner
 * needs no network path into the cluster: the same code path in the sandbox and a real
 * cluster.
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import type { KindRef } from "../lib/kubernetes/capability.ts";
import { kubeCheck } from "./kubernetes_check.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";

const SERVICE: KindRef = { apiVersion: "v1", kind: "Service" };

/** Options of {@linkcode liveServiceHealth}. */
export interface LiveServiceHealthOptions extends CommonCheckOptions {
  /** The Service's port (default 8000). */
  readonly port?: number;
}

/**
 * The live version of a Service is healthy: `GET /health` through the Service answers 2xx
 * with `status` "healthy" (or "ok"). A namespace where the Service does not exist yet (the
 * first deploy) passes, saying nothing is live to check; a Service with no ready endpoint,
 * an error status or another `status` fails, naming what it answered.
 *
 * @param namespace The namespace.
 * @param service The Service that traffic reaches (`<service>`, whose selector names the
 *   live slot).
 * @param options The port, name, `required` (default true, as the runbook's check).
 * @returns The check; evidence: service, status, reportedStatus, selector.
 *
 * @example
 * ```ts
 * import { liveServiceHealth } from "./live_service.ts";
 * import assert from "node:assert/strict";
 * const check = liveServiceHealth("shop-staging", "web");
 * assert.equal(check.name, "Service health: web");
 * ```
 */
export function liveServiceHealth(
  namespace: string,
  service: string,
  options: LiveServiceHealthOptions = {},
): Check {
  const port = options.port ?? 8000;
  return kubeCheck(`Service health: ${service}`, async (k) => {
    const svc = await k.get(SERVICE, namespace, service);
    if (!svc) {
      return pass(`${namespace}/${service} is not deployed yet: nothing live to check`, {
        service,
        deployed: false,
      });
    }
    const selector = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
    const answer = await k.proxyGet(
      { namespace, kind: "services", name: service, port },
      "/health",
    );
    const evidence: Record<string, unknown> = { service, selector, status: answer.status };
    let reported: unknown;
    try {
      reported = (JSON.parse(answer.body) as { status?: unknown }).status;
    } catch {
      reported = undefined;
    }
    evidence.reportedStatus = reported;
    const where = `${namespace}/${service}${selector?.slot ? ` (slot ${selector.slot})` : ""}`;
    if (answer.status < 200 || answer.status >= 300) {
      return fail(
        `${where} /health answered HTTP ${answer.status}: the live version is not healthy`,
        evidence,
      );
    }
    if (typeof reported !== "string" || !/^(healthy|ok)$/i.test(reported)) {
      return fail(
        `${where} /health reports status ${JSON.stringify(reported ?? null)}, not "healthy"`,
        evidence,
      );
    }
    return pass(`${where} is healthy`, evidence);
  }, options);
}
