/**
 * The typed shape of an environment file after validation.
 * @module
 */
import type { Duration } from "./duration.ts";
import type { SecretRef } from "./secret_ref.ts";

/** CPU and memory as Kubernetes quantities, kept as written (e.g. `"500m"`, `"2Gi"`). */
export interface ResourceQuantities {
  /** CPU quantity, e.g. `"500m"`. */
  cpu: string;
  /** Memory quantity, e.g. `"512Mi"`. */
  memory: string;
}

/** `environment:` — where the environment lives. */
export interface EnvironmentSection {
  /** The environment's name; equals the file's base name. */
  name: string;
  /** The cluster name, e.g. `"prod-cluster"`. */
  cluster: string;
  /** The Kubernetes namespace, for example `"shop-prod"`. */
  namespace: string;
  /**
   * The public API's base URL, e.g. `"https://api.tracktion.com"`: what the post-deploy
   * validations call (health, authentication, rate limits, TLS, security headers).
   */
  api_url?: string | undefined;
  /**
   * The resolver the environment's names are looked up at (`<ip>[:port]`, port 53), e.g. a
   * VPC's `10.0.0.2`: the pre-flight's DNS checks ask it (a stage's grant names the address).
   */
  dns_server?: string | undefined;
}

/** `infrastructure:` — capacity of the services and managed infrastructure. */
export interface InfrastructureSection {
  /**
   * Replicas per service; the services are exactly these keys. Each count is 0 to 1000 and
   * there are at most 100 services (`ENVIRONMENT_LIMITS`).
   */
  replicas: Record<string, number>;
  /** Per-container resource limits and requests (requests never exceed limits). */
  resources: { limits: ResourceQuantities; requests: ResourceQuantities };
  /** The managed database instance. */
  database: {
    /** Instance type, e.g. `"db.t3.micro"`. */
    instance_type: string;
    /** Storage size as written, e.g. `"20GB"`. */
    storage: string;
    /** How long backups are kept. */
    backup_retention: Duration;
    /** Read replicas (default 0). */
    read_replicas: number;
    /** Multi-availability-zone deployment (default false). */
    multi_az: boolean;
  };
  /** Application logging and metrics retention. */
  monitoring: {
    /** Whether monitoring is enabled. */
    enabled: boolean;
    /** Log level of the services. */
    log_level: "DEBUG" | "INFO" | "WARN" | "ERROR";
    /** How long metrics are kept. */
    metrics_retention: Duration;
  };
}

/** `database:` — how the services (and migrations) reach PostgreSQL. */
export interface DatabaseSection {
  /** Host name. */
  host: string;
  /** Port, 1-65535. */
  port: number;
  /** Database name. */
  database: string;
  /** User name. */
  user: string;
  /** Where the password lives. */
  password: SecretRef;
  /** Connection pool bounds (`min_size <= max_size`, both at most 1000: `ENVIRONMENT_LIMITS`). */
  connection_pool: { min_size: number; max_size: number };
  /** libpq `sslmode` (default `"prefer"`). */
  ssl_mode: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
}

/** `redis:` — the Redis the services use. */
export interface RedisSection {
  /** Host name. */
  host: string;
  /** Port, 1-65535. */
  port: number;
  /** Database index, 0-15. */
  database: number;
  /** Where the password lives, when Redis requires one. */
  password?: SecretRef | undefined;
  /** Redis Cluster mode (default false). */
  cluster_mode: boolean;
  /** TLS (default false). */
  ssl: boolean;
}

/** `deployment:` — how a release is rolled out and rolled back. */
export interface DeploymentSection {
  /** Rollout strategy. */
  strategy: "blue-green" | "canary" | "rolling";
  /** Image registry prefix; images are `<image_registry>/<service>:<version>`. */
  image_registry: string;
  /** Health checks after a rollout: attempts, pause between attempts, per-attempt timeout. */
  health_check: { retries: number; interval: Duration; timeout: Duration };
  /** How long a rollout may take before it counts as failed. */
  rollout_deadline: Duration;
  /** How long the previous version is kept for a quick rollback. */
  rollback_window: Duration;
  /**
   * What a failed deploy does with the slot it leaves (default true). Traffic always goes
   * back to the version live before the run; true: the failed slot is then scaled to 0
   * replicas (its pods stop); false: it is kept running for debugging, marked for clean-up
   * after `rollback_window`.
   */
  rollback_on_failure: boolean;
  /** Require a typed confirmation before deploying (default false). */
  require_confirmation: boolean;
  /**
   * Who must approve a deploy: signed approvals of its plan (`deno task approve`). Absent:
   * none required.
   */
  approvals?: ApprovalsSection | undefined;
  /**
   * The environment a version must have succeeded in first (production: staging), and its
   * namespace, where its deployment record and test Jobs are read.
   */
  promote_from?: { environment: string; namespace: string } | undefined;
  /**
   * Signed runs: where the key that signs each run's final state lives, the public keys a
   * run's signature must verify against, and whether an unsigned run fails verification.
   * Absent: runs are signed only with `--signing-key` (or the sandbox's own key), and
   * verification requires a signature in production only.
   */
  audit?: AuditSection | undefined;
  /**
   * The public keys (ECDSA P-256, PEM) a deployed image's cosign signature must verify with
   * (any of them): production's pre-flight checks the digest it deploys with them. Absent:
   * production's pre-flight refuses (it has nothing to verify with).
   */
  image_signing?: { public_keys: string[] } | undefined;
}

/** A file holding a secret (`{ from_file: path }`, relative to the working directory). */
export interface FromFileRef {
  /** The file's path, e.g. `"/run/secrets/tracktion-signing-key.pem"`. */
  from_file: string;
}

/**
 * Where a run's signing key lives: a {@linkcode SecretRef} (an environment variable or a
 * key of a Kubernetes Secret holding the PEM), or a file.
 */
export type SigningKeyRef = SecretRef | FromFileRef;

/**
 * `deployment.audit:` — signed runs. At its end a run signs a statement of its final state
 * (`<run>/signature.json`, a DSSE envelope, Ed25519); `deno task report verify` checks it.
 */
export interface AuditSection {
  /**
   * The signing key: an Ed25519 private key, PKCS#8 PEM (`deno task keygen` writes one).
   * `--signing-key <file>` overrides it; a sandbox run signs with the sandbox's own key.
   */
  signing_key?: SigningKeyRef | undefined;
  /**
   * The public keys a run's signature is trusted from (one base64 SPKI line each, as
   * `deno task keygen` prints), default none.
   */
  public_keys: string[];
  /**
   * Whether a run without a signature fails verification (default: true in the environment
   * named `production`, false elsewhere).
   */
  require_signature?: boolean | undefined;
}

/** One person who may approve a deploy (`deployment.approvals.approvers[]`). */
export interface ApproverEntry {
  /** Their name. */
  name: string;
  /** Their e-mail (each approver once; the deployer's identity is compared with it). */
  email: string;
  /** Their GitHub login, for the GitHub channel. */
  github?: string | undefined;
  /** Their Ed25519 public key: the one base64 line `deno task keygen` prints. */
  public_key: string;
}

/**
 * `deployment.approvals:` — how many distinct approvers must sign a deploy's plan
 * (production: 2; at most as many as are listed), who may, and how long a signature stays
 * valid (default 24h).
 */
export interface ApprovalsSection {
  /** How many distinct approvers must approve (0: none). */
  required: number;
  /** Who may approve (default none). */
  approvers: ApproverEntry[];
  /** How long an approval stays valid (default 24h). */
  valid_for: Duration;
}

/**
 * `backup:` — the database backups the pre-flight checks: the CronJob that makes them (its
 * Jobs, labelled `type=backup`, are the backup history), the one that verifies them (Jobs
 * labelled `type=backup-verification`), and how old the newest may be.
 */
export interface BackupSection {
  /** The backup CronJob's name, e.g. `"database-backup"`. */
  cronjob: string;
  /** The verification CronJob's name, e.g. `"backup-verification"`. */
  verification_cronjob?: string | undefined;
  /** The newest successful backup (and verification) must be younger than this. */
  max_age: Duration;
}

/** A PagerDuty severity. */
export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

/**
 * `notifications.pagerduty.severity:` — the severity of each outcome's event. Unset outcomes
 * keep the defaults: `failed` and `rolled_back` are `error`, `paused` is `warning`, the rest
 * `info` (e.g. production says `failed: critical`).
 */
export interface PagerDutySeverities {
  /** A run started. */
  started?: PagerDutySeverity | undefined;
  /** A run succeeded. */
  succeeded?: PagerDutySeverity | undefined;
  /** A run failed. */
  failed?: PagerDutySeverity | undefined;
  /** A run failed and was rolled back. */
  rolled_back?: PagerDutySeverity | undefined;
  /** A run paused for a decision. */
  paused?: PagerDutySeverity | undefined;
  /** Anything else worth telling. */
  info?: PagerDutySeverity | undefined;
}

/**
 * One Secret the namespace holds before a deploy (`kubernetes.secrets.<name>`): exactly one
 * of `credentials`, `keys` or `tls`. Preflight can check it; the sandbox creates it with
 * generated values.
 */
export interface NamespaceSecret {
  /**
   * The credentials of this file's `database:` (keys `host`, `port`, `username`,
   * `password`, `database`) or `redis:` (keys `host`, `port`, `password`).
   */
  credentials?: "database" | "redis" | undefined;
  /** Other keys (e.g. API keys), given random values in the sandbox. */
  keys?: string[] | undefined;
  /** A `kubernetes.io/tls` Secret for this common name (`tls.crt`, `tls.key`). */
  tls?: string | undefined;
}

/** `kubernetes:` — how to reach the cluster, and what the namespace holds before a deploy. */
export interface KubernetesSection {
  /** The kubeconfig context (default: the current one). */
  context?: string | undefined;
  /** The kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`). */
  kubeconfig?: string | undefined;
  /**
   * The Secrets the namespace holds, by name, besides those a `secret_key_ref` names
   * (e.g. `{ "api-keys": { keys: ["search-api-key"] } }`).
   */
  secrets?: Record<string, NamespaceSecret> | undefined;
  /** The deployer's ServiceAccount (with a Role and RoleBinding of the same name). */
  service_account?: string | undefined;
  /**
   * The namespace's ingress NetworkPolicies, by name: `deny` (no ingress to any pod) or
   * `same-namespace` (the app's pods accept ingress from the namespace's pods).
   */
  network_policies?: Record<string, "deny" | "same-namespace"> | undefined;
  /** The LoadBalancer Service in front of the app's pods (selector: the `app` label). */
  load_balancer?: { name: string; port: number; target_port: number } | undefined;
}

/**
 * `traffic.<service>:` — the traffic a service expects at peak: what the sandbox's
 * rehearsals draw their requests from (rate, and a healthy version's latency and errors).
 */
export interface ServiceTraffic {
  /** Requests per second to the service as a whole (over all its slots), 0 to 1,000,000. */
  requests_per_second: number;
  /** A healthy version's latency: median and p95 (p95 above the median). */
  latency?: { median: Duration; p95: Duration } | undefined;
  /** A healthy version's error rate, as a fraction (written `"0.05%"`). */
  error_rate?: number | undefined;
}

/** A validated environment file. */
export interface EnvironmentConfig {
  /** Where the environment lives. */
  environment: EnvironmentSection;
  /** Capacity of the services and managed infrastructure. */
  infrastructure: InfrastructureSection;
  /** PostgreSQL. */
  database: DatabaseSection;
  /** Redis. */
  redis: RedisSection;
  /** External services. */
  external_services: {
    /** Requests per minute allowed to external APIs. */
    api_rate_limit: number;
    /** Timeout of outgoing webhooks. */
    webhook_timeout: Duration;
    /** Whether the CDN is enabled (default false). */
    cdn_enabled: boolean;
    /** The external API's health endpoint the pre-flight calls (answers `{"status":"ok"}`). */
    health_url?: string | undefined;
  };
  /** Rollout and rollback. */
  deployment: DeploymentSection;
  /** Database backups (the pre-flight's backup checks). */
  backup?: BackupSection | undefined;
  /** The monitoring stack's endpoints. */
  monitoring: { prometheus_url: string; grafana_url: string; alertmanager_url: string };
  /** Where deployment notifications go. */
  notifications: {
    /** Slack incoming webhook. */
    slack?: { webhook_url: SecretRef; channel?: string | undefined } | undefined;
    /** PagerDuty Events API v2 routing key. */
    pagerduty?: {
      /** The routing key. */
      routing_key: SecretRef;
      /** The severity per outcome (default: failures `error`). */
      severity?: PagerDutySeverities | undefined;
    } | undefined;
  };
  /** The GitHub repository releases are made from. */
  github: { repository: string; token: SecretRef };
  /** How to reach the cluster (defaults: the current kubeconfig and context), what it holds. */
  kubernetes?: KubernetesSection | undefined;
  /** Expected traffic per service (each a service of `infrastructure.replicas`). */
  traffic?: Record<string, ServiceTraffic> | undefined;
}

/** A loaded environment: the validated file content plus its `name` and `file`. */
export type Environment = EnvironmentConfig & {
  /** The environment's name (the file's base name), e.g. `"staging"`. */
  name: string;
  /** The file it was loaded from, relative to the working directory when inside it. */
  file: string;
};
