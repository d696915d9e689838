/**
 * The rest of the runbook's `pre_deployment_checks.sh`, beside `preflightStages`: the
 * Kubernetes version in the runbook's range, a database backup of the last day and its
 * verification (read from the cluster: the backup CronJob's Jobs), storage below 80%, DNS
 * resolution of the environment's hosts and the external API's health. Each stage needs only
 * the lock, so they run with the other pre-flight stages, before anything changes.
 * @module
 */
import { type Check, type Stage, stage } from "../../mod.ts";
import { clusterVersion } from "../../checks/kubernetes.ts";
import { recentBackupJob } from "../../checks/backup.ts";
import { storageCapacity } from "../../checks/storage.ts";
import { dnsResolves } from "../../checks/dns.ts";
import { fail, pass } from "../../checks/_outcome.ts";
import { excerpt, get } from "../../checks/_http.ts";
import { environmentHostnames } from "../../lib/targets/sandbox_standins.ts";
import type { DeployContext } from "./context.ts";

/**
 * The Kubernetes versions the deploy is known to work on. The runbook greps
 * `v1\.(24|25|26|27)`: 1.24 stays the floor (the manifests' APIs: `apps/v1`, `batch/v1`
 * CronJobs, `policy/v1`); its ceiling was the newest release when it was written (1.27, end
 * of life since 2024), and is raised to the newest minor the manifests and the sandbox are
 * tested against (1.32), so a cluster newer than that still fails until it has been tried.
 */
export const KUBERNETES_VERSIONS = { min: "1.24", max: "1.32" } as const;
/** The runbook's `df -h /var/lib/docker`: the container storage, below 80%. */
export const STORAGE_PATH = "/var/lib/docker";
/** The runbook's storage limit, percent used. */
export const STORAGE_MAX_PERCENT = 80;

function skipped(name: string, why: string): Check {
  return { name, required: false, run: () => ({ ok: true, skipped: true, message: why }) };
}

/**
 * The external API answers its health endpoint with `{"status": "ok"}` (the runbook's
 * `curl --max-time 10 <api>/health | jq -r .status | grep -i ok`).
 *
 * @example
 * ```ts
 * import { externalApiHealthy } from "./preflight_runbook.ts";
 * console.assert(externalApiHealthy("https://partner.example/health").name === "External API connectivity");
 * ```
 */
export function externalApiHealthy(url: string): Check {
  return {
    name: "External API connectivity",
    required: true,
    run: async (ctx) => {
      const r = await ctx.clock.track("the external API's health", get(url, {}, ctx.signal));
      if (!r.ok) {
        return fail(`External API ${url} did not answer: ${r.error}`, {
          url,
          error: r.error,
          latencyMs: r.latencyMs,
        });
      }
      let status: unknown;
      try {
        status = (JSON.parse(r.body) as { status?: unknown }).status;
      } catch {
        status = undefined;
      }
      const evidence = { url, status: r.status, body: excerpt(r.body), latencyMs: r.latencyMs };
      if (r.status !== 200 || typeof status !== "string" || !/ok/i.test(status)) {
        return fail(
          `External API ${url} is not healthy: HTTP ${r.status}, status ${JSON.stringify(status)}`,
          evidence,
        );
      }
      return pass(`External API ${url}: ${status} in ${r.latencyMs} ms`, evidence);
    },
  };
}

function nameServer(option: string | undefined) {
  if (!option) return undefined;
  const [ipAddr, port] = option.split(":");
  return { ipAddr: ipAddr!, port: Number(port ?? 53) };
}

/**
 * `preflight:backups`: the Kubernetes version in range, and the backup CronJob's newest
 * successful Job (label `type=backup`) within `backup.max_age` with no failure since, and
 * likewise its verification (`type=backup-verification`) when `backup.verification_cronjob`
 * is set. An environment without a `backup:` section says so (non-critical: a second project
 * may keep backups elsewhere).
 */
function backupStage(c: DeployContext, lock: Stage<unknown>): Stage<unknown> {
  const b = c.env.backup;
  const maxAge = b?.max_age.ms ?? 0;
  return stage("preflight:backups").needs(lock).uses("kubernetes")
    .describe("Kubernetes version in the runbook's range; a recent database backup, verified")
    .check(
      clusterVersion(KUBERNETES_VERSIONS, { name: "Kubernetes version in the runbook's range" }),
      ...(b
        ? [
          recentBackupJob(c.namespace, {
            maxAge,
            cronjob: b.cronjob,
            name: "Recent database backup exists",
          }),
          ...(b.verification_cronjob
            ? [recentBackupJob(c.namespace, {
              maxAge,
              cronjob: b.verification_cronjob,
              selector: "type=backup-verification",
              what: "backup verification",
              name: "Backup verification passed",
            })]
            : []),
        ]
        : [
          skipped(
            "Recent database backup exists",
            `environments/${c.env.name}.yml has no backup: section (cronjob, max_age)`,
          ),
        ]),
    );
}

/**
 * The runbook pre-flight stages not in `preflightStages`; all need `lock` and nothing else.
 * The DNS checks ask `environment.dns_server` (Deno checks a lookup's grant against the
 * resolver's address, so it must be known when the stage is built). Options (`--option`):
 * `dns-server=<ip>:<port>` asks that resolver instead, `external-api=<url>` calls that instead of `external_services.health_url`
 * (a sandbox's stand-ins), `storage-path=<path>` measures another filesystem.
 *
 * @example
 * ```ts ignore
 * const preflight = [...preflightStages(c, lock), ...runbookPreflightStages(c, lock, options)];
 * ```
 */
export function runbookPreflightStages(
  c: DeployContext,
  lock: Stage<unknown>,
  options: Readonly<Record<string, string>>,
): Stage<unknown>[] {
  const { env } = c;
  const hosts = environmentHostnames(env);
  // The environment's resolver (a stage reaches only what it is granted, so it is named).
  const dns = nameServer(
    options["dns-server"] ?? (c.sandbox ? undefined : env.environment.dns_server),
  );
  const externalUrl = options["external-api"] ?? env.external_services.health_url;
  const external = externalUrl ? new URL(externalUrl) : undefined;
  const sandboxWithout = (what: string) => c.sandbox && !options[what];
  const net = [
    ...(external
      ? [`${external.hostname}:${external.port || (external.protocol === "https:" ? 443 : 80)}`]
      : []),
    ...(dns ? [`${dns.ipAddr}:${dns.port}`] : []),
  ];
  const network = stage("preflight:network").needs(lock).permissions({ net })
    .describe("DNS resolution of the environment's hosts; the external API is healthy")
    .check(
      ...(sandboxWithout("dns-server")
        ? [skipped("DNS resolution", "the sandbox answers no DNS: pass --option dns-server=")]
        : !dns
        ? [skipped(
          "DNS resolution",
          `environments/${env.name}.yml has no environment.dns_server (the resolver to ask)`,
        )]
        : hosts.map((h) => dnsResolves(h, { name: `DNS resolution: ${h}`, nameServer: dns }))),
      ...(!external
        ? [skipped(
          "External API connectivity",
          `environments/${env.name}.yml has no external_services.health_url`,
        )]
        : sandboxWithout("external-api")
        ? [skipped(
          "External API connectivity",
          "the sandbox has no external API: pass --option external-api=<url>",
        )]
        : [externalApiHealthy(external.toString())]),
    );
  // In the sandbox its pods' storage is this machine's: the project's filesystem, where the
  // sandbox keeps its state. Stage Workers get no `sys` permission (statfs), so `df` it is.
  const path = options["storage-path"] ?? (c.sandbox ? "." : STORAGE_PATH);
  const storage = stage("preflight:storage").needs(lock).permissions({ run: ["df"] })
    .describe(`storage below ${STORAGE_MAX_PERCENT}% (df ${path})`)
    .check(
      storageCapacity(path, { maxUsedPercent: STORAGE_MAX_PERCENT, name: "Storage capacity" }),
    );
  return [backupStage(c, lock), network, storage];
}
