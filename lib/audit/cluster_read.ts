/**
 * Reads the cluster's record of an environment's runs the way a run reaches its cluster:
 * through the environment's Kubernetes target (`lib/targets`' `connect`, the `kubernetes`
 * capability) — the cluster of the kubeconfig, or the sandbox (`--sandbox`: the running
 * one, or one started in this process over its saved state and stopped again) — or from a
 * saved `kubectl get configmap deployment-info -o json`.
 * @module
 */
import { resolve } from "node:path";
import { ConfigError } from "../config/config_error.ts";
import { ENVIRONMENTS_DIR, loadEnvironment } from "../config/load_environment.ts";
import { InputError } from "../runner/errors.ts";
import { Redactor } from "../journal/redact.ts";
import { DEPLOYMENT_INFO_NAME } from "../kubernetes/slots.ts";
import type { KubernetesCapability } from "../kubernetes/capability.ts";
import { connect, type SandboxTarget, sandboxTarget } from "../targets/mod.ts";
import { type ClusterRecord, parseClusterRecord } from "./cluster_record.ts";

/**
 * Reads the record from a saved ConfigMap (a `kubectl get configmap ... -o json` of it, or
 * of a list holding it).
 *
 * @param path The file.
 * @returns The record.
 * @throws {TypeError} When the file is not JSON, or holds no `deployment-info` ConfigMap.
 * @throws {Deno.errors.NotFound} When there is no such file.
 *
 * @example
 * ```ts
 * import { readRecordFile } from "./cluster_read.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, '{"kind":"ConfigMap","metadata":{"name":"deployment-info"}}');
 * assert.equal((await readRecordFile(path)).history, undefined);
 * await Deno.remove(path);
 * ```
 */
export async function readRecordFile(path: string): Promise<ClusterRecord> {
  const text = await Deno.readTextFile(path);
  let value: { kind?: unknown; items?: unknown; metadata?: { name?: unknown } };
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`${path} is not JSON (${(err as Error).message})`);
  }
  if (value?.kind === "List" && Array.isArray(value.items)) {
    const found = value.items.find((i: { metadata?: { name?: unknown } }) =>
      i?.metadata?.name === DEPLOYMENT_INFO_NAME
    );
    if (!found) {
      throw new TypeError(`${path} is a list without the ${DEPLOYMENT_INFO_NAME} ConfigMap`);
    }
    value = found;
  }
  return parseClusterRecord(value, { source: path });
}

/** Where {@linkcode readClusterRecord} reads from. */
export interface ClusterSource {
  /** The environment's name (its file gives the namespace and the cluster's kubeconfig). */
  readonly environment: string;
  /** Where the environment files are (default `environments`). */
  readonly environmentsDir?: string | undefined;
  /** The sandbox's state folder (`--sandbox`); without it, the kubeconfig's cluster. */
  readonly sandboxDir?: string | undefined;
  /** Told warnings (a sandbox seeded without some environment files). */
  readonly onWarning?: ((line: string) => void) | undefined;
}

/**
 * Reads the `deployment-info` ConfigMap of the environment's namespace from its cluster or
 * the sandbox. Changes nothing.
 *
 * @param source The environment (and where its file is) and, for the sandbox, its state
 * folder.
 * @returns The record (`exists: false` when there is no ConfigMap).
 * @throws {InputError} When the environment file does not load, the cluster cannot be
 * reached or used here (no kubeconfig), or the sandbox lacks the namespace: nothing was read.
 *
 * @example
 * ```ts ignore
 * import { readClusterRecord } from "./cluster_read.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const record = await readClusterRecord({ environment: "staging", sandboxDir: SANDBOX_DIR });
 * console.log(record.history?.length);
 * ```
 */
export async function readClusterRecord(source: ClusterSource): Promise<ClusterRecord> {
  let env;
  try {
    env = await loadEnvironment(source.environment, {
      dir: source.environmentsDir ?? ENVIRONMENTS_DIR,
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new InputError(err.message);
    throw err;
  }
  const namespace = env.environment.namespace;
  let sandbox: SandboxTarget | undefined;
  if (source.sandboxDir !== undefined) {
    sandbox = await sandboxTarget({
      stateDir: resolve(source.sandboxDir),
      namespace,
      companions: false,
      // A sandbox started here from nothing is seeded from the same environment files.
      ...(source.environmentsDir ? { environmentsDir: source.environmentsDir } : {}),
      ...(source.onWarning ? { onWarning: source.onWarning } : {}),
    });
  }
  try {
    const connection = connect({
      env,
      sandbox,
      dryRun: true,
      resources: ["kubernetes"],
      redactor: new Redactor(),
      metrics: {},
      log: (line) => source.onWarning?.(line),
    });
    try {
      await connection.verify();
      const k = connection.capabilities.kubernetes as unknown as KubernetesCapability;
      const cm = await k.get(
        { apiVersion: "v1", kind: "ConfigMap" },
        namespace,
        DEPLOYMENT_INFO_NAME,
      );
      const where = sandbox
        ? `the sandbox's ${namespace}/${DEPLOYMENT_INFO_NAME}`
        : `${env.environment.cluster}'s ${namespace}/${DEPLOYMENT_INFO_NAME}`;
      return parseClusterRecord(cm, { source: where });
    } finally {
      await connection.close();
    }
  } finally {
    await sandbox?.close();
  }
}
