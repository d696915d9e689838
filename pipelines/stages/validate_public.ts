/**
 * Post-deployment validation of the public endpoint (`environment.api_url`): the runbook's
 * "API functionality", "Performance" and "Security" checks, and in the sandbox how its
 * gateway is reached in place of the public address.
 * @module
 */
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { serviceHealth } from "../../checks/service.ts";
import { noSensitiveData, securityHeaders } from "../../checks/security.ts";
import { httpEndpoint, rateLimitHeaders } from "../../checks/http_endpoint.ts";
import { tlsCertificate } from "../../checks/tls.ts";
import { skip as skipOutcome } from "../../checks/_outcome.ts";
import type { Check } from "../../lib/dsl/types.ts";
import type { DeployContext } from "./context.ts";

/** A check that records why it did not run here (in the report, neither pass nor fail). */
function skip(name: string, why: string): Check {
  return { name, required: false, run: () => skipOutcome(why) };
}

/**
 * A `fetch` that reaches a Service through the API server's proxy (`services/<name>/proxy`):
 * in the sandbox, the load balancer stands for the public endpoint.
 */
function serviceProxyFetch(k: KubernetesCapability, namespace: string, port: number) {
  return async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const answer = await k.proxyGet(
      { namespace, kind: "services", name: url.hostname, port },
      `${url.pathname}${url.search}`,
    );
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
}

/**
 * The seed's "API functionality", "Performance" and "Security" validations on the public
 * endpoint (`environment.api_url`): health, response time < 2 s, a bad token refused,
 * rate-limit headers, TLS certificate (30 days), security headers, no secrets in /health. In
 * the sandbox the load balancer Service stands for it (reached through the API server's
 * proxy): its health and response time are real; the edge's own behaviour (authentication,
 * rate limits, headers, TLS) is not simulated there yet, so those only warn.
 *
 * @example
 * ```ts ignore
 * const checks = publicEndpointChecks(c, kubernetes, "https://api.example.com");
 * ```
 */
export function publicEndpointChecks(
  c: DeployContext,
  k: KubernetesCapability,
  apiUrl: string,
): Check[] {
  const lb = c.env.kubernetes?.load_balancer;
  const sandbox = c.sandbox;
  if (sandbox && !lb) {
    return [skip("public endpoint", "the environment names no load balancer for the sandbox")];
  }
  const base = sandbox ? `http://${lb!.name}` : apiUrl.replace(/\/+$/, "");
  const fetch = sandbox ? serviceProxyFetch(k, c.namespace, lb!.port) : undefined;
  const o = { ...(fetch ? { fetch } : {}) };
  const edge = { ...o, required: !sandbox };
  const url = new URL(apiUrl);
  const tls: Check = sandbox || url.protocol !== "https:"
    ? skip(
      "TLS certificate",
      sandbox
        ? "the sandbox's load balancer serves no TLS (its tls-certificates Secret is checked in pre-flight)"
        : `${apiUrl} is not https`,
    )
    : tlsCertificate(url.hostname, { port: Number(url.port || 443), minValidDays: 30 });
  return [
    serviceHealth(`${base}/health`, { ...o, name: "API health endpoint", maxLatencyMs: 2_000 }),
    httpEndpoint(`${base}/health`, { ...o, name: "API response time", maxLatencyMs: 2_000 }),
    httpEndpoint(`${base}/api/v1/user`, {
      ...edge,
      name: "API authentication",
      headers: { authorization: "Bearer test-token" },
      expectStatus: [401, 403],
    }),
    rateLimitHeaders(`${base}/api/v1/health`, edge),
    securityHeaders(`${base}/health`, { ...edge, name: "Security headers at the edge" }),
    noSensitiveData(`${base}/health`, { ...o, name: "No sensitive data exposure" }),
    tls,
  ];
}
