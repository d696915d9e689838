/**
 * Everything that happens before a run may change anything: type-check the pipeline,
 * load and validate the environment, build and validate the graph, resolve each
 * stage's permissions, and check that approvals can be given. Any problem here is an
 * {@linkcode InputError} (exit 2) and nothing has been touched.
 * @module
 */
import { resolve } from "node:path";
import type { Clock } from "../clock/clock.ts";
import { pathToFileURL } from "node:url";
import type { MetricDefinition } from "../dsl/gate.ts";
import type { StageDescription } from "../dsl/describe.ts";
import type { Version } from "../dsl/types.ts";
import { ConfigError, type Environment, loadEnvironment, secretRefs } from "../config/mod.ts";
import { resourceGrant } from "../capabilities/mod.ts";
import { STATE_DIR } from "../product/mod.ts";
import { MIN_SECRET_LENGTH, Redactor } from "../journal/redact.ts";
import { buildDag, type Dag, DagError } from "./dag.ts";
import { InputError } from "./errors.ts";
import { type StageGrant, stageGrant } from "./permissions.ts";
import { moduleGraphProblems, readModuleGraph, typeCheck } from "./typecheck.ts";
import { nodeRoutes } from "./node_routes.ts";
import { describePipeline, LOAD_TIMEOUT_ENV, type PipelineInfo } from "./describe.ts";
import { parseDuration } from "../dsl/duration.ts";
import { versionArgument } from "./version.ts";

/** What to prepare. */
export interface PrepareOptions {
  /** The pipeline file. */
  readonly pipelineFile: string;
  /** The environment's name (a file in `environmentsDir`). */
  readonly environment: string;
  /** The version argument, if any. */
  readonly version?: string | undefined;
  /** Extra options handed to the pipeline. */
  readonly options?: Readonly<Record<string, string>>;
  /** Where environment files are (default `environments`). */
  readonly environmentsDir?: string;
  /** Skip `deno check` (the caller already checked). */
  readonly skipTypeCheck?: boolean;
  /** Stops preparing (SIGINT/SIGTERM while the pipeline module loads). */
  readonly signal?: AbortSignal;
  /**
   * The time the pipeline module may take to load and build (default: the environment
   * variable `PIPELINE_LOAD_TIMEOUT`, a duration, or 30 s).
   */
  readonly describeTimeoutMs?: number;
  /** Paths no stage may be granted without `fullTrust` (runs folder, sandbox state, kubeconfig). */
  readonly protectedPaths?: readonly string[];
  /** Reads environment variables for secret references (default `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /**
   * The run's clock, held while the run is prepared (all real work), so that a sandbox on
   * the same virtual clock does not move meanwhile.
   */
  readonly clock?: Clock | undefined;
}

/** A prepared run: everything validated, nothing changed. */
export interface PreparedRun {
  /** The pipeline module's path, as given. */
  readonly pipelineFile: string;
  /** Its `file:` URL (what the stage Workers import). */
  readonly pipelineUrl: string;
  /**
   * Whether its stage Workers load Node's modules as they start, to reroute their output
   * (its graph imports an npm package or a Node module that can print: `./node_routes.ts`).
   * Absent: they do.
   */
  readonly nodeGuard?: boolean | undefined;
  /** The pipeline's name and settings, as its module built them. */
  readonly definition: PipelineInfo;
  /** The metrics the pipeline module exports as `metrics` (gates measure these). */
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** The environment file, loaded and validated. */
  readonly env: Environment;
  /** The version to deploy (undefined for pipelines that take none). */
  readonly version: Version | undefined;
  /** The `--option key=value` pairs. */
  readonly options: Readonly<Record<string, string>>;
  /** The stages, in definition order, as the pipeline described them. */
  readonly stages: readonly StageDescription[];
  /** The stages' dependency graph, checked acyclic. */
  readonly dag: Dag;
  /** What each stage's Worker is granted, by stage name. */
  readonly grants: ReadonlyMap<string, StageGrant>;
  /** Knows the run's secret values and hides them in everything written. */
  readonly redactor: Redactor;
  /** Stages that will ask for approval, with their phrases. */
  readonly approvals: readonly { stage: string; phrase: string }[];
  /** Secret references set to no value here (stages using them will fail). */
  readonly unresolvedSecrets: readonly string[];
}

/**
 * The paths no stage is granted by default: the project's state folder (`STATE_DIR`: runs,
 * sandbox state and its admin kubeconfig), the user's kubeconfig.
 *
 * @returns Absolute or working-directory-relative paths.
 *
 * @example
 * ```ts
 * import { defaultProtectedPaths } from "./prepare.ts";
 * import assert from "node:assert/strict";
 * import { STATE_DIR } from "../product/mod.ts";
 * assert.ok(defaultProtectedPaths().includes(STATE_DIR));
 * ```
 */
export function defaultProtectedPaths(): string[] {
  const home = Deno.env.get("HOME");
  const kubeconfig = Deno.env.get("KUBECONFIG")?.split(":").filter((p) => p !== "") ?? [];
  return [STATE_DIR, ...kubeconfig, ...(home ? [`${home}/.kube`] : [])];
}

export { MIN_SECRET_LENGTH };

/**
 * The pipeline file exists and (unless skipped) type-checks; and whether its stage Workers
 * must load Node's modules as they start, to reroute their output (`./node_routes.ts`;
 * when its graph cannot be read, they must).
 */
async function checkPipelineFile(
  o: PrepareOptions,
): Promise<{ pipelineFile: string; nodeGuard: boolean }> {
  const pipelineFile = resolve(o.pipelineFile);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(pipelineFile);
  } catch {
    throw new InputError(`Cannot find pipeline file ${o.pipelineFile}`);
  }
  if (info.isDirectory) {
    throw new InputError(`Pipeline file ${o.pipelineFile} is a folder: name a .ts file`);
  }
  const graph = await readModuleGraph(pipelineFile);
  const nodeGuard = !graph.ok ||
    nodeRoutes(graph.modules, pathToFileURL(pipelineFile).href).length > 0;
  if (o.skipTypeCheck) {
    // Not type-checked, but it must load: a module that does not parse or an import of a
    // missing file is named here, before a Worker would fail on it.
    const problems = await moduleGraphProblems(pipelineFile, graph);
    if (problems.length > 0) {
      throw new InputError(
        `Pipeline ${o.pipelineFile} cannot be loaded:\n` +
          problems.map((p) => `  ${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n"),
      );
    }
    return { pipelineFile, nodeGuard };
  }
  const problems = await typeCheck(pipelineFile);
  if (problems.length > 0) {
    throw new InputError(
      `Pipeline ${o.pipelineFile} does not type-check:\n` +
        problems.map((p) => `  ${p.file}:${p.line}:${p.column}: ${p.message} (${p.code})`)
          .join("\n"),
    );
  }
  return { pipelineFile, nodeGuard };
}

async function environmentOf(o: PrepareOptions): Promise<Environment> {
  try {
    return await loadEnvironment(
      o.environment,
      o.environmentsDir ? { dir: o.environmentsDir } : {},
    );
  } catch (err) {
    if (err instanceof ConfigError) throw new InputError(err.message, { cause: err });
    throw err;
  }
}

function dagOf(stages: readonly StageDescription[]): Dag {
  try {
    return buildDag(stages);
  } catch (err) {
    if (err instanceof DagError) throw new InputError(err.message, { cause: err });
    throw err;
  }
}

function grantsOf(
  stages: readonly StageDescription[],
  env: Environment,
  o: PrepareOptions,
): Map<string, StageGrant> {
  const grants = new Map<string, StageGrant>();
  for (const s of stages) {
    try {
      grants.set(
        s.id,
        stageGrant(s, (r) => resourceGrant(env, r), {
          namespace: env.environment.namespace,
          protectedPaths: [...defaultProtectedPaths(), ...(o.protectedPaths ?? [])],
        }),
      );
    } catch (err) {
      throw new InputError(`Stage "${s.id}": ${(err as Error).message}`, { cause: err });
    }
  }
  return grants;
}

/**
 * Every secret value this process can see is registered for redaction (those held in
 * Kubernetes are registered by the capability that reads them); unset ones are listed.
 */
function secretsOf(env: Environment, o: PrepareOptions) {
  const redactor = new Redactor();
  const unresolvedSecrets: string[] = [];
  const readEnv = o.readEnv ?? ((name: string) => Deno.env.get(name));
  for (const { path, ref } of secretRefs(env)) {
    if (!("from_env" in ref)) continue;
    const value = readEnv(ref.from_env);
    if (value === undefined || value === "") unresolvedSecrets.push(`${path} (${ref.from_env})`);
    else if (value.length < MIN_SECRET_LENGTH) {
      throw new InputError(
        `Secret ${path} (from ${ref.from_env}) is shorter than ${MIN_SECRET_LENGTH} characters: ` +
          "too short to be a real secret or to be kept out of logs; set a longer value",
      );
    } else redactor.add(value);
  }
  return { redactor, unresolvedSecrets };
}

/** Every gate measures a metric the pipeline module exports. */
function checkGateMetrics(
  stages: readonly StageDescription[],
  metrics: Readonly<Record<string, MetricDefinition>>,
  pipelineFile: string,
): void {
  for (const s of stages) {
    for (const g of s.gates) {
      if (!metrics[g.gate.metric]) {
        throw new InputError(
          `Stage "${s.id}" gates on "${g.gate.metric}", but ${pipelineFile} exports no such metric: ` +
            `add \`export { metrics } from "./metrics.ts"\` to the pipeline file`,
        );
      }
    }
  }
}

/**
 * Validates a run without side effects: the pipeline file (found, type-checked), the
 * environment, the version, the pipeline's stages (built in a Worker with no permissions),
 * the graph, each stage's grant, the secrets and the gates' metrics.
 *
 * @param o What to prepare.
 * @returns The prepared run.
 * @throws {InputError} With a message naming the file and line, the field, or the stages.
 */
export async function prepareRun(o: PrepareOptions): Promise<PreparedRun> {
  // All of it is real work (files, the type check, a Worker): a virtual clock stands still.
  const release = o.clock?.hold("preparing the run");
  try {
    return await prepare(o);
  } finally {
    release?.();
  }
}

/** `PIPELINE_LOAD_TIMEOUT` in ms (1 ms to 1 h), or undefined when it is not set. */
function loadTimeoutOf(readEnv: (name: string) => string | undefined): number | undefined {
  const text = readEnv(LOAD_TIMEOUT_ENV);
  if (text === undefined || text === "") return undefined;
  let ms = NaN;
  try {
    ms = parseDuration(text);
  } catch { /* below */ }
  if (!(ms > 0 && ms <= 3_600_000)) {
    throw new InputError(
      `${LOAD_TIMEOUT_ENV}=${JSON.stringify(text)}: expected a duration from 1ms to 1h such ` +
        "as 30s or 2m (how long a pipeline module may take to load)",
    );
  }
  return ms;
}

async function prepare(o: PrepareOptions): Promise<PreparedRun> {
  const describeTimeoutMs = o.describeTimeoutMs ??
    loadTimeoutOf(o.readEnv ?? ((name) => Deno.env.get(name)));
  const { pipelineFile, nodeGuard } = await checkPipelineFile(o);
  const env = await environmentOf(o);
  const pipelineUrl = pathToFileURL(pipelineFile).href;
  const options = o.options ?? {};
  let version: Version | undefined;
  const described = await describePipeline(pipelineUrl, {
    file: o.pipelineFile,
    ...(describeTimeoutMs !== undefined ? { timeoutMs: describeTimeoutMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    context: (info) => {
      if (o.version !== undefined) version = versionArgument(o.version);
      else if (info.options.requiresVersion) {
        throw new InputError(`Pipeline "${info.name}" needs a version, e.g. v1.2.4`);
      }
      return { env, version, options };
    },
  });
  const { definition, stages, metrics } = described;
  const dag = dagOf(stages);
  const grants = grantsOf(stages, env, o);
  const { redactor, unresolvedSecrets } = secretsOf(env, o);
  const approvals = stages
    .filter((s) => s.approval && (s.when?.condition ?? true))
    .map((s) => ({ stage: s.id, phrase: s.approval!.phrase }));
  checkGateMetrics(stages, metrics, o.pipelineFile);
  return {
    pipelineFile,
    pipelineUrl,
    nodeGuard,
    definition,
    metrics,
    env,
    version,
    options,
    stages,
    dag,
    grants,
    redactor,
    approvals,
    unresolvedSecrets,
  };
}
