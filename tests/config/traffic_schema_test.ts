// The environment files' `traffic:` section: expected requests per second and a healthy
// version's latency per service. Bad values are refused naming file, line, column and field;
// the real files carry realistic rates into the sandbox's seed.
import assert from "node:assert/strict";
import {
  ConfigError,
  environmentJsonSchema,
  loadEnvironment,
  parseEnvironment,
} from "../../lib/config/mod.ts";
import { sandboxSeed } from "../../lib/targets/sandbox_seed.ts";
import { checkSeed } from "../../lib/sandbox/seed.ts";
import { trafficRatesOf } from "../../lib/sandbox/traffic_rates.ts";
import { ENVIRONMENTS, FIXTURES } from "./_helpers.ts";

const valid = await Deno.readTextFile(`${FIXTURES}/valid.yml`);

/** The valid fixture with a `traffic:` section (its services are `api` and `worker`). */
function withTraffic(section: string): string {
  return `${valid.trimEnd()}\ntraffic:\n${section}`;
}

/** The problems of a file, one `file:line:column: path: message` each. */
function problems(text: string): string[] {
  try {
    parseEnvironment(text, { name: "valid", file: "valid.yml" });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split("\n");
  }
  return assert.fail("the file loaded without error");
}

const line = valid.trimEnd().split("\n").length + 2; // the first service under traffic:

Deno.test("traffic: rates and latencies are read, as numbers and durations", () => {
  const env = parseEnvironment(
    withTraffic(
      "  api: { requests_per_second: 250.5, latency: { median: 40ms, p95: 150ms }, " +
        'error_rate: "0.05%" }\n  worker: { requests_per_second: 0 }\n',
    ),
    { name: "valid", file: "valid.yml" },
  );
  assert.equal(env.traffic?.api?.requests_per_second, 250.5);
  assert.equal(env.traffic?.api?.latency?.p95.ms, 150);
  assert.equal(env.traffic?.api?.error_rate, 0.0005);
  assert.equal(env.traffic?.worker?.requests_per_second, 0);
  assert.equal(parseEnvironment(valid, { name: "valid", file: "valid.yml" }).traffic, undefined);
});

Deno.test("traffic: bad rates are refused with file, line, column and field", () => {
  const cases: [string, RegExp][] = [
    [
      "  api: { requests_per_second: -5 }\n",
      /^valid\.yml:\d+:\d+: traffic\.api\.requests_per_second: expected a number >= 0 \(requests per second\), got -5$/,
    ],
    [
      '  api: { requests_per_second: "lots" }\n',
      /traffic\.api\.requests_per_second: expected a number >= 0 \(requests per second\), got "lots"/,
    ],
    [
      "  api: { requests_per_second: 5000000 }\n",
      /traffic\.api\.requests_per_second: expected a number <= 1000000 \(the most requests per second one service may expect\), got 5000000/,
    ],
    [
      "  api: { requests_per_second: 5, rps: 5 }\n",
      /traffic\.api\.rps: unknown key/,
    ],
    [
      "  api: { requests_per_second: 5, latency: { median: 200ms, p95: 100ms } }\n",
      /traffic\.api\.latency\.p95: expected a duration above median \(200ms\)/,
    ],
    [
      "  api: { requests_per_second: 5, latency: { median: fast, p95: 100ms } }\n",
      /traffic\.api\.latency\.median: expected a duration like/,
    ],
    [
      '  api: { requests_per_second: 5, error_rate: "120%" }\n',
      /traffic\.api\.error_rate: expected a percentage like "0\.05%" \(from 0% to 100%\)/,
    ],
    [
      "  search: { requests_per_second: 5 }\n",
      /^valid\.yml:\d+:\d+: traffic\.search: expected a service of infrastructure\.replicas \(api, worker\)/,
    ],
  ];
  for (const [section, expected] of cases) {
    const found = problems(withTraffic(section));
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, expected);
    assert.match(found[0]!, new RegExp(`^valid\\.yml:${line}:`), "the line of the service");
  }
  assert.match(problems(withTraffic("  - api\n"))[0]!, /traffic: expected a mapping of service/);
});

Deno.test("traffic: the real environments expect realistic rates, production the most", async () => {
  const load = (name: string) => loadEnvironment(name, { dir: ENVIRONMENTS });
  const [dev, staging, prod] = [
    await load("development"),
    await load("staging"),
    await load("production"),
  ];
  const total = (e: typeof prod) =>
    Object.values(e.traffic ?? {}).reduce((n, t) => n + t.requests_per_second, 0);
  for (const env of [dev, staging, prod]) {
    assert.deepEqual(
      Object.keys(env.traffic ?? {}).sort(),
      Object.keys(env.infrastructure.replicas).sort(),
      `${env.name}: every service has an expected rate`,
    );
    for (const t of Object.values(env.traffic ?? {})) {
      // The canary gates' thresholds are 1000-2000 ms: a healthy p95 is well under them.
      assert.ok(t.latency && t.latency.p95.ms < 1000, `${env.name}: p95 ${t.latency?.p95.text}`);
    }
  }
  assert.ok(total(dev) < total(staging) && total(staging) < total(prod));
  assert.ok(total(prod) <= prod.external_services.api_rate_limit, "the runbook's ceiling");
  const t = prod.traffic!;
  assert.ok(t["file-watcher"]!.requests_per_second < t["tracklist-service"]!.requests_per_second);

  // Carried into the sandbox's seed, per namespace, as the traffic model takes it.
  const seed = sandboxSeed([dev, staging, prod]);
  checkSeed(seed);
  const rates = trafficRatesOf(seed);
  assert.deepEqual(rates["tracktion-prod"]?.["analysis-service"], {
    requestsPerSecond: t["analysis-service"]!.requests_per_second,
    medianMs: t["analysis-service"]!.latency!.median.ms,
    p95Ms: t["analysis-service"]!.latency!.p95.ms,
  });
});

Deno.test("traffic: the JSON Schema describes the section", () => {
  const schema = environmentJsonSchema() as {
    properties: Record<string, { additionalProperties?: { properties?: object } }>;
    required: string[];
  };
  const service = schema.properties.traffic?.additionalProperties?.properties ?? {};
  assert.deepEqual(Object.keys(service), ["requests_per_second", "latency", "error_rate"]);
  assert.ok(!schema.required.includes("traffic"), "optional: other projects' files stay valid");
});
