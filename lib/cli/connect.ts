/**
 * What a deploy talks to: the clients the runner's main thread holds for the
 * resources stages declare (`kubernetes`, `database`, `notifications`, `github`), and
 * the gate analyzer with its metrics source — for a real cluster from the environment
 * file, or for the sandbox.
 * @module
 */
import { homedir } from "node:os";
import type { Environment } from "../config/mod.ts";
import type { MetricDefinition } from "../dsl/gate.ts";
import type { Redactor } from "../journal/redact.ts";
import type { CapabilityProvider, GateAnalyzer } from "../runner/engine.ts";
import { createGateAnalyzer, type GateAnalyzerOptions } from "../analysis/gate_analyzer.ts";
import { prometheusProvider } from "../analysis/prometheus.ts";
import { sandboxMeasurementsProvider } from "../analysis/sandbox_measurements.ts";
import type { Decision } from "../analysis/decision.ts";
import { createKubernetesCapability } from "../kubernetes/provider.ts";
import { databaseCapability } from "../capabilities/database.ts";
import { githubCapability } from "../capabilities/github.ts";
import { notificationsCapability, notifyOptionsFromEnvironment } from "../notify/mod.ts";
import type { SandboxTarget } from "./sandbox_target.ts";

/**
 * A capability made on first use: runs whose stages never use a resource never
 * connect to it (and a missing kubeconfig only matters to stages that need it).
 */
function lazy<T extends object>(make: () => T | Promise<T>): T {
  let instance: Promise<T> | undefined;
  return new Proxy({} as T, {
    get(_target, method) {
      if (typeof method !== "string" || method === "then") return undefined;
      return async (...args: unknown[]) => {
        const it = await (instance ??= Promise.resolve().then(make));
        const fn = (it as Record<string, unknown>)[method];
        if (typeof fn !== "function") throw new Error(`no operation "${method}"`);
        return await (fn as (...a: unknown[]) => unknown).apply(it, args);
      };
    },
  });
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  readonly env: Environment;
  readonly sandbox?: SandboxTarget | undefined;
  readonly dryRun: boolean;
  readonly redactor: Redactor;
  /** The pipeline's metric definitions. */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** `--prometheus <url>`: measure gates with this Prometheus instead. */
  readonly prometheusUrl?: string | undefined;
  /** Reads environment variables (default `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /** Asks a paused stage's question at a terminal, when there is one. */
  readonly ask?: ((question: string) => Promise<Decision | null>) | undefined;
  /** How long a paused stage waits for a decision before aborting (real ms). */
  readonly decisionTimeoutMs?: number | undefined;
  /** Where capability warnings go. */
  readonly log: (line: string) => void;
  /** Told of every gate sample (the live view). */
  readonly onSample?: GateAnalyzerOptions["onSample"];
}

/** The clients and the analyzer of a run. */
export interface Connection {
  readonly capabilities: Record<string, CapabilityProvider>;
  readonly analyze: GateAnalyzer;
  readonly target: Record<string, unknown>;
  close(): Promise<void>;
}

function secretFromEnv(
  ref: unknown,
  readEnv: (name: string) => string | undefined,
): string | undefined {
  return typeof ref === "object" && ref !== null && "from_env" in ref
    ? readEnv(String((ref as { from_env: string }).from_env))
    : undefined;
}

/**
 * Connects a run to its target.
 *
 * @param o The environment, the sandbox (if any), dry run, the redactor, metrics.
 * @returns Capabilities for the engine, the gate analyzer, and the target for the report.
 */
export function connect(o: ConnectOptions): Connection {
  const readEnv = o.readEnv ?? ((name: string) => Deno.env.get(name));
  const env = o.env;
  const namespace = env.environment.namespace;
  const kubeconfigPath = o.sandbox?.kubeconfigPath ?? env.kubernetes?.kubeconfig ??
    readEnv("KUBECONFIG") ?? `${homedir()}/.kube/config`;
  const kubernetes = lazy(() =>
    createKubernetesCapability({
      kubeconfigPath,
      ...(!o.sandbox && env.kubernetes?.context ? { context: env.kubernetes.context } : {}),
      dryRun: o.dryRun,
      onSecret: (value) => o.redactor.add(value),
    })
  );

  const databaseUrl = readEnv("DATABASE_URL");
  const resolveDatabaseUrl = async (): Promise<string> => {
    const ref = env.database.password as unknown;
    let password = secretFromEnv(ref, readEnv);
    if (password === undefined && typeof ref === "object" && ref && "secret_key_ref" in ref) {
      const { name, key } =
        (ref as { secret_key_ref: { name: string; key: string } }).secret_key_ref;
      password = (await kubernetes.readSecret(namespace, name, key)) ?? undefined;
    }
    if (!password) throw new Error("the database password's secret reference resolved to nothing");
    o.redactor.add(password);
    const u = new URL(
      `postgres://${env.database.host}:${env.database.port}/${env.database.database}`,
    );
    u.username = env.database.user;
    u.password = password;
    u.searchParams.set("sslmode", env.database.ssl_mode);
    return u.href;
  };
  let opened: ReturnType<typeof databaseCapability> | undefined;
  const database = lazy(async () => {
    if (databaseUrl) {
      try {
        const pw = decodeURIComponent(new URL(databaseUrl).password);
        o.redactor.add(pw);
      } catch { /* openDatabase reports it */ }
    }
    return opened = databaseCapability(
      databaseUrl ||
        (o.sandbox ? { pglite: `${o.sandbox.stateDir}/pglite` } : await resolveDatabaseUrl()),
    );
  });

  const notifications = lazy(async () => {
    // The webhook URL and routing key are secrets: from the environment, or from
    // Kubernetes secrets (read through the capability, which registers them for redaction).
    const secrets = new Map<string, string>();
    const refs: [string, unknown][] = [
      ["notifications.slack.webhook_url", env.notifications.slack?.webhook_url],
      ["notifications.pagerduty.routing_key", env.notifications.pagerduty?.routing_key],
    ];
    for (const [path, ref] of refs) {
      if (ref === undefined) continue;
      let value = secretFromEnv(ref, readEnv);
      if (value === undefined && typeof ref === "object" && ref && "secret_key_ref" in ref) {
        const { name, key } =
          (ref as { secret_key_ref: { name: string; key: string } }).secret_key_ref;
        value = (await kubernetes.readSecret(namespace, name, key).catch(() => null)) ?? undefined;
      }
      if (value) {
        o.redactor.add(value);
        secrets.set(path, value);
      } else {
        o.log(`notifications: ${path} is not set here: that notifier is skipped`);
      }
    }
    return notificationsCapability(notifyOptionsFromEnvironment(env, secrets));
  });
  const github = githubCapability({
    repository: env.github.repository,
    token: secretFromEnv(env.github.token, readEnv),
    log: o.log,
    ...(readEnv("GITHUB_API_URL") ? { apiUrl: readEnv("GITHUB_API_URL")! } : {}),
  });

  const provider = o.prometheusUrl
    ? prometheusProvider({
      url: o.prometheusUrl,
      ...(o.sandbox ? { minWindowSeconds: 5 } : {}),
    })
    : o.sandbox
    ? sandboxMeasurementsProvider({ url: o.sandbox.url, token: o.sandbox.token })
    : prometheusProvider({ url: env.monitoring.prometheus_url });
  const analyze = createGateAnalyzer({
    provider,
    metrics: o.metrics,
    defaultTarget: { namespace },
    ...(o.sandbox ? { timeScale: o.sandbox.timeScale } : {}),
    // Prometheus over scaled time: wait for a few 1 s scrapes of the new pods first.
    ...(o.sandbox && o.prometheusUrl ? { minInitialDelayMs: 8_000 } : {}),
    ...(o.ask ? { ask: o.ask } : {}),
    ...(o.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: o.decisionTimeoutMs } : {}),
    ...(o.onSample ? { onSample: o.onSample } : {}),
  });

  return {
    capabilities: {
      kubernetes: kubernetes as unknown as CapabilityProvider,
      database: database as unknown as CapabilityProvider,
      notifications: notifications as unknown as CapabilityProvider,
      github: github as unknown as CapabilityProvider,
    },
    analyze,
    target: {
      kind: o.sandbox ? "sandbox" : "kubernetes",
      cluster: o.sandbox ? "tracktion-sandbox" : env.environment.cluster,
      server: o.sandbox?.url ?? null,
      namespace,
      metrics: provider.name,
      ...(o.sandbox
        ? { scenario: o.sandbox.scenario ?? "none", timeScale: o.sandbox.timeScale }
        : {}),
    },
    async close() {
      await opened?.close();
    },
  };
}
