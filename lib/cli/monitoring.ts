/**
 * `deno task monitoring render <environment> [--out <dir>]`: the environment's alert rules,
 * ServiceMonitors and Grafana dashboard, generated from what the deploy pipeline declares — its
 * `metrics` (their PromQL and unit) and the bounds of its gates (per metric the loosest, so a
 * version the canary let through stays quiet). Without `--out`, multi-document YAML on stdout;
 * with it, files. Exit 0 rendered; 2 bad input, nothing written.
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { ConfigError, ENVIRONMENTS_DIR, listEnvironments, loadEnvironment } from "../config/mod.ts";
import { createKubernetesCapability } from "../kubernetes/provider.ts";
import { readRunRecord } from "../kubernetes/strategies/mod.ts";
import { InputError, type PreparedRun, prepareRun } from "../runner/mod.ts";
import { kubeTarget } from "../targets/kube_target.ts";
import {
  type AlertBound,
  boundsFromGates,
  DEFAULT_WINDOW,
  manifestsYaml,
  monitoringFiles,
  type MonitoringSpec,
  promDuration,
  renderMonitoring,
  serveDeployRecordMetrics,
} from "../monitoring/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `monitoring` (`deno task monitoring --help` prints it).
 *
 * @example
 * ```ts
 * import { MONITORING_USAGE } from "./monitoring.ts";
 * console.assert(MONITORING_USAGE.startsWith("usage: deno task monitoring render"));
 * ```
 */
export const MONITORING_USAGE: string =
  `usage: deno task monitoring render <environment> [--out <dir>] [options]
       deno task monitoring record-metrics <environment> --kubeconfig <file> [--listen <host:port>]

Generates the environment's monitoring from the pipeline's declared metrics and its gates:
a PrometheusRule (per metric, service and slot: the metric's own query beyond the loosest gate
on it — e.g. HighErrorRate at >= 1% where canary-5 gates error_rate < 1%; PodRestarting,
PodCrashLooping, and DeployFailed on the deploy record's deploy_record_run_failed), a
ServiceMonitor per service, and a Grafana dashboard (a panel per metric per service, deploy
annotations). An environment whose pipeline has no gates (blue-green) takes the bounds the
pipeline gates on in the other environments. Without --out, prints every object as
multi-document YAML (the dashboard in a ConfigMap labelled grafana_dashboard=1).

Options:
  --out <dir>              write rules.yml (a plain Prometheus rule file: promtool check rules,
                           rule_files), servicemonitors.yml, prometheusrule.yml,
                           dashboard-configmap.yml, monitoring.yml (all objects) and
                           dashboard.json; the folder is made if its parent exists
  --window <duration>      the queries' window (default ${DEFAULT_WINDOW}; e.g. 1m for a rehearsal)
  --for <duration>         how long a condition holds before its alert fires (default
                           ${DEFAULT_WINDOW}; 0s fires at the first evaluation)
  --interval <duration>    the ServiceMonitors' scrape interval (default 30s)
  --restarts <n>           restarts within the window that fire PodRestarting (default 3)
  --label <key=value>      a label on every object (e.g. release=prometheus), repeatable
  --pipeline <file>        the pipeline (default pipelines/deploy.ts)
  --environments-dir <dir> the environments folder (default ${ENVIRONMENTS_DIR})
  -h, --help               show this help

record-metrics serves the environment's deploy record (its deployment-info ConfigMap) as
Prometheus metrics at /metrics, read afresh on each scrape, until SIGINT/SIGTERM: the source of
DeployFailed (deploy_record_run_failed) and of the dashboard's deploy annotations. Scrape it with
honor_labels: true (its namespace and app labels are the record's).
  --kubeconfig <file>      the cluster's kubeconfig (read only: it only gets the ConfigMap)
  --context <name>         its context (default: the kubeconfig's current context)
  --listen <host:port>     where to listen (default 127.0.0.1:9465)

Exit codes: 0 rendered (or stopped on a signal); 2 bad input (nothing written).`;

/** Options for {@linkcode monitoringCommand}. */
export interface MonitoringCommandOptions {
  /** The environments folder (default `ENVIRONMENTS_DIR`); `--environments-dir` overrides it. */
  readonly environmentsDir?: string;
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: "string" },
      window: { type: "string" },
      for: { type: "string" },
      interval: { type: "string" },
      restarts: { type: "string" },
      label: { type: "string", multiple: true },
      pipeline: { type: "string" },
      "environments-dir": { type: "string" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
      listen: { type: "string" },
    },
  });
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function labelsOf(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const text of values) {
    const at = text.indexOf("=");
    const key = at < 0 ? "" : text.slice(0, at);
    const value = at < 0 ? "" : text.slice(at + 1);
    if (!LABEL_KEY.test(key) || key.length > 316 || !LABEL_VALUE.test(value) || value.length > 63) {
      throw new InputError(
        `Cannot use --label ${JSON.stringify(text)}: expected key=value with a Kubernetes label ` +
          "key and value (e.g. release=prometheus)",
      );
    }
    labels[key] = value;
  }
  return labels;
}

function restartsOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !(n >= 1 && n <= 1000)) {
    throw new InputError(`Cannot use --restarts ${JSON.stringify(text)}: expected 1 to 1000`);
  }
  return n;
}

function durationOf(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  try {
    return promDuration(text, flag);
  } catch (error) {
    throw new InputError((error as Error).message);
  }
}

/** `--out`: a folder, or a path whose parent is one; never a file. */
async function checkOut(out: string): Promise<void> {
  try {
    const info = await Deno.stat(out);
    if (!info.isDirectory) throw new InputError(`Cannot write to --out ${out}: it is a file`);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const parent = dirname(resolve(out));
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(parent);
  } catch { /* below */ }
  if (!info?.isDirectory) {
    throw new InputError(`Cannot write to --out ${out}: its parent ${parent} is not a folder`);
  }
}

function gatesOf(run: PreparedRun) {
  return run.stages.flatMap((s) => s.gates.map((g) => g.gate));
}

/** The bounds of the pipeline's gates in `environment`, or in the others when it has none. */
async function boundsFor(
  environment: string,
  o: { pipelineFile: string; environmentsDir: string },
): Promise<{ run: PreparedRun; bounds: Record<string, AlertBound>; from: string }> {
  const prepare = (name: string) =>
    prepareRun({
      pipelineFile: o.pipelineFile,
      environment: name,
      // Monitoring does not depend on the version; the pipeline may need one to build.
      version: "v0.0.0",
      environmentsDir: o.environmentsDir,
      skipTypeCheck: true,
      readEnv: () => undefined,
    });
  const run = await prepare(environment);
  const own = gatesOf(run);
  if (own.length > 0) return { run, bounds: boundsFromGates(own), from: environment };
  const others: string[] = [];
  const gates = [];
  for (const name of await listEnvironments({ dir: o.environmentsDir })) {
    if (name === environment) continue;
    const found = gatesOf(await prepare(name));
    if (found.length > 0) others.push(name);
    gates.push(...found);
  }
  return { run, bounds: boundsFromGates(gates), from: others.join(", ") || "no environment" };
}

/**
 * Runs `monitoring render <environment> [--out <dir>] ...`.
 *
 * @param args The arguments after `monitoring`.
 * @param io Where to write.
 * @param options The environments folder.
 * @returns The exit code: 0 rendered, 2 bad input (nothing written).
 *
 * @example
 * ```ts
 * import { monitoringCommand } from "./monitoring.ts";
 * import assert from "node:assert/strict";
 * const errors: string[] = [];
 * const io = { stdout: () => {}, stderr: (s: string) => errors.push(s), tty: false, colour: false };
 * assert.equal(await monitoringCommand(["render"], io), 2);
 * assert.match(errors.join(""), /expected one environment/);
 * ```
 */
export async function monitoringCommand(
  args: string[],
  io: CliIo,
  options: MonitoringCommandOptions = {},
): Promise<number> {
  try {
    return await render(args, io, options);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    io.stderr(`error: ${error.message}\n`);
    return EXIT.input;
  }
}

async function render(args: string[], io: CliIo, o: MonitoringCommandOptions): Promise<number> {
  let parsed;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new InputError(`${(error as Error).message}\n${MONITORING_USAGE}`);
  }
  const [command, ...rest] = parsed.positionals;
  if (command !== "render" && command !== "record-metrics") {
    throw new InputError(
      `${
        command === undefined ? "expected a command" : `unknown command ${JSON.stringify(command)}`
      }: expected render or record-metrics\n${MONITORING_USAGE}`,
    );
  }
  if (rest.length !== 1) {
    throw new InputError(
      `expected one environment after ${command}, got ${rest.length}\n${MONITORING_USAGE}`,
    );
  }
  const environment = rest[0]!;
  const v = parsed.values;
  const only = command === "render"
    ? ["kubeconfig", "context", "listen"]
    : ["out", "window", "for", "interval", "restarts", "label", "pipeline"];
  const misplaced = only.filter((flag) => v[flag as keyof typeof v] !== undefined);
  if (misplaced.length > 0) {
    throw new InputError(`${command} takes no --${misplaced.join(", --")}\n${MONITORING_USAGE}`);
  }
  if (command === "record-metrics") return await recordMetrics(environment, v, io, o);
  const window = durationOf(v.window, "--window");
  const wait = durationOf(v.for, "--for");
  const interval = durationOf(v.interval, "--interval");
  const restarts = restartsOf(v.restarts);
  const labels = labelsOf(v.label ?? []);
  if (v.out !== undefined) await checkOut(v.out);
  const pipelineFile = v.pipeline ?? "pipelines/deploy.ts";
  const environmentsDir = v["environments-dir"] ?? o.environmentsDir ?? ENVIRONMENTS_DIR;
  const { run, bounds, from } = await boundsFor(environment, { pipelineFile, environmentsDir });
  const spec: MonitoringSpec = {
    metrics: run.metrics,
    bounds,
    ...(window ? { window } : {}),
    ...(wait ? { for: wait } : {}),
    ...(interval ? { interval } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
  let rendered;
  try {
    rendered = renderMonitoring(kubeTarget(run.env), spec, restarts ? { restarts } : {});
  } catch (error) {
    if (error instanceof RangeError) throw new InputError(error.message);
    throw error;
  }
  const header = [
    `Generated by deno task monitoring render ${environment}: do not edit, render again.`,
    `Metrics: ${Object.keys(run.metrics).join(", ") || "none"} (${pipelineFile}).`,
    `Alert bounds (the loosest gates, ${from}): ${
      Object.values(bounds).map((b) => b.source).join(", ") || "none"
    }; window ${spec.window ?? DEFAULT_WINDOW}, for ${spec.for ?? DEFAULT_WINDOW}.`,
  ];
  if (v.out === undefined) {
    io.stdout(manifestsYaml(rendered.manifests, header));
    return EXIT.ok;
  }
  const files = monitoringFiles(rendered, header);
  await Deno.mkdir(v.out, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${v.out}/${name}`, text);
  }
  io.stdout(
    `${Object.keys(files).map((name) => `wrote ${v.out}/${name}`).join("\n")}\n` +
      `check: promtool check rules ${v.out}/rules.yml\n`,
  );
  return EXIT.ok;
}

function listenOf(text: string | undefined): { hostname: string; port: number } {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/.exec(text ?? "127.0.0.1:9465");
  const port = Number(m?.[2]);
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new InputError(`Cannot use --listen ${JSON.stringify(text)}: expected host:port`);
  }
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** `record-metrics`: the deploy record at /metrics until the command is stopped. */
async function recordMetrics(
  environment: string,
  v: ReturnType<typeof parse>["values"],
  io: CliIo,
  o: MonitoringCommandOptions,
): Promise<number> {
  const listen = listenOf(v.listen);
  if (v.kubeconfig === undefined) {
    throw new InputError(`record-metrics needs --kubeconfig <file>\n${MONITORING_USAGE}`);
  }
  try {
    if (!(await Deno.stat(v.kubeconfig)).isFile) throw new Error("not a file");
  } catch {
    throw new InputError(`Cannot read --kubeconfig ${v.kubeconfig}: no such file`);
  }
  const dir = v["environments-dir"] ?? o.environmentsDir ?? ENVIRONMENTS_DIR;
  let env;
  try {
    env = await loadEnvironment(environment, { dir });
  } catch (error) {
    if (error instanceof ConfigError) throw new InputError(error.message);
    throw error;
  }
  const target = kubeTarget(env);
  // Read only: nothing it could call would change the cluster.
  const k = createKubernetesCapability({
    kubeconfigPath: v.kubeconfig,
    context: v.context,
    dryRun: true,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = serveDeployRecordMetrics({
      read: () => readRunRecord(k, { target }),
      labels: { namespace: target.namespace, app: target.app },
      ...listen,
    });
  } catch (error) {
    throw new InputError(
      `Cannot listen on ${v.listen ?? "127.0.0.1:9465"}: ${(error as Error).message}`,
    );
  }
  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  io.stdout(`serving the deploy record of ${target.namespace} at http://${host}:${port}/metrics\n`);
  if (io.signal) {
    if (!io.signal.aborted) {
      await new Promise((resolve) => io.signal!.addEventListener("abort", resolve, { once: true }));
    }
    await server.shutdown();
  } else await server.finished;
  return EXIT.ok;
}

/**
 * The `monitoring` command of the CLI.
 *
 * @example
 * ```ts
 * import { MONITORING_COMMAND } from "./monitoring.ts";
 * console.assert(MONITORING_COMMAND.usage.includes("monitoring render"));
 * ```
 */
export const MONITORING_COMMAND: Command = {
  name: "monitoring",
  summary: "renders the alert rules, ServiceMonitors and Grafana dashboard of an environment",
  usage: MONITORING_USAGE,
  stopsOnSignal: true,
  run: (args, io) => monitoringCommand(args, io),
};
