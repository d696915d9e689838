/**
 * The sandbox: a local, single-process, Kubernetes-API-compatible cluster on 127.0.0.1
 * that the real `kubectl` (1.32) and `@kubernetes/client-node` drive unchanged, with
 * simulated rollouts, pods that answer over real HTTP, traffic, and fault scenarios.
 *
 * ## Using it from the runner
 *
 * ```ts ignore
 * import { findRunningSandbox, type SandboxSeed, startSandbox } from "./mod.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const stateDir = SANDBOX_DIR;
 * // What a fresh cluster holds besides kube-system & co: the caller's data, e.g. built from
 * // its environment files. An empty seed gives just the system namespaces.
 * const seed: SandboxSeed = {
 *   namespaces: [{
 *     name: "shop-prod",
 *     labels: { app: "shop" },
 *     secrets: [{ name: "db", data: { password: "generated" } }, { name: "tls", tls: { commonName: "shop.local" } }],
 *     serviceAccounts: [{ name: "deployer", rules: [{ apiGroups: ["apps"], resources: ["*"], verbs: ["*"] }] }],
 *     networkPolicies: [{ name: "default-deny", ingress: "deny" }],
 *     loadBalancers: [{ name: "shop-lb", selector: { app: "shop" }, ports: [{ name: "http", port: 80, targetPort: 8000 }] }],
 *   }],
 * };
 * const running = await findRunningSandbox(stateDir); // live server behind <stateDir>/kubeconfig
 * const sandbox = running ? undefined : await startSandbox({ stateDir, seed, scenario: "canary-errors" });
 * const kubeconfigPath = running?.kubeconfigPath ?? sandbox!.kubeconfigPath;
 * // ... talk to it only through client-node / kubectl with that kubeconfig ...
 * await sandbox?.stop();
 * ```
 *
 * The seed is applied to a fresh cluster only (a restored state keeps what it had); it is
 * checked before anything is written (`RangeError` for a bad name, port or label).
 *
 * The kubeconfig names cluster and context `SANDBOX_CLUSTER` (from `lib/product`), server
 * `http://127.0.0.1:<port>` with `insecure-skip-tls-verify: true` (client-node refuses plain
 * HTTP otherwise) and a user with a bearer token. Loopback requests without a token are
 * admitted (kubectl does not send tokens over plain HTTP); a wrong token gets 401.
 *
 * ## API
 *
 * Discovery (`/version`, `/api`, `/apis`, group versions; legacy, not aggregated), a minimal
 * `/openapi/v3` (so `kubectl apply` leaves field validation to the server), and namespaces,
 * pods (+`status`, `log` with `container`, `tailLines`, `limitBytes`, `timestamps` and
 * `previous`, `proxy`), services (+`proxy`; a load balancer's goes through its Gateway's edge),
 * endpoints, configmaps, secrets, events, nodes, serviceaccounts, deployments and replicasets
 * (+`status`, `scale`), jobs, cronjobs, leases, networkpolicies, roles, rolebindings,
 * clusterroles, clusterrolebindings, Gateway API gateways and httproutes, the Prometheus
 * Operator's servicemonitors and prometheusrules (monitoring.coreos.com/v1, validated as its
 * CRDs), and metrics.k8s.io nodes/pods. Verbs: get, list (label and field selectors),
 * watch (from a resourceVersion, `sendInitialEvents`, Table rows for `kubectl get -w`),
 * create, update, delete (cascading through ownerReferences), deletecollection, and patch as
 * JSON patch, merge patch, strategic merge patch (415 for HTTPRoutes) and server-side apply
 * (managedFields, conflicts, `force`, the client-side-apply upgrade). `dryRun=All` and
 * `fieldValidation` (Strict: 400 for an unknown field of a known kind; Warn: dropped with a
 * `Warning` header) are honoured. Errors are `Status` objects with the real codes and reasons.
 *
 * ## Simulation
 *
 * - Deployments roll out through ReplicaSets honouring maxSurge/maxUnavailable and report
 *   status as `kubectl rollout status` reads it, including `ProgressDeadlineExceeded`.
 *   Jobs run to Complete, or Failed after `backoffLimit`. Events are recorded.
 * - A Ready pod listens on `127.0.0.1:<port>` (annotation `<SANDBOX_API_GROUP>/address`):
 *   `GET /health` answers `{status: "healthy", version, pod, namespace, service, slot,
 *   uptimeSeconds}`; `GET /metrics` answers `http_requests_total{method,path,status}` and the
 *   `http_request_duration_seconds` histogram (buckets up to 10 s, unscaled latencies).
 * - `<stateDir>/prometheus-targets.json` (Prometheus file_sd) lists each Ready pod with labels
 *   namespace, service, slot, version, pod.
 * - Traffic: per namespace, `trafficRate` requests per sandbox second (real rate capped by
 *   `maxRealRate`, default 100/s), spread over HTTPRoute rules (by backendRef weight, each
 *   weighted backend getting at least 20 real requests/s so a 5% canary stays measurable) and
 *   the Services no route refers to (LoadBalancer Services excluded), each to a Ready pod.
 * - `GET /apis/<SANDBOX_API_GROUP>/v1/namespaces/{ns}/measurements?labelSelector=...&window=60s`
 *   answers `{requests, errors, errorRate, p95Ms, window}` over the requests pods really
 *   answered in that sandbox-time window (pod labels; `errorRate`/`p95Ms` are null without
 *   requests). Under `metrics-down` it answers 503 and pods' `/metrics` answer 503.
 * - Time: one `Clock` (`lib/clock/`) for every timer and timestamp: `options.clock` (the
 *   runner's, so a virtual clock jumps for both), else a clock scaled `timeScale` times
 *   (default 60: real timestamps, every duration divided by 60). Durations are target time
 *   (start-up, deadlines, backoffs, windows, latencies served). The control loop runs on
 *   store changes and at the next deadline a controller or the kubelet knows, so an idle
 *   cluster sets no timer and a virtual clock stands still. Pods answer at once on a virtual
 *   clock (the latency they stand for is measured, not waited). `state.json` records the
 *   clock's `now()` when saved (`clockAt`, see `savedClockAt`): a sandbox refuses a clock
 *   behind it (a virtual run may have run ahead of real time), and its default clock starts
 *   no earlier. ConfigMap `kube-system/sandbox-info` names the clock (`data.clock`).
 * - Scenarios fault "the version being deployed": per namespace and image repository, the
 *   newest image tag, if it was first deployed while this sandbox runs (versions restored from
 *   earlier runs are healthy).
 *   The scenario is also in ConfigMap `kube-system/sandbox-info` (`data.scenario`).
 *
 * ## Limits
 *
 * One process on one machine (`SANDBOX_LIMITS`): at most 1000 replicas per Deployment or
 * ReplicaSet (and a Job's parallelism and completions; more is 422 Invalid), 5000 pods in the
 * cluster, 100 pods created per ReplicaSet per reconcile. A controller that fails on an
 * object records a Warning Event (`FailedCreate`, ...) and backs off that object (0.2 s,
 * doubling up to 10 s) instead of retrying it on every tick. A saved state that is corrupt or
 * over the limits is refused (`SandboxStateError`, naming `--reset`) before anything is
 * written; `reset: true` discards it. `stop()` closes connections still busy after 2 s.
 *
 * ## Not supported
 *
 * Protobuf request bodies (kubectl's generator commands such as `kubectl create configmap` or
 * `kubectl run` get 415; `kubectl create -f`/`apply -f` work), exec/attach/port-forward,
 * aggregated discovery, finalizers and graceful deletion, CronJob scheduling.
 *
 * @module
 */
export {
  findRunningSandbox,
  type Sandbox,
  type SandboxOptions,
  SandboxRunningError,
  savedClockAt,
  startSandbox,
} from "./sandbox.ts";
export { checkScenario, SCENARIOS } from "./scenarios.ts";
export { type FaultKind, type FaultSpec, parseScenario, SCENARIO_FORMS } from "./traffic_faults.ts";
export type { ServiceTrafficSeed } from "./traffic_rates.ts";
export type { GatewaySeed } from "./gateway_seed.ts";
export {
  checkSeed,
  type LoadBalancerSeed,
  type NamespaceSeed,
  type NetworkPolicySeed,
  type SandboxSeed,
  type SecretSeed,
  type SeedPolicyRule,
  type ServiceAccountSeed,
  SYSTEM_NAMESPACES,
} from "./seed.ts";
export { SandboxStateError } from "./state.ts";
export { SANDBOX_LIMITS } from "./limits.ts";
export type { ApiChaosStats, ApiFault } from "./api_chaos.ts";
