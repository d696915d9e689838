/**
 * `--sandbox`: use the sandbox that is running (its kubeconfig answers), or start one
 * in this process over the same state folder and stop it when the run ends. A saved state
 * the sandbox cannot load (corrupt, or over its limits) is bad input, with nothing written:
 * `--reset` discards it. A sandbox started here is seeded from the project's environment
 * files (each environment's namespace and what it holds: `loadSandboxSeed`); the files left
 * out (they do not load) are reported through `onWarning`. A sandbox (running, or restored
 * from its saved state) without the run's namespace was seeded from other environment files:
 * bad input, the message says how to reseed it.
 * @module
 */
import { type Clock, realClock, scaledClock, virtualClock } from "../clock/mod.ts";
import { parse } from "yaml";
import { ENVIRONMENTS_DIR } from "../config/mod.ts";
import { SANDBOX_DIR } from "../product/mod.ts";
import {
  findRunningSandbox,
  type Sandbox,
  type SandboxOptions,
  SandboxRunningError,
  type SandboxSeed,
  SandboxStateError,
  savedClockAt,
  startSandbox,
} from "../sandbox/mod.ts";
import { InputError } from "../runner/mod.ts";
import { formatSkipped, loadSandboxSeed } from "./sandbox_seed.ts";
import { type Environment, listEnvironments, loadEnvironment } from "../config/mod.ts";
import {
  companionPlan,
  type Companions,
  type PublishedCompanions,
  registryStorageDir,
  splitScenario,
  startCompanions,
} from "../companions/mod.ts";

/** A new sandbox's time scale on a real clock, as before the virtual clock (×60). */
const DEFAULT_TIME_SCALE = 60;

export type { Sandbox, SandboxOptions };

/** What {@linkcode startProjectSandbox} takes: the sandbox's options, and where its seed is. */
export interface ProjectSandboxOptions extends Omit<SandboxOptions, "seed"> {
  /** The environment files a fresh sandbox is seeded from (default `ENVIRONMENTS_DIR`). */
  readonly environmentsDir?: string | undefined;
  /** The seed itself (then `environmentsDir` is not read). */
  readonly seed?: SandboxSeed | undefined;
  /** Told one line per environment file left out of the seed (it does not load). */
  readonly onWarning?: ((line: string) => void) | undefined;
}

/**
 * Starts a sandbox in this process, seeded from the project's environment files (each
 * environment's namespace and what it holds: `loadSandboxSeed`; each file left out is told
 * to `onWarning`) unless a seed is given.
 * What `deno task sandbox` and `--sandbox` both start.
 *
 * @param o The sandbox's options, and the environments folder or the seed.
 * @returns The running sandbox (`stop()` saves its state).
 * @throws {InputError} For a bad option (`RangeError`), a sandbox already running on the
 *   state folder, or a saved state that cannot be loaded (the message names `--reset`).
 *   Nothing was started or written then.
 *
 * @example
 * ```ts
 * import { startProjectSandbox } from "./sandbox.ts";
 * import assert from "node:assert/strict";
 * const stateDir = await Deno.makeTempDir();
 * const sandbox = await startProjectSandbox({
 *   stateDir,
 *   environmentsDir: "tests/fixtures/second_project/environments",
 * });
 * assert.match(sandbox.url, /^http:\/\/127\.0\.0\.1:\d+$/);
 * await sandbox.stop();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 */
export async function startProjectSandbox(o: ProjectSandboxOptions): Promise<Sandbox> {
  const { environmentsDir, seed, onWarning, ...options } = o;
  let projectSeed = seed;
  if (projectSeed === undefined) {
    const loaded = await loadSandboxSeed(environmentsDir ?? ENVIRONMENTS_DIR);
    for (const skipped of loaded.skipped) onWarning?.(formatSkipped(skipped));
    projectSeed = loaded.seed;
  }
  try {
    return await startSandbox({ ...options, seed: projectSeed });
  } catch (err) {
    if (
      err instanceof RangeError || err instanceof SandboxRunningError ||
      err instanceof SandboxStateError
    ) {
      throw new InputError(err.message);
    }
    throw err;
  }
}

/** The sandbox a run talks to. */
export interface SandboxTarget {
  /** The API server's URL. */
  readonly url: string;
  /** Its bearer token. */
  readonly token: string;
  /** Its kubeconfig. */
  readonly kubeconfigPath: string;
  /** The sandbox's state folder (its embedded database lives in `pglite/`). */
  readonly stateDir: string;
  /** The scenario it runs (undefined: none). */
  readonly scenario: string | undefined;
  /** Sandbox seconds per real second (`Infinity` on a virtual clock). */
  readonly timeScale: number;
  /**
   * The clock the run shares with it: virtual for one started here (unless a real clock is
   * asked for), the running sandbox's scaled clock for one started by `deno task sandbox`.
   */
  readonly clock: Clock;
  /** What its simulated traffic is drawn from (one started here). */
  readonly randomSeed?: string | undefined;
  /** Whether this process started it (and stops it in `close`). */
  readonly inProcess: boolean;
  /**
   * Answers a request to its API in this process, without a connection (one started here
   * only): what the gates' measurements use on a virtual clock.
   */
  readonly handle?: ((request: Request) => Promise<Response>) | undefined;
  /** {@linkcode Sandbox.inspect}: `handle` for a bystander, never faulted (one started here). */
  readonly inspect?: ((request: Request) => Promise<Response>) | undefined;
  /** Its measurements endpoint's answer, in this process (one started here only). */
  readonly measure?: Sandbox["measure"] | undefined;
  /**
   * The companions started beside it (one started here, unless `companions: false`), by
   * namespace: what each namespace's `sandbox-companions` ConfigMap says (a Redis, the
   * registry, or why one is skipped). Empty for a running sandbox (none are started).
   */
  readonly companions?: ReadonlyMap<string, PublishedCompanions> | undefined;
  /** Stops it (and its companions) when this process started it (else nothing). */
  close(): Promise<void>;
}

interface Kubeconfig {
  clusters?: { cluster?: { server?: string } }[];
  users?: { user?: { token?: string } }[];
}

async function readKubeconfig(path: string): Promise<{ url: string; token: string } | undefined> {
  try {
    const doc = parse(await Deno.readTextFile(path)) as Kubeconfig;
    const url = doc.clusters?.[0]?.cluster?.server;
    const token = doc.users?.[0]?.user?.token ?? "";
    return url ? { url, token } : undefined;
  } catch {
    return undefined;
  }
}

async function info(url: string, token: string): Promise<Record<string, string> | undefined> {
  try {
    const res = await fetch(`${url}/api/v1/namespaces/kube-system/configmaps/sandbox-info`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return ((await res.json()) as { data?: Record<string, string> }).data ?? {};
  } catch {
    return undefined;
  }
}

/** What {@linkcode sandboxTarget} takes. */
export interface SandboxTargetOptions {
  /** The sandbox's state folder. */
  readonly stateDir: string;
  /** The scenario asked for (undefined: whatever a running one has; none for a new one). */
  readonly scenario?: string | undefined;
  /** Sandbox seconds per real second, for a new one on a real clock. */
  readonly timeScale?: number;
  /**
   * The clock, for a new one: `virtual` (default for one started here) or `real` (scaled by
   * `timeScale`). A running sandbox is always on its own real clock: `virtual` is refused.
   */
  readonly clock?: "virtual" | "real" | undefined;
  /** What a new one's simulated traffic is drawn from (default: `default`). */
  readonly randomSeed?: string | undefined;
  /** Start a new one from a freshly seeded cluster (its saved state discarded). */
  readonly reset?: boolean;
  /** The environment files a new one is seeded from (default `ENVIRONMENTS_DIR`). */
  readonly environmentsDir?: string | undefined;
  /** The seed itself (then `environmentsDir` is not read). */
  readonly seed?: SandboxSeed | undefined;
  /** The run's namespace: the sandbox must have it (else {@linkcode InputError}). */
  readonly namespace?: string | undefined;
  /** Told one line per environment file left out of a new one's seed. */
  readonly onWarning?: ((line: string) => void) | undefined;
  /**
   * Start companions beside a new one: real `redis-server` and `docker-registry` where
   * installed (`lib/companions`). Default: when the sandbox is seeded from the environment
   * files (not when a `seed` is given, as simulations do: they leave them out for speed).
   */
  readonly companions?: boolean | undefined;
  /** The version being deployed (e.g. `1.2.4`): the companion registry holds its images. */
  readonly version?: string | undefined;
  /**
   * What tells this sandbox's companion addresses from another's rehearsing the same
   * namespace (`companionAddress`); the pipeline must be given the same as
   * `--option companion-scope=...` (default: none, for both).
   */
  readonly companionScope?: string | undefined;
}

/** Whether the sandbox has `namespace` (undefined: it did not say, e.g. unreachable). */
async function hasNamespace(
  url: string,
  token: string,
  namespace: string,
): Promise<boolean | undefined> {
  try {
    const res = await fetch(`${url}/api/v1/namespaces/${encodeURIComponent(namespace)}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel();
    return res.ok ? true : res.status === 404 ? false : undefined;
  } catch {
    return undefined;
  }
}

/** The error for a sandbox without the run's namespace: how to reseed it. */
function missingNamespace(
  o: SandboxTargetOptions,
  url: string,
  inProcess: boolean,
): InputError {
  const envs = o.environmentsDir ? ` --environments-dir ${o.environmentsDir}` : "";
  const dir = o.stateDir === SANDBOX_DIR ? "" : ` --state-dir ${o.stateDir}`;
  const how = inProcess
    ? `run again with --reset${envs} to discard its saved state and seed it afresh`
    : `stop it (deno task sandbox stop${dir}) and restart it with deno task sandbox --reset${dir}${envs}`;
  return new InputError(
    `The sandbox at ${url} has no namespace "${o.namespace}": it was seeded from other ` +
      `environment files${inProcess ? " (its saved state is older than these)" : ""}; ` +
      `${how}. Nothing of this run was written`,
  );
}

/**
 * Finds or starts the sandbox.
 *
 * @param o The state folder, the scenario asked for, the time scale for a new one,
 *   `reset` to start a new one from a freshly seeded cluster (its saved state discarded),
 *   and the environments folder a new one is seeded from (default `ENVIRONMENTS_DIR`) or
 *   the seed itself; the run's namespace, which the sandbox must have; where to tell the
 *   environment files left out of a new one's seed.
 * @throws {InputError} When a running sandbox has another scenario than the one asked for,
 *   or is asked to `reset`; when the saved state cannot be loaded (the message names
 *   `--reset`); for a bad option; when the sandbox (running, or restored here from its saved
 *   state) lacks `namespace` (the message says how to reseed it; one started here is stopped
 *   again). Nothing of the run was written then.
 *
 * @example
 * ```ts ignore
 * import { sandboxTarget } from "./sandbox.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const sandbox = await sandboxTarget({ stateDir: SANDBOX_DIR, reset: true });
 * console.log(sandbox.url, sandbox.inProcess);
 * await sandbox.close();
 * ```
 */
export async function sandboxTarget(o: SandboxTargetOptions): Promise<SandboxTarget> {
  const target = await findOrStart(o);
  if (o.namespace !== undefined) {
    if ((await hasNamespace(target.url, target.token, o.namespace)) === false) {
      await target.close();
      throw missingNamespace(o, target.url, target.inProcess);
    }
  }
  return target;
}

async function findOrStart(o: SandboxTargetOptions): Promise<SandboxTarget> {
  const found = await findRunningSandbox(o.stateDir);
  const existing = found ? await readKubeconfig(found.kubeconfigPath) : undefined;
  const running = existing ? await info(existing.url, existing.token) : undefined;
  if (found && existing && running) {
    const scenario = running.scenario === "none" ? undefined : running.scenario;
    if (o.reset) {
      throw new InputError(
        `A sandbox is running at ${existing.url} on ${o.stateDir}: --reset cannot discard ` +
          "the state of a running sandbox; stop it first (or restart it with --reset)",
      );
    }
    if (o.clock === "virtual") {
      throw new InputError(
        `A sandbox is running at ${existing.url} on a real clock (×${running.timeScale ?? "1"}): ` +
          "--clock virtual needs the sandbox in this process; stop it (deno task sandbox stop) " +
          "or drop --clock virtual",
      );
    }
    if (o.scenario !== undefined && o.scenario !== scenario) {
      throw new InputError(
        `A sandbox is running at ${existing.url} with scenario "${scenario ?? "none"}": ` +
          `stop it (or restart it with --scenario ${o.scenario}) to rehearse "${o.scenario}"`,
      );
    }
    return {
      ...existing,
      kubeconfigPath: found.kubeconfigPath,
      stateDir: o.stateDir,
      scenario,
      timeScale: Number(running.timeScale ?? "1"),
      clock: scaledClock(Number(running.timeScale ?? "1")),
      inProcess: false,
      companions: new Map(),
      close: () => Promise.resolve(),
    };
  }
  // --reset starts afresh: the companion registry's kept images and keys go with the state.
  if (o.reset) {
    await Deno.remove(registryStorageDir(o.stateDir), { recursive: true }).catch(() => {});
  }
  const randomSeed = o.randomSeed ?? "default";
  // Times saved by an earlier run (a virtual one may have run ahead of the wall) are never
  // in this run's future: its clock starts at or after them.
  const savedAt = o.reset ? undefined : await savedClockAt(o.stateDir).catch(() => undefined);
  const now = realClock.now();
  const clock = o.clock === "real"
    ? scaledClock(o.timeScale ?? DEFAULT_TIME_SCALE, Math.max(0, (savedAt ?? 0) - now))
    : virtualClock({ startMs: Math.max(now, savedAt ?? 0) });
  const split = splitScenario(o.scenario);
  const sandbox = await startProjectSandbox({
    stateDir: o.stateDir,
    clock,
    randomSeed,
    environmentsDir: o.environmentsDir,
    seed: o.seed,
    onWarning: o.onWarning,
    ...(split.sandbox !== undefined ? { scenario: split.sandbox } : {}),
    ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
    ...(o.reset ? { reset: true } : {}),
    // Enough real requests that a 5% canary's error rate and p95 mean something.
    maxRealRate: 400,
  });
  const started = await readKubeconfig(sandbox.kubeconfigPath);
  const token = started?.token ?? "";
  let companions: Companions | undefined;
  if (o.companions ?? o.seed === undefined) {
    try {
      companions = await startCompanions({
        stateDir: o.stateDir,
        scope: o.companionScope,
        clock,
        api: (request) => {
          request.headers.set("authorization", `Bearer ${token}`);
          return sandbox.handle(request);
        },
        ...companionPlan(await projectEnvironments(o.environmentsDir), {
          version: o.version?.replace(/^v/, ""),
          scenario: o.scenario,
        }),
      });
    } catch (err) {
      await sandbox.stop();
      throw err;
    }
  }
  return {
    url: sandbox.url,
    token,
    kubeconfigPath: sandbox.kubeconfigPath,
    stateDir: o.stateDir,
    scenario: o.scenario !== undefined && split.sandbox !== o.scenario
      ? o.scenario
      : sandbox.scenario,
    timeScale: clock.scale,
    clock,
    randomSeed,
    inProcess: true,
    handle: (request) => sandbox.handle(request),
    inspect: (request) => sandbox.inspect(request),
    measure: (namespace, params) => sandbox.measure(namespace, params),
    companions: companions?.published ?? new Map(),
    close: async () => {
      await companions?.stop();
      await sandbox.stop();
    },
  };
}

/** The project's environments that load (the others are already told by the seed). */
async function projectEnvironments(dir: string | undefined): Promise<Environment[]> {
  const options = { dir: dir ?? ENVIRONMENTS_DIR };
  const envs: Environment[] = [];
  for (const name of await listEnvironments(options)) {
    try {
      envs.push(await loadEnvironment(name, options));
    } catch {
      // left out of the seed too (onWarning said so)
    }
  }
  return envs;
}
