/**
 * Pods that run a command and end — `kubectl run h --rm -i --restart=Never -- curl …`: a
 * bare pod (no controller) with `restartPolicy` Never or OnFailure whose container has a
 * `command` or `args`. Once Running it runs that command as {@linkcode runPodCommand} does
 * (a container with `stdin: true`, as `kubectl run -i` makes it, waits for its attach), its
 * output goes to its log and to the attach, and the pod ends Succeeded or Failed with the
 * exit code.
 * @module
 */
import type { Store } from "./store.ts";
import { meta } from "./store.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";
import { type CommandResult, runPodCommand } from "./pod_command.ts";
import { podEnv, podResolver } from "./pod_stream.ts";
import { podReady } from "./replicasets.ts";
import { matchesSelectorObject } from "./selectors.ts";
import type { Api } from "./api.ts";

type JsonMap = Record<string, unknown>;

interface Run {
  started: boolean;
  attached: boolean;
  result?: CommandResult;
  listeners: ((result: CommandResult) => void)[];
  wakeOnAttach?: () => void;
}

// Keyed by pod uid (unique across sandboxes in one process): the kubelet runs, the API
// server's attach reads.
const RUNS = new Map<string, Run>();

/**
 * The command a pod runs and ends with, or undefined for a pod that serves.
 *
 * @param pod The pod.
 * @returns `command` then `args` of its first container.
 *
 * @example
 * ```ts
 * import { podCommand } from "./pod_command_run.ts";
 * import assert from "node:assert/strict";
 * const pod = { metadata: { name: "h" }, spec: { restartPolicy: "Never", containers: [{ name: "h", args: ["curl", "-s", "http://web/health"] }] } };
 * assert.deepEqual(podCommand(pod), ["curl", "-s", "http://web/health"]);
 * ```
 */
export function podCommand(pod: KObject): string[] | undefined {
  const spec = (pod.spec ?? {}) as JsonMap;
  if (spec.restartPolicy !== "Never" && spec.restartPolicy !== "OnFailure") return undefined;
  if (((meta(pod).ownerReferences ?? []) as JsonMap[]).some((r) => r.controller)) return undefined;
  const c = ((spec.containers ?? []) as JsonMap[])[0] ?? {};
  const argv = [...((c.command ?? []) as string[]), ...((c.args ?? []) as string[])];
  return argv.length > 0 ? argv.map(String) : undefined;
}

/** The API-shaped reads a run needs, from the kubelet's store and pod ports. */
function storeApi(store: Store, ports: () => Map<string, number>) {
  const pods = findResource("", "v1", "pods") as ResourceType;
  const services = findResource("", "v1", "services") as ResourceType;
  const proxyPort = (ns: string, target: { kind: "pods" | "services"; name: string }) => {
    const open = ports();
    if (target.kind === "pods") {
      const pod = store.peek(pods, ns, target.name);
      return pod ? open.get(String(meta(pod).uid)) : undefined;
    }
    const selector = ((store.peek(services, ns, target.name)?.spec ?? {}) as JsonMap).selector as
      | Record<string, string>
      | undefined;
    if (!selector) return undefined;
    const ready = store.scan(pods, ns).find((p) =>
      podReady(p) && open.has(String(meta(p).uid)) &&
      matchesSelectorObject({ matchLabels: selector }, meta(p).labels as Record<string, string>)
    );
    return ready ? open.get(String(meta(ready).uid)) : undefined;
  };
  return { api: { store } as unknown as Api, proxyPort };
}

/**
 * The kubelet's step for a command pod that is Running: starts its command (once; after an
 * attach when its container takes stdin) and tells whether it has ended.
 *
 * @param pod The pod (Running).
 * @param deps The store, the Ready pods' loopback ports, and how to have the pod synced
 *   again when the command ends or its attach arrives.
 * @returns The result once the command has ended, else undefined.
 *
 * @example
 * ```ts ignore
 * import { commandPodStep } from "./pod_command_run.ts";
 * const result = commandPodStep(pod, { store, ports: () => kubelet.ports(), wake });
 * ```
 */
export function commandPodStep(
  pod: KObject,
  deps: { store: Store; ports: () => Map<string, number>; wake(): void },
): CommandResult | undefined {
  const uid = String(meta(pod).uid);
  const run = RUNS.get(uid) ?? { started: false, attached: false, listeners: [] };
  RUNS.set(uid, run);
  if (run.result || run.started) return run.result;
  const c = (((pod.spec as JsonMap).containers ?? []) as JsonMap[])[0] ?? {};
  if (c.stdin === true && !run.attached) {
    run.wakeOnAttach = deps.wake;
    return undefined;
  }
  run.started = true;
  const { api, proxyPort } = storeApi(deps.store, deps.ports);
  void runPodCommand(podCommand(pod) ?? [], {
    hostname: String(meta(pod).name),
    namespace: String(meta(pod).namespace),
    podIP: String(((pod.status ?? {}) as JsonMap).podIP ?? ""),
    env: podEnv(api, pod, c),
    resolve: podResolver({ api, proxyPort, pod }),
  }).then((result) => {
    run.result = result;
    for (const listener of run.listeners.splice(0)) listener(result);
    deps.wake();
  });
  return undefined;
}

/**
 * An attach to a command pod: its output and exit code once the command ends (the attach
 * is what a `stdin: true` container waits for), or undefined for a pod that serves.
 *
 * @param pod The pod.
 * @returns Output parts and the exit code.
 *
 * @example
 * ```ts ignore
 * import { attachCommandPod } from "./pod_command_run.ts";
 * const attached = attachCommandPod(pod);
 * ```
 */
export function attachCommandPod(pod: KObject):
  | {
    output: AsyncIterable<{ stdout?: Uint8Array; stderr?: string }>;
    exitCode: Promise<number>;
  }
  | undefined {
  if (!podCommand(pod)) return undefined;
  const uid = String(meta(pod).uid);
  const run = RUNS.get(uid) ?? { started: false, attached: false, listeners: [] };
  RUNS.set(uid, run);
  run.attached = true;
  const result = run.result
    ? Promise.resolve(run.result)
    : new Promise<CommandResult>((resolve) => run.listeners.push(resolve));
  run.wakeOnAttach?.();
  delete run.wakeOnAttach;
  return {
    output: (async function* () {
      const r = await result;
      yield { stdout: r.stdout, stderr: r.stderr };
    })(),
    exitCode: result.then((r) => r.exitCode),
  };
}

/**
 * Forgets a pod's run (the pod is gone).
 *
 * @param uid The pod's uid.
 *
 * @example
 * ```ts
 * import { forgetCommandPod } from "./pod_command_run.ts";
 * forgetCommandPod("0b6f-…");
 * ```
 */
export function forgetCommandPod(uid: string): void {
  RUNS.delete(uid);
}
