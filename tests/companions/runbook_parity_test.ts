/**
 * The README's main command — the production deploy rehearsed in the sandbox, with its
 * companions — runs every check and validation of the runbook (seed
 * `pre_deployment_checks.sh`, `deploy_production.sh`, `post_deployment_validation.sh`), each
 * by name, none skipped: the ones that remain skipped are listed below with the program they
 * need, which Debian does not package. Redis is reached with its Secret's password over TLS.
 * The runbook's checks that are not report entries say where they are enforced instead. The
 * same run's public endpoint (edge, TLS) and monitoring evidence are read by the tests below.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { type Deployment, Rehearsal, stage } from "../deploy/_deploy.ts";
import { runArguments } from "../../lib/cli/run_args.ts";
import { companionAddress } from "../../lib/companions/mod.ts";
import { GATEWAY_PORT, gatewayAddress } from "../../lib/sandbox/gateway_address.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";

const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];
const IMAGES = SERVICES.map((s) => `ghcr.io/tracktion/${s}:1.2.4`);

type Where = readonly [stage: string, check: string];

/** The hosts each environment file names (api_url, external API, database, Redis). */
const HOSTS: Readonly<Record<string, readonly string[]>> = {
  production: [
    "api.tracktion.com",
    "api.external-service.com",
    "prod-db.tracktion.internal",
    "prod-redis.tracktion.internal",
  ],
  staging: [
    "api-staging.tracktion.com",
    "api.external-service.com",
    "staging-db.tracktion.internal",
    "staging-redis.tracktion.internal",
  ],
};

/** The runbook's pre-flight checks (pre_deployment_checks.sh), by its names → ours. */
const PREFLIGHT: Readonly<Record<string, readonly Where[]>> = {
  "Kubernetes cluster connectivity": [["preflight:cluster", "Kubernetes cluster connectivity"]],
  "Kubernetes cluster version": [
    ["preflight:cluster", "Kubernetes cluster version"],
    ["preflight:backups", "Kubernetes version in the runbook's range"],
  ],
  "Namespace exists": [["preflight:cluster", "Namespace exists"]],
  "Database connectivity": [["preflight:database", "Database connectivity"]],
  "Redis connectivity": [["preflight:redis", "Redis connectivity"]],
  "Required secrets exist": [["preflight:cluster", "Required secrets exist"]],
  "TLS certificates valid": [["preflight:cluster", "TLS certificates valid"]],
  "Image exists": IMAGES.map((i) => ["preflight:images", `Image exists: ${i}`] as const),
  "Image signature valid": IMAGES.map((i) =>
    ["preflight:images", `Image signature valid: ${i}`] as const
  ),
  "Sufficient CPU capacity": [["preflight:cluster", "Sufficient CPU capacity"]],
  "Sufficient memory capacity": [["preflight:cluster", "Sufficient memory capacity"]],
  "Storage capacity": [["preflight:storage", "Storage capacity"]],
  "External API connectivity": [["preflight:network", "External API connectivity"]],
  // Filled in per environment (its own hosts): see HOSTS.
  "DNS resolution": [],
  "Load balancer health": [["preflight:cluster", "Load balancer health"]],
  "RBAC policies applied": [["preflight:cluster", "RBAC policies applied"]],
  "Network policies exist": [["preflight:cluster", "Network policies exist"]],
  // PodSecurityPolicy is gone since Kubernetes 1.25: its successor, Pod Security Admission.
  "Pod security policies": [["preflight:cluster", "Pod security admission enforced"]],
  "Recent database backup exists": [["preflight:backups", "Recent database backup exists"]],
  "Backup verification passed": [["preflight:backups", "Backup verification passed"]],
  "Prometheus accessible": [["preflight:monitoring", "Prometheus accessible"]],
  "Alert manager accessible": [["preflight:monitoring", "Alertmanager accessible"]],
  "Database connection pool": [["preflight:database", "Database connection pool"]],
  "Redis memory usage": [["preflight:redis", "Redis memory usage"]],
};

/** deploy_production.sh's own gate, production only. */
const PRODUCTION_GATE: readonly Where[] = [
  "Same version succeeded in staging",
  "staging is healthy",
  "staging tests passed",
  "production CPU capacity below 70%",
  "production memory capacity below 70%",
  "production backup within 6h",
].map((name) => ["preflight:production", name] as const);

/** The runbook's post-deployment validations (post_deployment_validation.sh) → ours. */
const VALIDATION: Readonly<Record<string, readonly Where[]>> = {
  "Pod readiness": SERVICES.map((s) => ["validate", `${s}: pods ready`] as const),
  "Service endpoint": SERVICES.map((s) => ["validate", `${s}: endpoints`] as const),
  "Health endpoint": SERVICES.map((s) => ["validate", `${s}: health`] as const),
  "Database schema version": [["validate", "Database schema version"]],
  "Database performance": [["validate", "Database performance"]],
  "Redis performance": [["validate", "Redis performance"]],
  "API health endpoint": [["validate", "API health endpoint"]],
  "API authentication": [["validate", "API authentication"]],
  "API rate limiting": [["validate", "API rate limiting"]],
  "API response time": [["validate", "API response time"]],
  "Database connection pool": [["validate", "Database connection pool"]],
  "TLS certificate validity": [["validate", "TLS certificate"]],
  "Security headers": [["validate", "Security headers at the edge"]],
  "No sensitive data exposure": [
    ["validate", "No sensitive data exposure"],
    ...SERVICES.map((s) => ["validate", `${s}: no secrets in /health`] as const),
  ],
  "Metrics endpoint": SERVICES.map((s) => ["validate", `${s}: metrics endpoint`] as const),
  "Prometheus target discovery": [["validate", "Prometheus target discovery"]],
  "Alert rules": [["validate", "Alert rules"]],
  "Logs are being collected": [["validate", "Logs are being collected"]],
  "Structured logging format": [["validate", "Structured logging format"]],
  "Backup system operational": [["validate", "Backup system operational"]],
  "Deployment labels": SERVICES.map((s) => ["validate", `${s}: labels`] as const),
  "Image tags correct": [["validate", "Image tags correct"]],
  "Memory usage within limits": [["validate", "Resource usage within limits"]],
  "CPU usage reasonable": [["validate", "Resource usage within limits"]],
};

/** Outside production only (the runbook's `if [ "$ENVIRONMENT" != "production" ]`): staging. */
const STAGING_ONLY: Readonly<Record<string, readonly Where[]>> = {
  "Service health": SERVICES.map((s) => ["preflight:cluster", `Service health: ${s}`] as const),
  // The business-logic scripts are the environment's test Jobs (type=test), run before the switch.
  "Audio analysis workflow": [["switch", "integration tests"]],
  "File processing workflow": [["switch", "smoke tests"]],
};

/**
 * What stays skipped on a machine with every companion Debian packages, and why: each names
 * the program that would run it.
 */
const SKIPPED: Readonly<Record<string, RegExp>> = {
  "Grafana accessible": /Grafana is not packaged by Debian/,
  ...Object.fromEntries(
    IMAGES.map((i) => [`Image vulnerability scan: ${i}`, /grype \(not packaged by Debian/]),
  ),
};

/**
 * The runbook's checks that are not report entries, and where they are enforced instead (each
 * place has its own tests).
 */
const ELSEWHERE: Readonly<Record<string, string>> = {
  "Environment configuration exists":
    "loading the environment file, before any stage: a missing file exits 2 (tests/config/load_environment_test.ts)",
  "Configuration file syntax":
    "the environment file's schema, before any stage: invalid YAML or fields exit 2 (tests/config/)",
  "Secret encryption at rest":
    "the API server's EncryptionConfiguration, which the Kubernetes API does not expose; the runbook's grep of Secret YAML for 'encryption|kms' matched nothing real",
  "Database connectivity (after the deploy)":
    "validate's database checks connect (schema version, performance, pool)",
  "Redis connectivity (after the deploy)":
    "validate's Redis performance connects with AUTH and TLS",
  "External service connectivity":
    "preflight:network's External API connectivity (non-critical in the runbook: from inside a pod it needs exec)",
  "File upload endpoint": "staging's integration test Job (not in production, as the runbook)",
};

type CheckReport = {
  name: string;
  status: string;
  message: string;
  evidence?: Record<string, unknown>;
};
type Report = {
  status: string;
  environment: string;
  stages: { id: string; status: string; checks?: CheckReport[] }[];
  target: { rehearsal?: { deployed: boolean; report?: string; environment: string } };
};

function checksOf(report: Report): Map<string, CheckReport> {
  const out = new Map<string, CheckReport>();
  for (const s of report.stages) for (const c of s.checks ?? []) out.set(`${s.id} / ${c.name}`, c);
  return out;
}

function assertRan(
  report: Report,
  table: Readonly<Record<string, readonly Where[]>>,
  seen: Set<string>,
): void {
  const checks = checksOf(report);
  for (const [runbook, places] of Object.entries(table)) {
    assert.ok(places.length > 0, `${runbook}: no place given`);
    for (const [stageId, name] of places) {
      const key = `${stageId} / ${name}`;
      const c = checks.get(key);
      assert.ok(c, `${report.environment}: the runbook's "${runbook}" (${key}) did not run`);
      assert.equal(c.status, "passed", `${report.environment}: ${key}: ${c.status}: ${c.message}`);
      seen.add(key);
    }
  }
}

/**
 * The README's rehearsal, run once for this file's tests (as written, in its own folders):
 * the README's deploy line with `--sandbox-dir`/`--runs-dir` of a temporary folder.
 */
let rehearsed: Promise<{ r: Rehearsal; d: Deployment }> | undefined;
function readmeRehearsal(): Promise<{ r: Rehearsal; d: Deployment }> {
  rehearsed ??= (async () => {
    const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
    const line = readme.split("\n").find((l) => /task deploy production .*--sandbox/.test(l))!;
    const words = [
      ...line.replace(/^npx -y deno@[\d.]+ deno task |^npx -y deno@[\d.]+ task /, "")
        .matchAll(/"([^"]*)"|(\S+)/g),
    ].map((m) => m[1] ?? m[2]!);
    assert.equal(words[0], "deploy", line);
    const a = runArguments("deploy", words.slice(1));
    const r = await Rehearsal.create();
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(r.dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    const extra = words.slice(3).filter((w) => w !== "--sandbox");
    const d = await r.deploy(a.environment, a.version!, extra);
    assert.equal(d.code, 0, d.stdout.slice(-4000) + d.stderr);
    return { r, d };
  })();
  return rehearsed;
}

Deno.test({
  name:
    "the README's rehearsal runs every runbook check and validation by name, none skipped but those that name their program",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { r, d } = await readmeRehearsal();
    const production = d.report as unknown as Report;
    assert.equal(production.status, "succeeded");
    const rehearsal = production.target.rehearsal!;
    assert.equal(rehearsal.deployed, true, "the rehearsal deployed staging first");
    const staging = JSON.parse(await Deno.readTextFile(rehearsal.report!)) as Report;
    assert.equal(staging.status, "succeeded");

    for (const report of [production, staging]) {
      const seen = new Set<string>();
      const dns = HOSTS[report.environment]!.map((h) =>
        ["preflight:network", `DNS resolution: ${h}`] as const
      );
      assertRan(report, { ...PREFLIGHT, "DNS resolution": dns }, seen);
      assertRan(report, VALIDATION, seen);
      if (report === production) assertRan(report, { "production gate": PRODUCTION_GATE }, seen);
      else assertRan(report, STAGING_ONLY, seen);
      // Nothing else is skipped: the runbook's checks passed (above); the run's own extra
      // checks ran too (a non-required one may warn, e.g. a timing on a loaded machine).
      for (const [key, c] of checksOf(report)) {
        const name = key.slice(key.indexOf(" / ") + 3);
        if (name in SKIPPED) {
          assert.equal(c.status, "skipped", key);
          assert.match(c.message, SKIPPED[name]!, key);
          continue;
        }
        if (seen.has(key)) continue;
        assert.ok(
          c.status === "passed" || c.status === "warned",
          `${report.environment}: ${key}: ${c.status}: ${c.message}`,
        );
      }
    }

    // Where the runbook's other checks are enforced: the tests named there exist.
    for (const [runbook, where] of Object.entries(ELSEWHERE)) {
      for (const [path] of where.matchAll(/(tests|checks)\/[\w/.]+\w/g)) {
        assert.ok(await Deno.stat(path).catch(() => null), `${runbook}: ${path} exists`);
      }
    }

    // Redis was reached with its Secret's password, over TLS, at the companion's address.
    const ping = checksOf(production).get("preflight:redis / Redis connectivity")!;
    assert.equal(ping.evidence?.reply, "PONG");
    assert.equal(ping.evidence?.auth, true);
    assert.equal(ping.evidence?.tls, true);
    assert.equal(ping.evidence?.passwordFrom, "secret redis-credentials/password");
    assert.equal(
      ping.evidence?.host,
      companionAddress("tracktion-prod", "redis", resolve(r.sandboxDir)),
    );
    // The companions stopped with the sandbox.
    await assert.rejects(
      Deno.stat(`${r.sandboxDir}/companions/redis-tracktion-prod/pid`),
      Deno.errors.NotFound,
    );
  },
});

type Recorded = CheckReport & { required: boolean };
function validateCheck(d: Deployment, name: string): Recorded {
  const checks = (stage(d, "validate") as unknown as { checks: Recorded[] }).checks;
  const found = checks.filter((c) => c.name === name);
  assert.equal(found.length, 1, `one check named ${name}`);
  assert.equal(found[0]!.status, "passed", `${name}: ${JSON.stringify(found[0])}`);
  assert.equal(found[0]!.required, true, `${name} is required`);
  return found[0]!;
}

Deno.test({
  name:
    "the rehearsal validates the public endpoint at the gateway's edge and over real TLS, all required",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { r, d } = await readmeRehearsal();
    assert.match(validateCheck(d, "API authentication").message, /answered HTTP 401/);
    validateCheck(d, "Security headers at the edge");
    assert.match(validateCheck(d, "API rate limiting").message, /RateLimit-Limit: 10000/);
    const tls = validateCheck(d, "TLS certificate").evidence ?? {};
    assert.equal(tls.servername, "api.tracktion.com");
    assert.equal(tls.host, gatewayAddress("tracktion-prod", r.sandboxDir));
    assert.equal(tls.port, GATEWAY_PORT);
    assert.equal(tls.trusted, true);
    assert.equal(tls.hostMatches, true);
    assert.ok((tls.daysLeft as number) >= 30);
  },
});

async function sh(kubeconfig: string, line: string) {
  const out = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", line],
    env: { KUBECONFIG: kubeconfig, NAMESPACE: "tracktion-prod" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const t = new TextDecoder();
  return { code: out.code, out: t.decode(out.stdout) + t.decode(out.stderr) };
}

Deno.test({
  name:
    "the rehearsal applies the monitoring objects; target discovery, alert rules and both log checks pass; the runbook's shell lines agree",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { r, d } = await readmeRehearsal();
    const monitoring = stage(d, "monitoring") as unknown as {
      status: string;
      output: { applied: string[] };
    };
    assert.equal(monitoring.status, "succeeded");
    const services = [
      "analysis-service",
      "file-watcher",
      "tracklist-service",
      "notification-service",
    ];
    // What `deno task monitoring render production` generates: a ServiceMonitor per service.
    assert.deepEqual(monitoring.output.applied, [
      ...services.map((s) => `ServiceMonitor/tracktion-${s}`),
      "PrometheusRule/tracktion-alerts",
      "ConfigMap/tracktion-dashboard",
    ]);
    const discovery = validateCheck(d, "Prometheus target discovery").evidence!;
    // every pod of the live slot: 5 + 3 + 4 + 2 replicas
    assert.equal(discovery.targets, 14);
    assert.deepEqual(
      [...(discovery.monitors as string[])].sort(),
      services.map((s) => `tracktion-${s}`).sort(),
    );
    assert.deepEqual([...new Set(validateCheck(d, "Alert rules").evidence!.alerts as string[])], [
      "HighErrorRate",
      "HighP95Latency",
      "PodRestarting",
      "PodCrashLooping",
      "DeployFailed",
    ]);
    const collected = validateCheck(d, "Logs are being collected").evidence!;
    assert.match(String(collected.pod), /^analysis-service-(blue|green)-/);
    assert.ok(Number(collected.lines) >= 1);
    const structured = validateCheck(d, "Structured logging format").evidence!;
    assert.equal(structured.pod, collected.pod);
    assert.match(String(structured.timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);

    // The runbook's lines, with the real kubectl, on the sandbox restarted from its state.
    const slot = (stage(d, "deploy:analysis-service") as unknown as {
      output: { slot: string };
    }).output.slot;
    const sandbox = await startSandbox({
      seed: await sandboxSeedFromDir(),
      stateDir: r.sandboxDir,
      port: 0,
      timeScale: 600,
    });
    try {
      const deployment = `deployment/analysis-service-${slot}`;
      for (
        const line of [
          "kubectl get servicemonitor -n $NAMESPACE | grep tracktion",
          "kubectl get prometheusrule -n $NAMESPACE | grep tracktion",
          `kubectl logs -n $NAMESPACE ${deployment} --tail=10 | wc -l | grep -E '^[1-9][0-9]*$'`,
          `kubectl logs -n $NAMESPACE ${deployment} --tail=1 | jq -r '.timestamp' | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'`,
        ]
      ) {
        const result = await sh(sandbox.kubeconfigPath, line);
        assert.equal(result.code, 0, `${line}: ${result.out}`);
      }
      // and they can fail: no ServiceMonitor in a namespace the deploy did not touch
      const elsewhere = await sh(
        sandbox.kubeconfigPath,
        "kubectl get servicemonitor -n tracktion-dev | grep tracktion",
      );
      assert.equal(elsewhere.code, 1, elsewhere.out);
    } finally {
      await sandbox.stop();
    }
  },
});
