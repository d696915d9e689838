// A real Prometheus (Debian's `prometheus`) that loads rule files and evaluates them every
// second, scraping static targets and/or a file_sd list every second; its data in a temporary
// folder. Its HTTP API answers what the tests ask: queries, rules, alerts.

// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

/** A running Prometheus. */
export interface RulesPrometheus {
  readonly url: string;
  /** `GET /api/v1/<path>` as JSON (`status`, `data`, `error`). */
  api(path: string): Promise<Json>;
  /** An instant query's result vector (throws with Prometheus' error on a bad query). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Stops it and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts Prometheus with `ruleFiles` (absolute paths) evaluated every second.
 *
 * @param o Rule files, static targets (`host:port`), a file_sd path.
 */
export async function startRulesPrometheus(o: {
  ruleFiles?: string[];
  targets?: { job: string; address: string }[];
  fileSd?: string;
}): Promise<RulesPrometheus> {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-prometheus-" });
  const port = freePort();
  const scrape = { scrape_interval: "1s", scrape_timeout: "900ms" };
  const scrapeConfigs: Json[] = (o.targets ?? []).map((t) => ({
    job_name: t.job,
    ...scrape,
    // the deploy record's own namespace/app labels, not the target's
    honor_labels: true,
    static_configs: [{ targets: [t.address] }],
  }));
  if (o.fileSd) {
    scrapeConfigs.push({
      job_name: "pods",
      ...scrape,
      file_sd_configs: [{ files: [o.fileSd], refresh_interval: "1s" }],
    });
  }
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: o.ruleFiles ?? [],
      scrape_configs: scrapeConfigs,
    }),
  );
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=error",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errors = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  (async () => {
    while (true) {
      const { value, done } = await errors.read();
      if (done) return;
      stderr += value;
    }
  })();
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) child.kill("SIGTERM");
    await status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const api = async (path: string) => {
    const res = await fetch(`${url}/api/v1/${path}`);
    return await res.json();
  };
  const query = async (promql: string) => {
    const json = await api(`query?query=${encodeURIComponent(promql)}`);
    if (json.status !== "success") throw new Error(`${json.errorType}: ${json.error}`);
    return json.data.result;
  };
  // Ready, or exited (a rule file it refuses ends it): no time bound of our own but its exit.
  while (!exited) {
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return { url, api, query, stop };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`Prometheus exited before it was ready: ${stderr}`);
}

/** Polls `probe` every 250 ms until it returns a value, or `until` says to stop. */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  until: () => boolean,
): Promise<T> {
  while (true) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (until()) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
