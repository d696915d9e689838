import { type Sandbox, type SandboxOptions, startSandbox } from "../../lib/sandbox/mod.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";

/** A sandbox started for a test, with a temp state dir and a kubectl runner. */
export interface TestSandbox {
  sandbox: Sandbox;
  stateDir: string;
  /** Run the real kubectl against the sandbox; returns stdout, stderr and exit code. */
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Run kubectl and fail the test unless it exits 0; returns stdout. */
  kubectlOk(...args: string[]): Promise<string>;
  /** The arguments that point kubectl at this sandbox (kubeconfig and cache dir). */
  kubectlArgs: string[];
  /** Stop the sandbox and remove the temp dirs. */
  close(): Promise<void>;
}

/**
 * Start a sandbox on port 0 in a fresh temp dir (time scale 600 unless given), seeded from
 * the repository's `environments/` unless a seed is given.
 */
export async function withSandbox(
  options: Partial<SandboxOptions> = {},
): Promise<TestSandbox> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "sandbox-test-" });
  const cacheDir = await Deno.makeTempDir({ prefix: "kubectl-cache-" });
  const sandbox = await startSandbox({
    timeScale: 600,
    trafficRate: 50,
    seed: options.seed ?? await sandboxSeedFromDir(),
    ...options,
    stateDir,
    port: 0,
  });
  const kubectl = async (...args: string[]) => {
    const out = await new Deno.Command("kubectl", {
      args: ["--kubeconfig", sandbox.kubeconfigPath, "--cache-dir", cacheDir, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  };
  return {
    sandbox,
    stateDir,
    kubectl,
    kubectlArgs: ["--kubeconfig", sandbox.kubeconfigPath, "--cache-dir", cacheDir],
    async kubectlOk(...args: string[]) {
      const r = await kubectl(...args);
      if (r.code !== 0) {
        throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
      }
      return r.stdout;
    },
    async close() {
      await sandbox.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
      if (!options.stateDir) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** A Deployment manifest (with a Service) for tests. */
export function deploymentYaml(
  options: { name: string; namespace: string; version: string; replicas?: number; slot?: string },
): string {
  const slot = options.slot ?? "blue";
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${options.name}
  namespace: ${options.namespace}
  labels: {app: tracktion, service: ${options.name}, slot: ${slot}}
spec:
  replicas: ${options.replicas ?? 2}
  progressDeadlineSeconds: 600
  selector:
    matchLabels: {app: tracktion, service: ${options.name}, slot: ${slot}}
  template:
    metadata:
      labels: {app: tracktion, service: ${options.name}, slot: ${slot}, version: "${options.version}"}
    spec:
      containers:
      - name: app
        image: registry.local/${options.name}:${options.version}
        ports: [{containerPort: 8000}]
        env: [{name: LOG_LEVEL, value: info}]
---
apiVersion: v1
kind: Service
metadata:
  name: ${options.name}
  namespace: ${options.namespace}
spec:
  selector: {service: ${options.name}, slot: ${slot}}
  ports: [{port: 80, targetPort: 8000}]
`;
}

/** Write text to a temp file; returns its path. */
export async function tempFile(text: string, suffix = ".yaml"): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "sandbox-manifest-", suffix });
  await Deno.writeTextFile(path, text);
  return path;
}

/** A `deno task sandbox` subprocess that has printed its ready line. */
export interface SandboxProcess {
  /** The process (stdout and stderr piped). */
  readonly child: Deno.ChildProcess;
  /** Its first line on stdout (`sandbox ready: server=... kubeconfig=...`), trimmed. */
  readonly line: string;
  /** The rest of its stdout. */
  readonly reader: ReadableStreamDefaultReader<string>;
  /** How long it took from spawn to the ready line, in ms (a measured bound for later waits). */
  readonly startupMs: number;
}

/**
 * Spawns `deno run -A lib/cli/main.ts sandbox --state-dir <dir> --port 0 <extra>` and waits
 * for its ready line (the kubeconfig and the pid file are written by then).
 */
export async function spawnSandboxCli(
  stateDir: string,
  extra: readonly string[] = [],
): Promise<SandboxProcess> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../lib/cli/main.ts", import.meta.url).pathname,
      "sandbox",
      "--state-dir",
      stateDir,
      "--port",
      "0",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  return { child, line: out.trim(), reader, startupMs: performance.now() - started };
}
