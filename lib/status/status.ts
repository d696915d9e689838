/**
 * An environment's status, read where the deploy would go: the sandbox (`sandbox`: the one
 * serving the state folder; when none does, one started in this process from the saved state
 * at ×1 with no traffic, read, and stopped again, as a person looking with kubectl between
 * deploys would; when there is no saved state, nothing was ever deployed there) or the
 * cluster of a kubeconfig (the environment's, as the deploy finds it, or the one given). It
 * connects through the composition root (`lib/targets`' `connect`, read only: a dry-run
 * capability) and asks the API server once whether it answers before reading.
 * @module
 */
import { parse } from "yaml";
import type { Environment } from "../config/types.ts";
import type { KubernetesCapability } from "../kubernetes/capability.ts";
import { kubeconfigLocation } from "../capabilities/kubernetes.ts";
import { Redactor } from "../journal/redact.ts";
import { type Clock, realClock } from "../clock/mod.ts";
import { findRunningSandbox } from "../sandbox/mod.ts";
import { InputError } from "../runner/errors.ts";
import { connect } from "../targets/connect.ts";
import { kubeTarget } from "../targets/kube_target.ts";
import { type SandboxTarget, startProjectSandbox } from "../targets/sandbox.ts";
import { lockStatusOf, readClusterStatus } from "./read.ts";
import { lastRun } from "./runs.ts";
import type { EnvironmentStatus, StatusTarget } from "./types.ts";

/**
 * The cluster did not answer (or refused the kubeconfig's credentials): the message names the
 * server and how to fix it, never a credential. The CLI exits 1 on it.
 *
 * @example
 * ```ts
 * import { ClusterUnreachableError } from "./status.ts";
 * const e = new ClusterUnreachableError("cannot reach the Kubernetes API at https://x (timeout)");
 * console.assert(e.name === "ClusterUnreachableError" && e instanceof Error);
 * ```
 */
export class ClusterUnreachableError extends Error {
  /**
   * Makes the error.
   *
   * @param message What did not answer, and how to fix it.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterUnreachableError";
  }
}

/** Options of {@linkcode environmentStatus}. */
export interface EnvironmentStatusOptions {
  /** The loaded environment. */
  readonly env: Environment;
  /** The runs folder (its last run of the environment is shown). */
  readonly runsDir: string;
  /** The deploy lock's Lease name. */
  readonly lockName: string;
  /** Read the sandbox on this state folder (else a kubeconfig's cluster). */
  readonly sandboxDir?: string | undefined;
  /** The environment files a sandbox started here is seeded from, when its state lacks them. */
  readonly environmentsDir?: string | undefined;
  /** The kubeconfig to read (default: the environment's, as the deploy finds it). */
  readonly kubeconfig?: string | undefined;
  /** Its context (default: the environment's `kubernetes.context`, else the current one). */
  readonly context?: string | undefined;
  /** Reads environment variables (default `Deno.env.get`): `KUBECONFIG`, the timeout's. */
  readonly readEnv?: ((name: string) => string | undefined) | undefined;
  /** How long the API server may take to answer (default: as the deploy's `connect`). */
  readonly verifyTimeoutMs?: number | undefined;
  /** Where warnings go (never given secrets). */
  readonly log?: ((line: string) => void) | undefined;
}

interface Opened {
  readonly sandbox?: SandboxTarget;
  readonly state?: "running" | "restored";
  readonly clock: Clock;
}

async function tokenOf(kubeconfigPath: string): Promise<string> {
  try {
    const doc = parse(await Deno.readTextFile(kubeconfigPath)) as {
      users?: { user?: { token?: string } }[];
    };
    return doc.users?.[0]?.user?.token ?? "";
  } catch {
    return "";
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The running sandbox, else one started from the saved state, else none (no state). */
async function openSandbox(o: EnvironmentStatusOptions, stateDir: string): Promise<Opened> {
  const found = await findRunningSandbox(stateDir);
  if (found) {
    const sandbox: SandboxTarget = {
      url: found.url,
      token: await tokenOf(found.kubeconfigPath),
      kubeconfigPath: found.kubeconfigPath,
      stateDir,
      scenario: undefined,
      timeScale: 1,
      // A deploy against it judges the lock by its own clock, started now: the same.
      clock: realClock,
      inProcess: false,
      close: () => Promise.resolve(),
    };
    return { sandbox, state: "running", clock: realClock };
  }
  if (!(await exists(`${stateDir}/state.json`))) return { clock: realClock };
  const started = await startProjectSandbox({
    stateDir,
    timeScale: 1,
    trafficRate: 0,
    environmentsDir: o.environmentsDir,
    onWarning: o.log,
  });
  const sandbox: SandboxTarget = {
    url: started.url,
    token: await tokenOf(started.kubeconfigPath),
    kubeconfigPath: started.kubeconfigPath,
    stateDir,
    scenario: undefined,
    timeScale: 1,
    clock: started.clock,
    inProcess: true,
    handle: (request) => started.handle(request),
    close: () => started.stop(),
  };
  return { sandbox, state: "restored", clock: started.clock };
}

/** The environment with the kubeconfig and context asked for. */
function withKubeconfig(o: EnvironmentStatusOptions): Environment {
  if (o.kubeconfig === undefined && o.context === undefined) return o.env;
  const kubernetes = { ...o.env.kubernetes };
  if (o.kubeconfig !== undefined) kubernetes.kubeconfig = o.kubeconfig;
  if (o.context !== undefined) kubernetes.context = o.context;
  return { ...o.env, kubernetes };
}

/**
 * Reads an environment's status: its services, traffic, lock and record from the cluster (or
 * sandbox), and its last run from the runs folder. Changes nothing (a sandbox started for the
 * read is stopped again, saving the state it restored).
 *
 * @param o The environment, the runs folder, the lock's name, and where to read.
 * @returns The status (the document `status --json` prints).
 * @throws {InputError} The kubeconfig cannot be used (missing, not YAML, no such context), or
 *   the sandbox's saved state cannot be loaded: nothing was read.
 * @throws {ClusterUnreachableError} The API server did not answer, or refused the
 *   credentials.
 * @throws {Error} A `KubernetesApiError` when the API refused a read (e.g. 403).
 *
 * @example
 * ```ts
 * import { environmentStatus } from "./status.ts";
 * import { loadEnvironment } from "../config/mod.ts";
 * import assert from "node:assert/strict";
 * const env = await loadEnvironment("staging", { dir: "environments" });
 * const sandboxDir = await Deno.makeTempDir();
 * const s = await environmentStatus({ env, runsDir: `${sandboxDir}/runs`, lockName: "lock", sandboxDir });
 * assert.equal(s.deployed, false);
 * assert.deepEqual(s.target, { kind: "sandbox", stateDir: sandboxDir, state: "none" });
 * await Deno.remove(sandboxDir, { recursive: true });
 * ```
 */
export async function environmentStatus(o: EnvironmentStatusOptions): Promise<EnvironmentStatus> {
  const env = withKubeconfig(o);
  const target = kubeTarget(env);
  const readEnv = o.readEnv ?? ((name: string) => Deno.env.get(name));
  const opened: Opened = o.sandboxDir !== undefined
    ? await openSandbox(o, o.sandboxDir)
    : { clock: realClock };
  try {
    let where: StatusTarget;
    if (o.sandboxDir !== undefined) {
      where = { kind: "sandbox", stateDir: o.sandboxDir, state: opened.state ?? "none" };
    } else {
      const w = kubeconfigLocation(env, { kind: "kubernetes" }, readEnv);
      where = {
        kind: "kubernetes",
        kubeconfig: w.path,
        context: w.context ?? null,
        cluster: env.environment.cluster,
      };
    }
    const base = {
      kind: "environment-status" as const,
      schemaVersion: 1 as const,
      environment: env.name,
      namespace: target.namespace,
      app: target.app,
      strategy: target.strategy,
      target: where,
      runsDir: o.runsDir,
    };
    const run = await lastRun(o.runsDir, env.name, {
      target: o.sandboxDir !== undefined ? "sandbox" : "kubernetes",
    });
    if (o.sandboxDir !== undefined && !opened.sandbox) {
      // No saved state: this sandbox never held anything.
      const now = realClock.now();
      return {
        ...base,
        at: new Date(now).toISOString(),
        namespaceExists: false,
        deployed: false,
        services: Object.keys(target.services).map((service) => ({
          service,
          deployed: false,
          live: null,
          idle: null,
          traffic: null,
        })),
        lock: lockStatusOf(null, { namespace: target.namespace, name: o.lockName, now }),
        record: { exists: false, run: null, release: null, problems: [] },
        lastRun: run,
      };
    }
    const k = await connected(env, opened, o, readEnv);
    try {
      const now = opened.clock.now();
      const cluster = await readClusterStatus(k.api, { target, lockName: o.lockName, now });
      const running = run && run.status === "unfinished" && cluster.lock.state === "held" &&
        cluster.lock.runId === run.runId;
      return {
        ...base,
        at: new Date(now).toISOString(),
        ...cluster,
        deployed: cluster.services.some((s) => s.deployed) || cluster.record.exists,
        lastRun: running ? { ...run, status: "running" } : run,
      };
    } finally {
      await k.close();
    }
  } finally {
    await opened.sandbox?.close();
  }
}

/** Connects read only and checks the API server answers. */
async function connected(
  env: Environment,
  opened: Opened,
  o: EnvironmentStatusOptions,
  readEnv: (name: string) => string | undefined,
): Promise<{ api: KubernetesCapability; close: () => Promise<void> }> {
  let connection: ReturnType<typeof connect>;
  try {
    connection = connect({
      env,
      sandbox: opened.sandbox,
      apiInProcess: opened.sandbox?.handle !== undefined,
      dryRun: true,
      redactor: new Redactor(),
      metrics: {},
      resources: ["kubernetes"],
      readEnv,
      clock: opened.clock,
      log: o.log ?? (() => {}),
      ...(o.verifyTimeoutMs !== undefined ? { verifyTimeoutMs: o.verifyTimeoutMs } : {}),
    });
  } catch (err) {
    if (err instanceof InputError) throw new InputError(named(err.message, env, o), { cause: err });
    throw err;
  }
  try {
    await connection.verify();
  } catch (err) {
    await connection.close().catch(() => {});
    if (err instanceof InputError) {
      throw new ClusterUnreachableError(named(err.message, env, o), { cause: err });
    }
    throw err;
  }
  return {
    api: connection.capabilities.kubernetes as unknown as KubernetesCapability,
    close: () => connection.close(),
  };
}

/** A message about the kubeconfig names where it came from: `--kubeconfig`, when given. */
function named(message: string, env: Environment, o: EnvironmentStatusOptions): string {
  return o.kubeconfig === undefined
    ? message
    : message.replaceAll(`kubernetes.kubeconfig in ${env.file}`, "--kubeconfig");
}
