/**
 * The monitoring companions: a real `prometheus` (Debian's package `prometheus`) and a
 * real `prometheus-alertmanager` (package `prometheus-alertmanager`), each on a given
 * loopback address, storage in its folder. Prometheus scrapes itself only: on a virtual
 * clock it cannot follow the sandbox's jumping time, so the gates keep the sandbox's own
 * measurements; what these serve is the pre-flight's health checks, against real servers.
 * @module
 */
import { type CompanionProcess, findProgram, launch, type MissingProgram } from "./process.ts";

/** A running monitoring companion. */
export interface MonitoringCompanion {
  /** Its base URL, e.g. `http://127.1.2.3:9090`. */
  readonly url: string;
  /** Its process. */
  readonly process: CompanionProcess;
  /** Stops it. */
  stop(): Promise<void>;
}

/** What the monitoring companions take. */
export interface MonitoringCompanionOptions {
  /** Its folder. */
  readonly dir: string;
  /** `host:port` to listen on. */
  readonly address: string;
  /** How long it may take to answer (default 30 s). */
  readonly readyTimeoutMs?: number;
}

async function healthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/-/healthy`);
  await res.body?.cancel();
  return res.status === 200;
}

/**
 * Starts a companion Prometheus, or says it is not installed.
 *
 * @param o Its folder and address.
 * @returns The running Prometheus, or what to install.
 * @throws {Error} When it is installed but does not start.
 *
 * @example
 * ```ts ignore
 * import { startPrometheusCompanion } from "./monitoring.ts";
 * const p = await startPrometheusCompanion({ dir, address: "127.0.0.1:9090" });
 * if (!("missing" in p)) await p.stop();
 * ```
 */
export async function startPrometheusCompanion(
  o: MonitoringCompanionOptions,
): Promise<MonitoringCompanion | { missing: MissingProgram }> {
  const missing = await findProgram("prometheus", "prometheus");
  if (missing) return { missing };
  await Deno.mkdir(`${o.dir}/data`, { recursive: true });
  await Deno.writeTextFile(
    `${o.dir}/prometheus.yml`,
    [
      "global:",
      "  scrape_interval: 15s",
      "scrape_configs:",
      "  - job_name: prometheus",
      "    static_configs:",
      `      - targets: ["${o.address}"]`,
      "",
    ].join("\n"),
  );
  const url = `http://${o.address}`;
  const process = await launch({
    name: "prometheus",
    dir: o.dir,
    command: "prometheus",
    args: [
      `--config.file=${o.dir}/prometheus.yml`,
      `--storage.tsdb.path=${o.dir}/data`,
      `--web.listen-address=${o.address}`,
      "--log.level=error",
    ],
    readyTimeoutMs: o.readyTimeoutMs ?? 30_000,
    ready: () => healthy(url),
  });
  return { url, process, stop: () => process.stop() };
}

/**
 * Starts a companion Alertmanager, or says it is not installed.
 *
 * @param o Its folder and address.
 * @returns The running Alertmanager, or what to install.
 * @throws {Error} When it is installed but does not start.
 *
 * @example
 * ```ts ignore
 * import { startAlertmanagerCompanion } from "./monitoring.ts";
 * const a = await startAlertmanagerCompanion({ dir, address: "127.0.0.1:9093" });
 * if (!("missing" in a)) await a.stop();
 * ```
 */
export async function startAlertmanagerCompanion(
  o: MonitoringCompanionOptions,
): Promise<MonitoringCompanion | { missing: MissingProgram }> {
  const program = "prometheus-alertmanager";
  const missing = await findProgram(program, program);
  if (missing) return { missing };
  await Deno.mkdir(`${o.dir}/data`, { recursive: true });
  await Deno.writeTextFile(
    `${o.dir}/alertmanager.yml`,
    ["route:", "  receiver: none", "receivers:", "  - name: none", ""].join("\n"),
  );
  const url = `http://${o.address}`;
  const process = await launch({
    name: program,
    dir: o.dir,
    command: program,
    args: [
      `--config.file=${o.dir}/alertmanager.yml`,
      `--storage.path=${o.dir}/data`,
      `--web.listen-address=${o.address}`,
      "--cluster.listen-address=",
      "--log.level=error",
    ],
    readyTimeoutMs: o.readyTimeoutMs ?? 30_000,
    ready: () => healthy(url),
  });
  return { url, process, stop: () => process.stop() };
}
