// Pre-flight checks: what running a stage's checks concurrently (as the runner does, with
// Promise.all) buys over running them one after another, against real local parts
// (redis-server, PostgreSQL, docker-registry) and local HTTP services. A second set adds
// 50 ms to every HTTP answer, like services in another zone.
//
//   deno bench -A bench/checks_bench.ts        (deno bench's own statistics)
//   deno run -A bench/checks_bench.ts          (medians over 30 runs, the numbers in checks.md)
import postgres from "postgres";
import {
  databaseConnectionPool,
  databaseConnectivity,
  type DatabaseProbe,
} from "../checks/database.ts";
import { imageExists } from "../checks/images.ts";
import { grafanaHealthy } from "../checks/monitoring.ts";
import type { Check } from "../checks/options.ts";
import { redisConnectivity, redisMemory } from "../checks/redis.ts";
import { noSensitiveData, securityHeaders } from "../checks/security.ts";
import { metricsEndpoint, serviceHealth } from "../checks/service.ts";
import { storageCapacity } from "../checks/storage.ts";
import { findSensitiveData } from "../checks/security.ts";
import { inspectMetricsText } from "../checks/service.ts";
import { startPostgres } from "../tests/_support/postgres.ts";
import { pushImage, startRegistry } from "../tests/checks/_registry.ts";
import { fakeContext, serve, startRedis } from "../tests/checks/_support.ts";

const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];
const redis = await startRedis({ maxmemory: "256mb" });
const pg = await startPostgres();
const sql = postgres(pg.url, { max: 4, onnotice: () => {} });
const registry = await startRegistry();
for (const s of SERVICES) await pushImage(registry.host, `tracktion/${s}`, "1.2.4");

const METRICS = Array.from(
  { length: 200 },
  (_, i) => `# HELP m${i} Metric ${i}.\n# TYPE m${i} counter\nm${i}{service="a",code="200"} ${i}\n`,
).join("");

function services(delayMs: number) {
  return serve(async (req) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const path = new URL(req.url).pathname;
    const headers = {
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "content-security-policy": "default-src 'self'",
    };
    if (path === "/metrics") {
      return new Response(METRICS, { headers: { "content-type": "text/plain" } });
    }
    if (path === "/api/health") return Response.json({ database: "ok", version: "10.2.0" });
    return Response.json({ status: "healthy", version: "1.2.4" }, { headers });
  });
}
const near = services(0);
const far = services(50);

const probe: DatabaseProbe = {
  async ping() {
    const t0 = performance.now();
    const rows = await sql`SELECT current_setting('server_version') AS v`;
    return { latencyMs: performance.now() - t0, serverVersion: String(rows[0]?.v) };
  },
  async query(text) {
    return [...await sql.unsafe(text)] as Record<string, unknown>[];
  },
};
const ctx = fakeContext({ database: probe });

function preflight(base: string): Check[] {
  const target = { host: "127.0.0.1", port: redis.port, password: redis.password };
  return [
    redisConnectivity(target, { maxLatencyMs: 5_000 }),
    redisMemory(target),
    databaseConnectivity({ maxLatencyMs: 5_000 }),
    databaseConnectionPool({ maxConnections: 50 }),
    ...SERVICES.map((s) => imageExists(`${registry.host}/tracktion/${s}:1.2.4`)),
    ...SERVICES.map((s) => serviceHealth(`${base}/${s}/health`, { expectedVersion: "1.2.4" })),
    metricsEndpoint(`${base}/metrics`),
    grafanaHealthy(base),
    securityHeaders(`${base}/health`),
    noSensitiveData(`${base}/health`),
    storageCapacity("/tmp", { maxUsedPercent: 100.1 }),
  ];
}

async function sequential(checks: Check[]) {
  for (const c of checks) {
    const o = await c.run(ctx);
    if (!o.ok) throw new Error(`${c.name}: ${o.message}`);
  }
}
async function concurrent(checks: Check[]) {
  const outcomes = await Promise.all(checks.map((c) => c.run(ctx)));
  const bad = outcomes.find((o) => !o.ok);
  if (bad) throw new Error(bad.message);
}

const nearChecks = preflight(near.url);
const farChecks = preflight(far.url);
const body = JSON.stringify({ status: "healthy", blob: "x".repeat(100_000) });

Deno.bench(
  "17 pre-flight checks, one after another",
  { group: "local", baseline: true },
  async () => {
    await sequential(nearChecks);
  },
);
Deno.bench("17 pre-flight checks, concurrently", { group: "local" }, async () => {
  await concurrent(nearChecks);
});
Deno.bench(
  "17 checks, HTTP +50 ms, one after another",
  { group: "far", baseline: true },
  async () => {
    await sequential(farChecks);
  },
);
Deno.bench("17 checks, HTTP +50 ms, concurrently", { group: "far" }, async () => {
  await concurrent(farChecks);
});
Deno.bench("inspectMetricsText() 200 families", () => {
  inspectMetricsText(METRICS);
});
Deno.bench("findSensitiveData() 100 kB health body", () => {
  findSensitiveData(body);
});

async function median(fn: () => unknown, runs = 30): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)]! * 10) / 10;
}

async function cleanup() {
  await near.stop();
  await far.stop();
  await sql.end();
  await pg.stop();
  await registry.stop();
  await redis.stop();
}

if (import.meta.main) {
  try {
    const rows: [string, number][] = [];
    // Each check alone, to compare the sum with the concurrent wall time.
    let sumNear = 0;
    for (const c of nearChecks) sumNear += await median(() => sequential([c]), 15);
    rows.push(["sum of the 17 checks run alone (local)", Math.round(sumNear * 10) / 10]);
    rows.push(["17 checks one after another (local)", await median(() => sequential(nearChecks))]);
    rows.push(["17 checks concurrently (local)", await median(() => concurrent(nearChecks))]);
    rows.push([
      "17 checks one after another (HTTP +50 ms)",
      await median(() => sequential(farChecks), 10),
    ]);
    rows.push([
      "17 checks concurrently (HTTP +50 ms)",
      await median(() => concurrent(farChecks), 10),
    ]);
    rows.push([
      "inspectMetricsText() 200 families",
      await median(() => inspectMetricsText(METRICS), 200),
    ]);
    rows.push([
      "findSensitiveData() 100 kB body",
      await median(() => findSensitiveData(body), 100),
    ]);
    for (const [what, ms] of rows) console.log(`| ${what} | ${ms} ms |`);
  } finally {
    await cleanup();
  }
} else {
  globalThis.addEventListener("unload", () => {
    // deno bench has no afterAll: stop the child processes on the way out.
    cleanup();
  });
}
