/**
 * A real Prometheus (Debian's `prometheus`) for tests: scrapes the given targets every
 * second, listens on a free loopback port, keeps its data in a temporary folder.
 * @module
 */

/** A running Prometheus. */
export interface TestPrometheus {
  readonly url: string;
  /** Stops it (the data folder is removed). Safe to call twice. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts Prometheus scraping `targets` (`host:port`, static) and/or a file_sd file.
 *
 * @param o `targets`: static targets with optional labels; `fileSd`: a file_sd JSON path.
 */
export async function startPrometheus(
  o: { targets?: { address: string; labels?: Record<string, string> }[]; fileSd?: string } = {},
): Promise<TestPrometheus> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-prometheus-" });
  const port = freePort();
  const scrapeConfigs = [];
  if (o.targets?.length) {
    scrapeConfigs.push({
      job_name: "static",
      scrape_interval: "1s",
      scrape_timeout: "900ms",
      static_configs: o.targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
    });
  }
  if (o.fileSd) {
    scrapeConfigs.push({
      job_name: "file_sd",
      scrape_interval: "1s",
      scrape_timeout: "900ms",
      file_sd_configs: [{ files: [o.fileSd], refresh_interval: "1s" }],
    });
  }
  // JSON is valid YAML.
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    JSON.stringify({ global: { scrape_interval: "1s" }, scrape_configs: scrapeConfigs }),
  );
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-lifecycle",
      "--log.level=error",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return { url, stop };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`Prometheus did not become ready on ${url} within 30 s`);
}
