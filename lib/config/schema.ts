/**
 * The schema of an environment file (`environments/<name>.yml`).
 * @module
 */
import { z } from "zod";
import {
  boolean,
  byteSize,
  count,
  dnsLabel,
  dnsSubdomain,
  duration,
  hostname,
  httpUrl,
  integer,
  mapping,
  oneOf,
  pattern,
  percentage,
  port,
  quantity,
  rate,
  secretRef,
  SENSITIVE_SCHEMAS,
  text,
} from "./_schema_parts.ts";
import { parseQuantity } from "./quantity.ts";
import { ENVIRONMENT_LIMITS } from "./limits.ts";
import type { Duration } from "./duration.ts";
import type { EnvironmentConfig, SigningKeyRef } from "./types.ts";
import { imageSigningSchema } from "./_image_signing.ts";

export type { Environment, EnvironmentConfig } from "./types.ts";

/** Every check runs even when a sibling field failed, so all problems are reported at once. */
const ALWAYS = { when: () => true };

const resourceSpec = mapping({ cpu: quantity("cpu"), memory: quantity("memory") });

const resources = mapping({ limits: resourceSpec, requests: resourceSpec }).superRefine(
  (value, ctx) => {
    for (const kind of ["cpu", "memory"] as const) {
      const limit = parseQuantity(String(value.limits?.[kind]));
      const request = parseQuantity(String(value.requests?.[kind]));
      if (limit !== undefined && request !== undefined && request > limit) {
        ctx.addIssue({
          code: "custom",
          path: ["requests", kind],
          message: `expected at most limits.${kind} (${value.limits[kind]})`,
        });
      }
    }
  },
  ALWAYS,
);

const POOL_WHY = "the largest connection pool one service may have";
const connectionPool = mapping({
  min_size: count(0, ENVIRONMENT_LIMITS.connectionPoolSize, POOL_WHY),
  max_size: count(1, ENVIRONMENT_LIMITS.connectionPoolSize, POOL_WHY),
}).superRefine(
  (value, ctx) => {
    const { min_size: min, max_size: max } = value;
    const valid = Number.isInteger(min) && Number.isInteger(max) && min >= 0 && max >= 1;
    if (valid && max < min) {
      ctx.addIssue({
        code: "custom",
        path: ["max_size"],
        message: `expected an integer >= min_size (${min})`,
      });
    }
  },
  ALWAYS,
);

const replicas = z.record(
  dnsLabel("a service name"),
  count(0, ENVIRONMENT_LIMITS.replicasPerService, "the most replicas one service may have"),
  { error: "expected a mapping of service name to replica count" },
).refine((value) => Object.keys(value).length > 0, {
  error: "expected at least one service",
}).refine((value) => Object.keys(value).length <= ENVIRONMENT_LIMITS.services, {
  error: `expected at most ${ENVIRONMENT_LIMITS.services} services`,
});

const SEVERITY = oneOf(["critical", "error", "warning", "info"]);
const pagerDutySeverities = mapping({
  started: SEVERITY.optional(),
  succeeded: SEVERITY.optional(),
  failed: SEVERITY.optional(),
  rolled_back: SEVERITY.optional(),
  paused: SEVERITY.optional(),
  info: SEVERITY.optional(),
});

const SECRET_KIND = "expected exactly one of credentials, keys or tls";
const namespaceSecrets = z.record(
  dnsSubdomain("a Secret name"),
  mapping({
    credentials: oneOf(["database", "redis"]).optional(),
    keys: z.array(pattern(/^[-._a-zA-Z0-9]{1,253}$/, 'a Secret key like "api-key"'), {
      error: "expected a list of key names",
    }).min(1, { error: "expected at least one key" }).optional(),
    tls: hostname().optional(),
  }).refine(
    (value) =>
      [value.credentials, value.keys, value.tls].filter((v) => v !== undefined).length === 1,
    { error: SECRET_KIND },
  ),
  { error: "expected a mapping of Secret name to { credentials | keys | tls }" },
);

const latency = mapping({ median: duration(), p95: duration() }).superRefine((value, ctx) => {
  const { median, p95 } = value;
  if (median?.ms > 0 && p95?.ms > 0 && !(p95.ms > median.ms)) {
    ctx.addIssue({
      code: "custom",
      path: ["p95"],
      message: `expected a duration above median (${median.text})`,
    });
  }
}, ALWAYS);

const traffic = z.record(
  dnsLabel("a service name"),
  mapping({
    requests_per_second: rate(
      ENVIRONMENT_LIMITS.requestsPerSecond,
      "the most requests per second one service may expect",
    ),
    latency: latency.optional(),
    error_rate: percentage().optional(),
  }),
  { error: "expected a mapping of service name to { requests_per_second, latency, error_rate }" },
);

// An Ed25519 public key as `deno task keygen` prints it: the base64 of its SPKI (DER): a fixed
// 12-byte header (the Ed25519 algorithm identifier) and the 32-byte key.
const ED25519_SPKI_HEADER = "302a300506032b6570032100";
const KEY_HINT = "an Ed25519 public key: the one base64 line deno task keygen prints";

function isEd25519PublicKey(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value.trim())) return false;
  try {
    const bytes = Uint8Array.from(atob(value.trim()), (c) => c.charCodeAt(0));
    const header = Array.from(bytes.subarray(0, 12), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    return bytes.length === 44 && header === ED25519_SPKI_HEADER;
  } catch {
    return false;
  }
}

const approver = mapping({
  name: text("the approver's name"),
  email: pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an e-mail address like "ada@example.com"'),
  github: pattern(/^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$/, 'a GitHub login like "octocat"')
    .optional(),
  public_key: z.string({ error: `expected ${KEY_HINT}` }).refine(isEd25519PublicKey, {
    error: `expected ${KEY_HINT}`,
  }),
});

const DAY: Duration = { ms: 86_400_000, text: "24h" };
const approvals = mapping({
  required: integer(0, 10),
  approvers: z.array(approver, { error: "expected a list of approvers" }).default([]),
  valid_for: duration().default(DAY),
}).superRefine((value, ctx) => {
  const list = Array.isArray(value.approvers) ? value.approvers : [];
  const seen = new Map<string, number>();
  list.forEach((a, i) => {
    const email = typeof a?.email === "string" ? a.email.toLowerCase() : undefined;
    if (email === undefined) return;
    const first = seen.get(email);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["approvers", i, "email"],
        message: `expected each approver once: ${a.email} is also approvers[${first}]`,
      });
    } else seen.set(email, i);
  });
  if (Number.isInteger(value.required) && value.required > list.length) {
    ctx.addIssue({
      code: "custom",
      path: ["required"],
      message: `expected at most the number of approvers listed (${list.length}): add ` +
        `approvers (deno task keygen makes a key) or lower required`,
    });
  }
}, ALWAYS);

// Where a run's signing key (an Ed25519 private key, PKCS#8 PEM as deno task keygen writes)
// lives: a secret reference, or `{ from_file: path }` (a mounted secret, a CI key file).
const KEY_EXPECTED = "expected where the signing key lives: { from_env: NAME }, " +
  "{ secret_key_ref: { name: SECRET, key: KEY } } or { from_file: PATH }";
const SECRET_OR_FILE = secretRef();
const keyFile = mapping({ from_file: text("a path to the signing key's PEM file") });

/**
 * The schema of `deployment.audit.signing_key`: a secret reference or `{ from_file }`; like
 * every secret, its input is never echoed in an error (and JSON Schema describes it apart).
 *
 * @example
 * ```ts
 * import { signingKeySchema } from "./schema.ts";
 * console.assert(signingKeySchema.safeParse({ from_file: "keys/run.pem" }).success);
 * console.assert(!signingKeySchema.safeParse("-----BEGIN PRIVATE KEY-----").success);
 * ```
 */
export const signingKeySchema: z.ZodType<SigningKeyRef, unknown> = z.custom<
  Record<string, unknown>
>((v) => typeof v === "object" && v !== null && !Array.isArray(v), {
  error: (issue) =>
    typeof issue.input === "string"
      ? `${KEY_EXPECTED}, got a plain string (value not shown): never write a key in an ` +
        "environment file"
      : KEY_EXPECTED,
}).transform((value, ctx): SigningKeyRef => {
  const keys = Object.keys(value);
  const parsed = keys.length === 1 && keys[0] === "from_file"
    ? keyFile.safeParse(value)
    : SECRET_OR_FILE.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({
      code: "custom",
      path: issue.path as PropertyKey[],
      message: issue.message === "expected a mapping" ? KEY_EXPECTED : issue.message,
    });
  }
  return z.NEVER;
});
SENSITIVE_SCHEMAS.add(signingKeySchema);

const audit = mapping({
  signing_key: signingKeySchema.optional().describe(
    "where the key that signs each run lives (an Ed25519 PKCS#8 PEM, as deno task keygen " +
      "writes); --signing-key <file> overrides it, a sandbox run signs with the sandbox's own",
  ),
  public_keys: z.array(
    z.string({ error: `expected ${KEY_HINT}` }).refine(isEd25519PublicKey, {
      error: `expected ${KEY_HINT}`,
    }),
    { error: "expected a list of public keys" },
  ).default([]).describe("the public keys a run's signature.json is trusted from"),
  require_signature: boolean().optional().describe(
    "whether verifying an unsigned run fails (default: true in production, false elsewhere)",
  ),
});

const schema = mapping({
  environment: mapping({
    name: pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment name like "staging"'),
    cluster: text("a cluster name"),
    namespace: dnsLabel("a Kubernetes namespace"),
    api_url: httpUrl().optional(),
    dns_server: pattern(
      /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(:\d{1,5})?$/,
      'an IPv4 address with an optional port, like "10.0.0.2" or "10.0.0.2:53"',
    ).optional(),
  }),
  infrastructure: mapping({
    replicas,
    resources,
    database: mapping({
      instance_type: text('an instance type like "db.t3.micro"'),
      storage: byteSize(),
      backup_retention: duration(),
      read_replicas: integer(0, 15).default(0),
      multi_az: boolean().default(false),
    }),
    monitoring: mapping({
      enabled: boolean(),
      log_level: oneOf(["DEBUG", "INFO", "WARN", "ERROR"]),
      metrics_retention: duration(),
    }),
  }),
  database: mapping({
    host: hostname(),
    port: port(),
    database: pattern(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "a PostgreSQL database name"),
    user: pattern(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "a PostgreSQL user name"),
    password: secretRef(),
    connection_pool: connectionPool,
    ssl_mode: oneOf(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
      .default("prefer"),
  }),
  redis: mapping({
    host: hostname(),
    port: port(),
    database: integer(0, 15),
    password: secretRef().optional(),
    cluster_mode: boolean().default(false),
    ssl: boolean().default(false),
  }),
  external_services: mapping({
    api_rate_limit: integer(1),
    webhook_timeout: duration(),
    cdn_enabled: boolean().default(false),
    health_url: httpUrl().optional(),
  }),
  deployment: mapping({
    strategy: oneOf(["blue-green", "canary", "rolling"]),
    image_registry: pattern(
      /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$/,
      'an image registry like "ghcr.io/acme"',
    ),
    health_check: mapping({
      retries: integer(1, 100),
      interval: duration(),
      timeout: duration(),
    }),
    rollout_deadline: duration(),
    rollback_window: duration(),
    // What a failed deploy does with the slot it leaves. Traffic always goes back to what
    // was live before the run (gates fail closed; the runbook's non-production handler left
    // users on the failed version, which also leaves a run unfinished). true (production):
    // the failed slot is then scaled to 0 replicas. false (development, staging): it is kept
    // running for debugging, marked for clean-up after rollback_window.
    rollback_on_failure: boolean().default(true).describe(
      "after a failed deploy traffic always returns to the previous version; true: the failed " +
        "slot is then scaled to 0 replicas; false: it is kept running for debugging until " +
        "rollback_window passes (then deno task cleanup scales it down)",
    ),
    require_confirmation: boolean().default(false),
    // Who must approve a deploy (signed approvals of its plan: deno task approve).
    approvals: approvals.optional(),
    promote_from: mapping({
      environment: pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment name like "staging"'),
      namespace: dnsLabel("a Kubernetes namespace"),
    }).optional(),
    // Signed runs: the key runs are signed with, the keys their signatures verify against.
    audit: audit.optional(),
    // The keys a deployed image's signature must verify with (production's pre-flight).
    image_signing: imageSigningSchema.optional(),
  }),
  backup: mapping({
    cronjob: dnsSubdomain("a CronJob name"),
    verification_cronjob: dnsSubdomain("a CronJob name").optional(),
    max_age: duration(),
  }).optional(),
  monitoring: mapping({
    prometheus_url: httpUrl(),
    grafana_url: httpUrl(),
    alertmanager_url: httpUrl(),
  }),
  notifications: mapping({
    slack: mapping({
      webhook_url: secretRef(),
      channel: pattern(/^#[a-z0-9_-]{1,80}$/, 'a Slack channel like "#deployments"').optional(),
    }).optional(),
    pagerduty: mapping({
      routing_key: secretRef(),
      severity: pagerDutySeverities.optional(),
    }).optional(),
  }),
  github: mapping({
    repository: pattern(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'a repository like "owner/name"'),
    token: secretRef(),
  }),
  kubernetes: mapping({
    context: text("a kubeconfig context name").optional(),
    kubeconfig: text("a path to a kubeconfig file").optional(),
    secrets: namespaceSecrets.optional(),
    service_account: dnsSubdomain("a ServiceAccount name").optional(),
    network_policies: z.record(
      dnsSubdomain("a NetworkPolicy name"),
      oneOf(["deny", "same-namespace"]),
      { error: 'expected a mapping of NetworkPolicy name to "deny" or "same-namespace"' },
    ).optional(),
    load_balancer: mapping({
      name: dnsLabel("a Service name"),
      port: port().default(80),
      target_port: port(),
    }).optional(),
  }).optional(),
  traffic: traffic.optional(),
}).superRefine((value, ctx) => {
  const mappingOf = (v: unknown) => (typeof v === "object" && v !== null ? v : {});
  const services = Object.keys(mappingOf(value.infrastructure?.replicas));
  if (services.length === 0) return;
  for (const name of Object.keys(mappingOf(value.traffic))) {
    if (services.includes(name)) continue;
    ctx.addIssue({
      code: "custom",
      path: ["traffic", name],
      message: `expected a service of infrastructure.replicas (${services.join(", ")})`,
    });
  }
}, ALWAYS);

/**
 * The zod schema of an environment file. Strict: unknown keys are errors (with a
 * "did you mean"), durations parse to {@linkcode Duration}s, secrets must be
 * {@linkcode SecretRef}s (never values), Kubernetes quantities are checked and kept as
 * written, counts are bounded ({@linkcode ENVIRONMENT_LIMITS}: at most 1000 replicas per
 * service, 100 services, pools of 1000), and cross-field rules hold (`min_size <=
 * max_size`, requests <= limits, `traffic` names services of `infrastructure.replicas`).
 *
 * @example
 * ```ts
 * import { environmentSchema } from "./schema.ts";
 * import assert from "node:assert/strict";
 * const result = environmentSchema.safeParse({ environment: { name: "dev" } });
 * assert.equal(result.success, false);
 * ```
 */
export const environmentSchema: z.ZodType<EnvironmentConfig> = schema;

// Fails to compile when the schema's output and the documented interface drift apart.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
const _inSync: Same<z.output<typeof schema>, EnvironmentConfig> = true;
void _inSync;
