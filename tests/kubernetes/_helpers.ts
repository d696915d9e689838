/**
 * Shared helpers for the Kubernetes tests: a real sandbox cluster in a temp dir, the
 * real capability over its kubeconfig, environments loaded from `environments/`.
 * @module
 */
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import type { Sandbox } from "../../lib/sandbox/mod.ts";
import { type Environment, loadEnvironment } from "../../lib/config/mod.ts";
import type { KubeTarget } from "../../lib/kubernetes/target.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import type { KubernetesCapability } from "../../lib/kubernetes/capability.ts";
import {
  createKubernetesCapability,
  type KubernetesCapabilityOptions,
} from "../../lib/kubernetes/provider.ts";
import type { StageContext } from "../../lib/dsl/types.ts";
import { delay } from "../../lib/async/delay.ts";
import { callErrorOf } from "../../lib/runner/call_errors.ts";
import { CapabilityError } from "../../lib/dsl/errors.ts";

/** A running sandbox with a capability over it. */
export interface Cluster {
  sandbox: Sandbox;
  k: KubernetesCapability;
  /** The same capability as a stage Worker sees it: see {@linkcode acrossWorkerBoundary}. */
  proxied: KubernetesCapability;
  /** Secrets handed to onSecret, in order. */
  secrets: string[];
  /** A new capability over the same sandbox with other options. */
  capability(options?: Partial<KubernetesCapabilityOptions>): KubernetesCapability;
}

/** Starts a fresh sandbox, runs `fn`, then stops it and removes its directory. */
export async function withCluster(
  fn: (cluster: Cluster) => Promise<void>,
  options: { scenario?: string; timeScale?: number; trafficRate?: number } = {},
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "kube-test-" });
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir,
    port: 0,
    reset: true,
    timeScale: options.timeScale ?? 300,
    trafficRate: options.trafficRate ?? 0,
    ...(options.scenario ? { scenario: options.scenario } : {}),
  });
  const secrets: string[] = [];
  const capability = (extra: Partial<KubernetesCapabilityOptions> = {}) =>
    createKubernetesCapability({
      kubeconfigPath: sandbox.kubeconfigPath,
      onSecret: (value) => secrets.push(value),
      ...extra,
    });
  try {
    const k = capability();
    await fn({ sandbox, k, proxied: acrossWorkerBoundary(k), secrets, capability });
  } finally {
    await sandbox.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}

/**
 * The capability as the runner's message proxy delivers it to a stage Worker: arguments
 * and results are structured-cloned (a non-cloneable value throws), and errors arrive as
 * the runner sends them: converted by `callErrorOf` (name, status, reason, plain fields)
 * and raised in the stage as a `CapabilityError`.
 */
export function acrossWorkerBoundary(k: KubernetesCapability): KubernetesCapability {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(k)) {
    out[name] = async (...args: unknown[]) => {
      const sent = structuredClone(args);
      try {
        return structuredClone(await (fn as (...a: unknown[]) => Promise<unknown>)(...sent));
      } catch (error) {
        const sent = structuredClone(
          callErrorOf(error, { capability: "kubernetes", operation: name }, (t) => t),
        );
        throw new CapabilityError(sent.message, sent);
      }
    };
  }
  return out as unknown as KubernetesCapability;
}

const ENV_DIR = new URL("../../environments", import.meta.url).pathname;

/** Loads one of the repository's environments. */
export function environment(name: string): Promise<Environment> {
  return loadEnvironment(name, { dir: ENV_DIR });
}

/** The deploy target of one of the repository's environments. */
export async function targetOf(name: string): Promise<KubeTarget> {
  return kubeTarget(await environment(name));
}

/** A stage context whose `use("kubernetes")` is the given capability. */
export function stageContext(k: KubernetesCapability): StageContext {
  const controller = new AbortController();
  // Cast: StageContext is still growing (another team owns it); checks only need use().
  const context = {
    runId: "test-run",
    user: "tester",
    notice: () => {},
    stageId: "test",
    pipeline: "test",
    environment: "test",
    version: undefined,
    dryRun: false,
    attempt: 1,
    signal: controller.signal,
    failures: [],
    log: () => {},
    warn: () => {},
    output: () => {
      throw new Error("no outputs in tests");
    },
    use: <T extends object>(resource: string): T => {
      if (resource !== "kubernetes") throw new Error(`resource ${resource} not declared`);
      return k as unknown as T;
    },
  };
  return context as unknown as StageContext;
}

/** Polls `read` until `done(value)` or the timeout (generous for a loaded CI machine). */
export async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (true) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${options.what ?? "a condition"}: last ${JSON.stringify(value)}`,
      );
    }
    await delay(options.intervalMs ?? 100);
  }
}

/** A Deployment manifest small enough for tests. */
export function testDeployment(
  namespace: string,
  name: string,
  options: { replicas?: number; image?: string; labels?: Record<string, string> } = {},
) {
  const labels = options.labels ?? { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{
            name: "web",
            image: options.image ?? "registry.local/web:1.0.0",
            ports: [{ containerPort: 8000 }],
          }],
        },
      },
    },
  };
}
