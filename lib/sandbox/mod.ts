/**
 * The sandbox: a local, single-process, Kubernetes-API-compatible cluster on 127.0.0.1
 * that the real `kubectl` and `@kubernetes/client-node` drive unchanged, with simulated
 * rollouts, pods that answer `/health` and `/metrics`, traffic, and fault scenarios.
 *
 * @module
 */
export {
  findRunningSandbox,
  type Sandbox,
  type SandboxOptions,
  SandboxRunningError,
  startSandbox,
} from "./sandbox.ts";
export { SCENARIOS } from "./scenarios.ts";
