/**
 * Reading a pod's log through the API server (`GET .../pods/{name}/log`, what `kubectl logs`
 * asks): the main thread's half of the capability's `podLogs`.
 * @module
 */
import type { KubeClient } from "./client.ts";
import { apiError } from "./client.ts";

/** What part of a pod's log to read. */
export interface PodLogOptions {
  /** The last this many lines (all when unset). */
  readonly tailLines?: number | undefined;
  /** The container (the pod's only one when unset). */
  readonly container?: string | undefined;
}

/**
 * Reads a pod's log as text.
 *
 * @param client The main thread's client (the request holds its clock).
 * @param namespace The pod's namespace.
 * @param pod The pod's name.
 * @param options Lines and container.
 * @returns The log text (newline-terminated lines).
 * @throws {RangeError} For a `tailLines` that is not a whole number ≥ 0.
 * @throws {import("./errors.ts").KubernetesApiError} Naming the pod, the status and the API's message.
 *
 * @example
 * ```ts ignore
 * const text = await readPodLogs(client, "shop-prod", "web-blue-abc12", { tailLines: 10 });
 * ```
 */
export async function readPodLogs(
  client: KubeClient,
  namespace: string,
  pod: string,
  options: PodLogOptions = {},
): Promise<string> {
  const { tailLines, container } = options;
  if (tailLines !== undefined && (!Number.isInteger(tailLines) || tailLines < 0)) {
    throw new RangeError(
      `Cannot read the log of pod ${namespace}/${pod}: tailLines must be a whole number >= 0, got ${tailLines}`,
    );
  }
  try {
    return await client.core.readNamespacedPodLog({
      name: pod,
      namespace,
      ...(tailLines !== undefined ? { tailLines } : {}),
      ...(container ? { container } : {}),
    });
  } catch (error) {
    throw apiError(error, "read the log of", `pod ${namespace}/${pod}`);
  }
}
