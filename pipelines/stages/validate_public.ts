/**
 * Post-deployment validation of the public endpoint (`environment.api_url`): the runbook's
 * "API functionality", "Performance" and "Security" checks, and in the sandbox how its
 * gateway is reached in place of the public address: its HTTP checks through the API
 * server's proxy to the load balancer (the gateway's edge is in front of it), its TLS check
 * at the address and port the namespace's Gateway publishes, verified for the public host.
 * @module
 */
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import { serviceHealth } from "../../checks/service.ts";
import { noSensitiveData, securityHeaders } from "../../checks/security.ts";
import { httpEndpoint, rateLimitHeaders } from "../../checks/http_endpoint.ts";
import { tlsCertificate } from "../../checks/tls.ts";
import { GATEWAY_PORT, gatewayAddress } from "../../lib/sandbox/gateway_address.ts";
import { fail as failOutcome } from "../../checks/_outcome.ts";
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

const GATEWAY = { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" };
type JsonMap = Record<string, unknown>;

/** Where the namespace's Gateway serves `host` over HTTPS, or why it does not. */
async function gatewayListener(
  k: KubernetesCapability,
  namespace: string,
  gateway: string,
  host: string,
): Promise<{ address: string; port: number } | { skipped: string } | { failed: string }> {
  if (await k.namespaced(GATEWAY) === undefined) {
    return { skipped: "the cluster serves no Gateway API Gateways (gateway.networking.k8s.io/v1)" };
  }
  const found = await k.get(GATEWAY, namespace, gateway);
  const where = `Gateway ${namespace}/${gateway}`;
  if (!found) return { failed: `there is no ${where} to serve ${host} over TLS` };
  const listeners = ((found.spec as JsonMap | undefined)?.listeners ?? []) as JsonMap[];
  const listener = listeners.find((l) =>
    l.protocol === "HTTPS" && (l.hostname === undefined || l.hostname === host)
  );
  if (!listener) return { failed: `${where} has no HTTPS listener for ${host}` };
  const status = (found.status ?? {}) as JsonMap;
  const listed = ((status.listeners ?? []) as JsonMap[]).find((l) => l.name === listener.name);
  const programmed = ((listed?.conditions ?? []) as JsonMap[]).find((c) => c.type === "Programmed");
  const address = ((status.addresses ?? []) as JsonMap[])[0]?.value;
  if (programmed?.status !== "True" || typeof address !== "string") {
    const why = programmed?.message ? `: ${programmed.message}` : "";
    return { failed: `${where}'s listener ${listener.name} is not programmed${why}` };
  }
  return { address, port: Number(listener.port) };
}

/**
 * In the sandbox: the TLS check at the address the namespace's Gateway publishes, verifying
 * the certificate for the public host (SNI and name), trusting the sandbox's CA (its
 * `sandbox-ca` ConfigMap), 30 days.
 */
function sandboxTls(c: DeployContext, k: KubernetesCapability, host: string): Check {
  const name = "TLS certificate";
  const gateway = c.target.gateway?.name ?? c.target.app;
  return {
    name,
    required: true,
    run: async (ctx) => {
      const at = await gatewayListener(k, c.namespace, gateway, host);
      if ("skipped" in at) return skipOutcome(at.skipped);
      if ("failed" in at) return failOutcome(`${at.failed}: the public endpoint serves no TLS`);
      const net = await Deno.permissions.query({ name: "net", host: `${at.address}:${at.port}` });
      if (net.state !== "granted") {
        return skipOutcome(
          `this stage may not connect to the gateway at ${at.address}:${at.port}: grant ` +
            "publicEndpointHosts(c) in its permissions({ net })",
        );
      }
      const ca = (await k.get({ apiVersion: "v1", kind: "ConfigMap" }, c.namespace, "sandbox-ca"))
        ?.data as Record<string, string> | undefined;
      const outcome = await tlsCertificate(at.address, {
        name,
        port: at.port,
        servername: host,
        minValidDays: 30,
        ...(ca?.["ca.crt"] ? { ca: ca["ca.crt"] } : {}),
      }).run(ctx);
      return {
        ...outcome,
        evidence: { ...outcome.evidence, gateway: `${c.namespace}/${gateway}` },
      };
    },
  };
}

/**
 * The hosts the public endpoint's checks connect to, for the stage's network grant: the
 * `api_url`'s `host:port`; in the sandbox its gateway's listener (the namespace's gateway
 * address in the run's `companion-scope`, {@linkcode GATEWAY_PORT}).
 *
 * @param c The deploy's context.
 * @returns The `net` entries (none without an `api_url`).
 *
 * @example
 * ```ts ignore
 * stage("validate").permissions({ net: [...publicEndpointHosts(c)] });
 * ```
 */
export function publicEndpointHosts(c: DeployContext): string[] {
  const api = c.env.environment.api_url;
  if (!api) return [];
  if (c.sandbox) {
    return c.env.kubernetes?.load_balancer
      ? [`${gatewayAddress(c.namespace, c.companionScope)}:${GATEWAY_PORT}`]
      : [];
  }
  const url = new URL(api);
  return [`${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`];
}

/**
 * The seed's "API functionality", "Performance" and "Security" validations on the public
 * endpoint (`environment.api_url`): health, response time < 2 s, a bad token refused,
 * rate-limit headers, TLS certificate (30 days), security headers, no secrets in /health. In
 * the sandbox the load balancer Service stands for it, reached through the API server's proxy
 * and the gateway's edge in front of it (authentication, rate limit, security headers: all
 * required, as elsewhere), and the TLS check dials the Gateway's published listener.
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
  const url = new URL(apiUrl);
  const tls: Check = url.protocol !== "https:"
    ? skip("TLS certificate", `${apiUrl} is not https`)
    : sandbox
    ? sandboxTls(c, k, url.hostname)
    : tlsCertificate(url.hostname, { port: Number(url.port || 443), minValidDays: 30 });
  return [
    serviceHealth(`${base}/health`, { ...o, name: "API health endpoint", maxLatencyMs: 2_000 }),
    httpEndpoint(`${base}/health`, { ...o, name: "API response time", maxLatencyMs: 2_000 }),
    httpEndpoint(`${base}/api/v1/user`, {
      ...o,
      name: "API authentication",
      headers: { authorization: "Bearer test-token" },
      expectStatus: [401, 403],
    }),
    rateLimitHeaders(`${base}/api/v1/health`, o),
    securityHeaders(`${base}/health`, { ...o, name: "Security headers at the edge" }),
    noSensitiveData(`${base}/health`, { ...o, name: "No sensitive data exposure" }),
    tls,
  ];
}
