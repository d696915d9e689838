import assert from "node:assert/strict";
import { deploymentYaml, tempFile, type TestSandbox, waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-staging";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Run a real Prometheus scraping the sandbox's file_sd target list. */
async function withPrometheus(
  t: TestSandbox,
  body: (
    query: (
      promql: string,
    ) => Promise<{ metric: Record<string, string>; value: [number, string] }[]>,
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sandbox-prometheus-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: sandbox-pods
    file_sd_configs:
      - files: ["${t.stateDir}/prometheus-targets.json"]
        refresh_interval: 1s
`,
  );
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const query = async (promql: string) => {
      const r = await fetch(
        `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      const json = await r.json();
      return json.data?.result ?? [];
    };
    await body(query);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function deploy(t: TestSandbox): Promise<void> {
  const file = await tempFile(deploymentYaml({ name: "search", namespace: NS, version: "1.0.0" }));
  await t.kubectlOk("apply", "-f", file);
  await t.kubectlOk("rollout", "status", "deployment/search", "-n", NS, "--timeout=60s");
  await Deno.remove(file);
}

Deno.test("a real Prometheus scrapes the sandbox pods from prometheus-targets.json with their labels", async () => {
  const t = await withSandbox({ timeScale: 60 });
  try {
    await deploy(t);
    await withPrometheus(t, async (query) => {
      const up = await waitFor("both pods scraped", async () => {
        const r = await query('up{service="search"}');
        return r.length === 2 && r.every((s) => s.value[1] === "1") ? r : undefined;
      }, 60_000);
      for (const s of up) {
        assert.equal(s.metric.namespace, NS);
        assert.equal(s.metric.slot, "blue");
        assert.equal(s.metric.version, "1.0.0");
        assert.match(s.metric.pod ?? "", /^search-/);
      }
      const total = await waitFor("requests counted", async () => {
        const r = await query('sum(http_requests_total{service="search"})');
        return r.length === 1 && Number(r[0]?.value[1]) > 0 ? Number(r[0]?.value[1]) : undefined;
      }, 60_000);
      assert.ok(total > 0);
      const buckets = await query('http_request_duration_seconds_bucket{service="search",le="5"}');
      assert.equal(buckets.length, 2);
    });
  } finally {
    await t.close();
  }
});

Deno.test("scenario metrics-down: a real Prometheus' scrape of the pods fails (up == 0)", async () => {
  const t = await withSandbox({ timeScale: 60, scenario: "metrics-down" });
  try {
    await deploy(t);
    await withPrometheus(t, async (query) => {
      const up = await waitFor("pods scraped and down", async () => {
        const r = await query('up{service="search"}');
        return r.length === 2 && r.every((s) => s.value[1] === "0") ? r : undefined;
      }, 60_000);
      assert.equal(up.length, 2);
      assert.deepEqual(await query("http_requests_total"), []);
    });
  } finally {
    await t.close();
  }
});
