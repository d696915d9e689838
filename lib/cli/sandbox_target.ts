/**
 * `--sandbox`: use the sandbox that is running (its kubeconfig answers), or start one
 * in this process over the same state folder and stop it when the run ends.
 * @module
 */
import { parse } from "yaml";
import { findRunningSandbox, SandboxRunningError, startSandbox } from "../sandbox/mod.ts";
import { InputError } from "../runner/errors.ts";

/** The sandbox a run talks to. */
export interface SandboxTarget {
  readonly url: string;
  readonly token: string;
  readonly kubeconfigPath: string;
  /** The sandbox's state folder (its embedded database lives in `pglite/`). */
  readonly stateDir: string;
  readonly scenario: string | undefined;
  readonly timeScale: number;
  /** Whether this process started it (and stops it in `close`). */
  readonly inProcess: boolean;
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

/**
 * Finds or starts the sandbox.
 *
 * @param o The state folder, the scenario asked for, the time scale for a new one.
 * @throws {InputError} When a running sandbox has another scenario than the one asked for.
 */
export async function sandboxTarget(
  o: { stateDir: string; scenario?: string | undefined; timeScale?: number },
): Promise<SandboxTarget> {
  const found = await findRunningSandbox(o.stateDir);
  const existing = found ? await readKubeconfig(found.kubeconfigPath) : undefined;
  const running = existing ? await info(existing.url, existing.token) : undefined;
  if (found && existing && running) {
    const scenario = running.scenario === "none" ? undefined : running.scenario;
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
      inProcess: false,
      close: () => Promise.resolve(),
    };
  }
  let sandbox;
  try {
    sandbox = await startSandbox({
      stateDir: o.stateDir,
      ...(o.scenario !== undefined ? { scenario: o.scenario } : {}),
      ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
      // Enough real requests that a 5% canary's error rate and p95 mean something.
      maxRealRate: 400,
    });
  } catch (err) {
    if (err instanceof RangeError || err instanceof SandboxRunningError) {
      throw new InputError(err.message);
    }
    throw err;
  }
  const started = await readKubeconfig(sandbox.kubeconfigPath);
  return {
    url: sandbox.url,
    token: started?.token ?? "",
    kubeconfigPath: sandbox.kubeconfigPath,
    stateDir: o.stateDir,
    scenario: sandbox.scenario,
    timeScale: sandbox.timeScale,
    inProcess: true,
    close: () => sandbox.stop(),
  };
}
