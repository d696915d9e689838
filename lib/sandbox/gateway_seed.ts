/**
 * What a seed says of a namespace's public endpoint, and what the sandbox makes of it: a
 * Gateway API `Gateway` with one HTTPS listener for the public host, its certificate from the
 * namespace's TLS Secret (`certificateRefs`), in front of the load balancer Service; the API
 * keys' Secrets and the rate limit its edge applies (annotations, as gateway implementations
 * take their policies); and the certificate authority that signs the seeded TLS Secrets,
 * published in each namespace's `sandbox-ca` ConfigMap (`ca.crt`) for clients to trust.
 * @module
 */
import { SANDBOX_API_GROUP } from "../product/mod.ts";
import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import {
  type CertificateAndKey,
  certificateAuthority,
  type LeafCertificateRequest,
  signedCertificate,
} from "./certificate.ts";

/** A namespace's public endpoint, as the sandbox's gateway serves it. */
export interface GatewaySeed {
  /** The Gateway's name (what the HTTPRoutes' `parentRefs` name). */
  readonly name: string;
  /** The public host its HTTPS listener serves (the certificate must name it). */
  readonly hostname: string;
  /** The `kubernetes.io/tls` Secret of the listener's certificate (`certificateRefs`). */
  readonly tlsSecret: string;
  /** The Service the gateway sends requests to (the namespace's load balancer). */
  readonly service: string;
  /** The Secrets whose values are the API keys `/api/` requests must present. */
  readonly apiKeySecrets?: readonly string[];
  /** Requests per client per minute (default 1 000). */
  readonly rateLimit?: number;
}

/** Annotations of a sandbox Gateway: the edge's policy. */
export const GATEWAY_ANNOTATIONS = Object.freeze({
  service: `${SANDBOX_API_GROUP}/service`,
  apiKeySecrets: `${SANDBOX_API_GROUP}/api-key-secrets`,
  rateLimit: `${SANDBOX_API_GROUP}/rate-limit`,
});

/** The ConfigMap of each seeded namespace that holds the sandbox CA's certificate (`ca.crt`). */
export const SANDBOX_CA_CONFIGMAP = "sandbox-ca";

/** The `gatewayClassName` of the sandbox's Gateways. */
export const GATEWAY_CLASS = "sandbox";

/**
 * The Gateway API's `Gateway` type: the one the sandbox serves, or (until `resources.ts`
 * lists it) the same type known only inside the sandbox process.
 */
export const GATEWAYS: ResourceType = findResource("gateway.networking.k8s.io", "v1", "gateways") ??
  {
    group: "gateway.networking.k8s.io",
    version: "v1",
    kind: "Gateway",
    plural: "gateways",
    singular: "gateway",
    namespaced: true,
    shortNames: ["gtw"],
    generation: true,
    subresources: ["status"],
    custom: true,
    readOnly: false,
    categories: ["gateway-api"],
  };

/**
 * Checks a namespace's gateway seed.
 *
 * @param seed The gateway seed.
 * @param where Where it is, for the message (e.g. `namespace "shop-prod"`).
 * @throws {RangeError} For a bad host, rate limit or empty name.
 *
 * @example
 * ```ts
 * import { checkGatewaySeed } from "./gateway_seed.ts";
 * import assert from "node:assert/strict";
 * const ok = { name: "shop", hostname: "api.shop.example", tlsSecret: "tls", service: "lb" };
 * checkGatewaySeed(ok, "namespace shop");
 * assert.throws(() => checkGatewaySeed({ ...ok, rateLimit: 0 }, "namespace shop"), RangeError);
 * ```
 */
export function checkGatewaySeed(seed: GatewaySeed, where: string): void {
  const fail = (what: string) => {
    throw new RangeError(`Cannot seed ${where}: its gateway ${what}`);
  };
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(seed.name)) fail(`name "${seed.name}" is not valid`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(seed.hostname)) {
    fail(`host "${seed.hostname}" is not a DNS name`);
  }
  if (!seed.tlsSecret || !seed.service) fail("needs a TLS Secret and a Service");
  const limit = seed.rateLimit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    fail(`rate limit ${limit} is not a whole number of requests of 1 or more`);
  }
}

/**
 * The Gateway object a seed asks for: one HTTPS listener (port 443 until the sandbox binds it)
 * for the host, terminating TLS with the Secret's certificate.
 *
 * @param namespace The namespace.
 * @param seed The gateway seed.
 * @param labels Labels for it (the namespace seed's).
 * @returns The object, to create.
 *
 * @example
 * ```ts
 * import { gatewayManifest } from "./gateway_seed.ts";
 * import assert from "node:assert/strict";
 * const gw = gatewayManifest("shop", { name: "shop", hostname: "api.shop.example", tlsSecret: "tls", service: "lb" }, {});
 * assert.equal((gw.spec as { listeners: { protocol: string }[] }).listeners[0]!.protocol, "HTTPS");
 * ```
 */
export function gatewayManifest(
  namespace: string,
  seed: GatewaySeed,
  labels: Readonly<Record<string, string>>,
): KObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: {
      name: seed.name,
      namespace,
      ...(Object.keys(labels).length ? { labels: { ...labels } } : {}),
      annotations: {
        [GATEWAY_ANNOTATIONS.service]: seed.service,
        [GATEWAY_ANNOTATIONS.apiKeySecrets]: (seed.apiKeySecrets ?? []).join(","),
        ...(seed.rateLimit ? { [GATEWAY_ANNOTATIONS.rateLimit]: String(seed.rateLimit) } : {}),
      },
    },
    spec: {
      gatewayClassName: GATEWAY_CLASS,
      listeners: [{
        name: "https",
        protocol: "HTTPS",
        port: 443,
        hostname: seed.hostname,
        tls: {
          mode: "Terminate",
          certificateRefs: [{ group: "", kind: "Secret", name: seed.tlsSecret }],
        },
        allowedRoutes: { namespaces: { from: "Same" } },
      }],
    },
  };
}

/**
 * The certificates of one seeding: a CA made on first use, and leaf certificates it signs,
 * one per set of names; `publish` writes the CA's certificate in a namespace's
 * {@linkcode SANDBOX_CA_CONFIGMAP}.
 *
 * @returns `certificate(request)` and `publish(api, namespace)`.
 *
 * @example
 * ```ts ignore
 * import { seedCertificates } from "./gateway_seed.ts";
 * const certs = seedCertificates();
 * const { cert } = await certs.certificate({ commonName: "shop.local", dnsNames: ["api.shop.example"] });
 * await certs.publish(api, "shop");
 * ```
 */
export function seedCertificates() {
  let ca: Promise<CertificateAndKey> | undefined;
  const authority = () => ca ??= certificateAuthority("Sandbox Gateway CA");
  const leaves = new Map<string, Promise<CertificateAndKey>>();
  return {
    certificate(request: LeafCertificateRequest): Promise<CertificateAndKey> {
      const key = JSON.stringify([request.commonName, [...(request.dnsNames ?? [])].sort()]);
      let made = leaves.get(key);
      if (!made) leaves.set(key, made = authority().then((c) => signedCertificate(c, request)));
      return made;
    },
    async publish(api: Api, namespace: string): Promise<void> {
      if (!ca) return;
      const configMaps = findResource("", "v1", "configmaps") as ResourceType;
      api.create(configMaps, namespace, {
        metadata: { name: SANDBOX_CA_CONFIGMAP },
        data: { "ca.crt": (await ca).cert },
      }, { manager: "sandbox-seed" });
    },
  };
}
