// The monitoring manifests, generated from the deploy pipeline's metrics and bounds: the
// PrometheusRule's spec is a rule file the real `promtool check rules` accepts, and `promtool test
// rules` shows each alert firing on the series it is for and staying silent below its bound (or
// for another app's pods, another slot, another namespace); each ServiceMonitor selects its own
// service's pods once (the slot Services, not the live Service); bad values are refused.
import assert from "node:assert/strict";
import { stringify } from "yaml";
import {
  MANAGED_BY_LABEL,
  monitoringManifests,
  prometheusRuleManifest,
  serviceMonitorManifests,
} from "../../lib/kubernetes/manifests_monitoring.ts";
import { serviceManifest, slotServiceManifest } from "../../lib/kubernetes/manifests.ts";
import type { MonitoringSpec } from "../../lib/monitoring/mod.ts";
import { matchesSelectorObject } from "../../lib/sandbox/selectors.ts";
import { metrics } from "../../pipelines/metrics.ts";
import { targetOf } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** What the deploy's monitoring stage applies (pipelines/deploy.ts): canary-5's bounds. */
const SPEC: MonitoringSpec = {
  metrics,
  bounds: {
    error_rate: { operator: "<", threshold: 1, source: "error_rate < 1%" },
    p95_latency: { operator: "<", threshold: 2000, source: "p95_latency < 2000ms" },
  },
};

async function promtool(args: string[], cwd: string) {
  const out = await new Deno.Command("promtool", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { code: out.code, out: text.decode(out.stdout) + text.decode(out.stderr) };
}

Deno.test("the PrometheusRule's spec passes promtool check rules in every environment; a broken one does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "promtool-" });
  try {
    for (const env of ["development", "staging", "production"]) {
      const rule = prometheusRuleManifest(await targetOf(env), SPEC) as Json;
      await Deno.writeTextFile(`${dir}/${env}.yml`, stringify(rule.spec));
      const checked = await promtool(["check", "rules", `${env}.yml`], dir);
      assert.equal(checked.code, 0, checked.out);
      // 2 metrics × 4 services × 2 slots, and restarts, crash loops, a failed deploy
      assert.match(checked.out, /SUCCESS: 19 rules found/);
    }
    const broken = prometheusRuleManifest(await targetOf("production"), SPEC) as Json;
    broken.spec.groups[0].rules[0].expr = "sum(rate(http_requests_total[5m])";
    await Deno.writeTextFile(`${dir}/broken.yml`, stringify(broken.spec));
    const refused = await promtool(["check", "rules", "broken.yml"], dir);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /unclosed left parenthesis|parse error/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `promtool test rules` input: a series per label set, 1-minute samples. */
function series(name: string, labels: Record<string, string>, values: string) {
  const text = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
  return { series: `${name}{${text}}`, values };
}

const NS = "tracktion-prod";

function tests() {
  const svc = (service: string, slot: string) => ({ namespace: NS, service, slot });
  const requests = (service: string, slot: string, status: string, perMinute: number) =>
    series("http_requests_total", { ...svc(service, slot), status }, `0+${perMinute}x30`);
  const bucket = (service: string, le: string, perMinute: number) =>
    series(
      "http_request_duration_seconds_bucket",
      { ...svc(service, "green"), le },
      `0+${perMinute}x30`,
    );
  const pod = (name: string, extra: Record<string, string> = {}) => ({
    namespace: NS,
    pod: name,
    container: name.split("-").slice(0, 2).join("-"),
    ...extra,
  });
  const input_series = [
    // analysis-service green: 2% errors (fires); blue: 0.5% (silent); file-watcher green: 0.5%
    requests("analysis-service", "green", "200", 980),
    requests("analysis-service", "green", "500", 20),
    requests("analysis-service", "blue", "200", 995),
    requests("analysis-service", "blue", "500", 5),
    requests("file-watcher", "green", "200", 995),
    requests("file-watcher", "green", "503", 5),
    // another app's service in the namespace: 50% errors, not this app's alert
    requests("billing", "green", "200", 10),
    requests("billing", "green", "500", 10),
    // tracklist-service: 80% of requests over 2.5 s (p95 > 2 s, fires: histogram_quantile
    // reports the top finite bucket, 2.5 s); notification-service: fast (silent)
    bucket("tracklist-service", "0.5", 10),
    bucket("tracklist-service", "2.5", 20),
    bucket("tracklist-service", "+Inf", 100),
    bucket("notification-service", "0.5", 99),
    bucket("notification-service", "2.5", 100),
    bucket("notification-service", "+Inf", 100),
    // a pod restarting once a minute (fires: >= 3 in 5m); one restarted once (silent)
    series(
      "kube_pod_container_status_restarts_total",
      pod("analysis-service-green-5d9f-x2x9k"),
      "0+1x30",
    ),
    series("kube_pod_container_status_restarts_total", pod("file-watcher-blue-7c4-ab12c"), "1x30"),
    // a crash-looping analysis-service pod (fires) and another app's pod (silent)
    series(
      "kube_pod_container_status_waiting_reason",
      pod("analysis-service-green-5d9f-x2x9k", { reason: "CrashLoopBackOff" }),
      "1x30",
    ),
    series(
      "kube_pod_container_status_waiting_reason",
      { namespace: NS, pod: "billing-7c4-abcde", container: "billing", reason: "CrashLoopBackOff" },
      "1x30",
    ),
    // the deploy record: this namespace's latest run rolled back (fires); staging's succeeded
    series(
      "deploy_record_run_failed",
      { namespace: NS, app: "tracktion", run_id: "r7", version: "4.1.0", job: "deploys" },
      "1x30",
    ),
    series(
      "deploy_record_run_failed",
      { namespace: "tracktion-staging", app: "tracktion", run_id: "r6", version: "4.1.0" },
      "0x30",
    ),
  ];
  const common = { app: "tracktion", namespace: NS };
  const metric = (service: string, name: string) => ({
    ...common,
    severity: "critical",
    service,
    slot: "green",
    metric: name,
  });
  return {
    rule_files: ["rules.yml"],
    evaluation_interval: "1m",
    tests: [{
      interval: "1m",
      input_series,
      alert_rule_test: [
        // not yet: the conditions must hold for 5 minutes (and rate() needs two samples)
        { eval_time: "4m", alertname: "HighErrorRate", exp_alerts: [] as Json[] },
        {
          eval_time: "15m",
          alertname: "HighErrorRate",
          exp_alerts: [{
            exp_labels: metric("analysis-service", "error_rate"),
            exp_annotations: {
              summary: "analysis-service (green) in tracktion-prod: error_rate 2.00% " +
                '(the gate "error_rate < 1%" fails at >= 1%)',
              description: "share of requests answered with a 5xx status over the measurement " +
                'window (window 5m) >= 1% for 5m: the canary\'s gate "error_rate < 1%" would ' +
                "have rolled this version back.",
            },
          }],
        },
        {
          eval_time: "15m",
          alertname: "HighP95Latency",
          exp_alerts: [{
            exp_labels: metric("tracklist-service", "p95_latency"),
            exp_annotations: {
              summary: "tracklist-service (green) in tracktion-prod: p95_latency 2500.00ms " +
                '(the gate "p95_latency < 2000ms" fails at >= 2000ms)',
              description: "95th percentile request duration over the measurement window " +
                '(window 5m) >= 2000ms for 5m: the canary\'s gate "p95_latency < 2000ms" would ' +
                "have rolled this version back.",
            },
          }],
        },
        {
          eval_time: "15m",
          alertname: "PodRestarting",
          exp_alerts: [{
            exp_labels: {
              ...pod("analysis-service-green-5d9f-x2x9k"),
              app: "tracktion",
              severity: "warning",
            },
            exp_annotations: {
              summary:
                "Pod tracktion-prod/analysis-service-green-5d9f-x2x9k (analysis-service) restarted 5 times in 5m",
              description:
                "A container restarted 3 or more times within 5m: see kubectl describe pod and kubectl logs --previous.",
            },
          }],
        },
        {
          eval_time: "15m",
          alertname: "PodCrashLooping",
          exp_alerts: [{
            exp_labels: {
              ...pod("analysis-service-green-5d9f-x2x9k", { reason: "CrashLoopBackOff" }),
              app: "tracktion",
              severity: "critical",
            },
            exp_annotations: {
              summary:
                "Pod tracktion-prod/analysis-service-green-5d9f-x2x9k (analysis-service) is crash-looping",
              description:
                "A container has been in CrashLoopBackOff for 5m: see kubectl logs --previous.",
            },
          }],
        },
        // a failed deploy fires at once (for: 0s), for its namespace only
        {
          eval_time: "0m",
          alertname: "DeployFailed",
          exp_alerts: [{
            exp_labels: { ...common, run_id: "r7", version: "4.1.0", severity: "warning" },
            exp_annotations: {
              summary: "The deploy of 4.1.0 to tracktion-prod failed and was rolled back (run r7)",
              description:
                "The deploy record's latest run was rolled back: the previous version serves. " +
                "deno task explain <run> says why; it resolves when a deploy succeeds.",
            },
          }],
        },
      ],
    }],
  };
}

Deno.test("promtool test rules: each alert fires on its condition and stays silent below it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "promtool-" });
  try {
    const rule = prometheusRuleManifest(await targetOf("production"), SPEC) as Json;
    await Deno.writeTextFile(`${dir}/rules.yml`, stringify(rule.spec));
    const cases = tests();
    await Deno.writeTextFile(`${dir}/tests.yml`, stringify(cases));
    const result = await promtool(["test", "rules", "tests.yml"], dir);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /SUCCESS/);

    // and the test can fail: at 0.5% errors analysis-service green would not fire
    const quiet = structuredClone(cases);
    quiet.tests[0]!.input_series[1] = series(
      "http_requests_total",
      { namespace: NS, service: "analysis-service", slot: "green", status: "500" },
      "0+5x30",
    );
    await Deno.writeTextFile(`${dir}/quiet.yml`, stringify(quiet));
    const failed = await promtool(["test", "rules", "quiet.yml"], dir);
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.out, /alertname: HighErrorRate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a ServiceMonitor per service selects its slot Services: never the live one, nor another service's", async () => {
  const target = await targetOf("production");
  const monitors = serviceMonitorManifests(target, SPEC) as Json[];
  const services = Object.keys(target.services);
  assert.deepEqual(monitors.map((m) => m.metadata.name), services.map((s) => `tracktion-${s}`));
  for (const [i, monitor] of monitors.entries()) {
    const own = services[i]!;
    assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(monitor.metadata.namespace, "tracktion-prod");
    assert.equal(monitor.metadata.labels[MANAGED_BY_LABEL], "tracktion-deploy");
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: ["tracktion-prod"] });
    const endpoint = monitor.spec.endpoints[0];
    assert.equal(endpoint.port, "http");
    assert.equal(endpoint.path, "/metrics");
    assert.deepEqual(
      endpoint.relabelings.map((r: Json) => [r.sourceLabels[0], r.targetLabel]),
      [
        ["__meta_kubernetes_service_label_service", "service"],
        ["__meta_kubernetes_pod_label_slot", "slot"],
        ["__meta_kubernetes_pod_label_version", "version"],
      ],
    );
    const selects = (svc: Json) =>
      matchesSelectorObject(monitor.spec.selector, svc.metadata.labels) &&
      svc.spec.ports.some((p: Json) => p.name === endpoint.port);
    for (const service of services) {
      for (const slot of ["blue", "green"] as const) {
        const slotService = slotServiceManifest(target, { service, slot });
        assert.equal(selects(slotService), service === own, `${own} selects ${service}-${slot}`);
        assert.ok(!selects(serviceManifest(target, { service, slot })), `the live ${service}`);
      }
    }
  }
  const labelled = monitoringManifests(target, {
    ...SPEC,
    labels: { release: "prometheus" },
    interval: "15s",
  }) as Json[];
  assert.deepEqual(labelled.map((m) => `${m.kind}/${m.metadata.name}`), [
    ...services.map((s) => `ServiceMonitor/tracktion-${s}`),
    "PrometheusRule/tracktion-alerts",
    "ConfigMap/tracktion-dashboard",
  ]);
  for (const m of labelled) {
    assert.equal(m.metadata.labels.release, "prometheus");
    assert.equal(m.metadata.labels.app, "tracktion");
  }
  assert.equal(labelled[0]!.spec.endpoints[0].interval, "15s");
  const dashboard = labelled.at(-1)!;
  assert.equal(dashboard.metadata.labels.grafana_dashboard, "1");
  assert.equal(JSON.parse(dashboard.data["tracktion-production.json"]).uid, "tracktion-production");
});

Deno.test("bounds, durations and restarts out of range are refused, naming the value", async () => {
  const target = await targetOf("staging");
  assert.throws(
    () =>
      prometheusRuleManifest(target, {
        ...SPEC,
        bounds: { eror_rate: { operator: "<", threshold: 1 } },
      }),
    /Cannot alert on eror_rate: no such metric is declared \(declared: error_rate, p95_latency\)/,
  );
  assert.throws(
    () =>
      prometheusRuleManifest(target, {
        ...SPEC,
        bounds: { error_rate: { operator: "<", threshold: Number.NaN } },
      }),
    /Cannot alert on error_rate beyond NaN: not a number/,
  );
  assert.throws(
    () => prometheusRuleManifest(target, { ...SPEC, for: "5 minutes" }),
    /Cannot use the alerts' duration "5 minutes": expected a duration such as 30s or 5m/,
  );
  assert.throws(
    () => prometheusRuleManifest(target, { ...SPEC, window: "1 m" }),
    /Cannot use the window "1 m"/,
  );
  assert.throws(
    () => prometheusRuleManifest(target, SPEC, { restarts: 0 }),
    /Cannot alert on 0 restarts: use a whole number from 1/,
  );
  assert.throws(() => serviceMonitorManifests(target, { ...SPEC, interval: "often" }), /scrape/);
  assert.throws(
    () => serviceMonitorManifests({ ...target, services: {} }, SPEC),
    /Cannot monitor tracktion-staging: the target has no services/,
  );
});
