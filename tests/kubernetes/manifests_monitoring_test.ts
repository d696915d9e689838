// The monitoring manifests: the PrometheusRule's spec is a rule file the real `promtool check
// rules` accepts, and `promtool test rules` shows each alert firing on the series it is for and
// staying silent below its threshold (or for another app's pods); the ServiceMonitor selects each
// pod once (the slot Services, not the live Service); bad thresholds are refused.
import assert from "node:assert/strict";
import { stringify } from "yaml";
import {
  monitoringManifests,
  prometheusRuleManifest,
  serviceMonitorManifest,
} from "../../lib/kubernetes/manifests_monitoring.ts";
import { serviceManifest, slotServiceManifest } from "../../lib/kubernetes/manifests.ts";
import { matchesSelectorObject } from "../../lib/sandbox/selectors.ts";
import { targetOf } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const THRESHOLDS = { errorRatePercent: 1, p95LatencyMs: 2000 };

async function promtool(args: string[], cwd: string) {
  const out = await new Deno.Command("promtool", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { code: out.code, out: text.decode(out.stdout) + text.decode(out.stderr) };
}

Deno.test("the PrometheusRule's spec passes promtool check rules; a broken rule file does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "promtool-" });
  try {
    for (const env of ["development", "staging", "production"]) {
      const rule = prometheusRuleManifest(await targetOf(env), THRESHOLDS) as Json;
      await Deno.writeTextFile(`${dir}/${env}.yml`, stringify(rule.spec));
      const checked = await promtool(["check", "rules", `${env}.yml`], dir);
      assert.equal(checked.code, 0, checked.out);
      assert.match(checked.out, /SUCCESS: 3 rules found/);
    }
    // the same check fails a rule file whose expression does not parse (it can fail)
    const broken = prometheusRuleManifest(await targetOf("production"), THRESHOLDS) as Json;
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
function series(labels: Record<string, string>, values: string) {
  const text = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
  return { series: `${labels.__name__}{${text.replace(/__name__="[^"]*",?/, "")}}`, values };
}

Deno.test("promtool test rules: each alert fires on its condition and stays silent below it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "promtool-" });
  try {
    const target = await targetOf("production");
    const rule = prometheusRuleManifest(target, THRESHOLDS) as Json;
    await Deno.writeTextFile(`${dir}/rules.yml`, stringify(rule.spec));
    const ns = "tracktion-prod";
    const svc = (service: string, slot: string) => ({ namespace: ns, service, slot });
    const requests = (service: string, slot: string, status: string, perMinute: number) =>
      series(
        { __name__: "http_requests_total", ...svc(service, slot), status },
        `0+${perMinute}x30`,
      );
    const bucket = (service: string, le: string, perMinute: number) =>
      series(
        { __name__: "http_request_duration_seconds_bucket", ...svc(service, "green"), le },
        `0+${perMinute}x30`,
      );
    const input_series = [
      // analysis-service green: 2% errors (fires); file-watcher green: 0.5% (silent)
      requests("analysis-service", "green", "200", 980),
      requests("analysis-service", "green", "500", 20),
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
      // a crash-looping analysis-service pod (fires) and another app's pod (silent)
      series({
        __name__: "kube_pod_container_status_waiting_reason",
        namespace: ns,
        pod: "analysis-service-green-5d9f-x2x9k",
        container: "analysis-service",
        reason: "CrashLoopBackOff",
      }, "1x30"),
      series({
        __name__: "kube_pod_container_status_waiting_reason",
        namespace: ns,
        pod: "billing-7c4-abcde",
        container: "billing",
        reason: "CrashLoopBackOff",
      }, "1x30"),
    ];
    const common = { app: "tracktion", namespace: ns };
    const tests = {
      rule_files: ["rules.yml"],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series,
        alert_rule_test: [
          // not yet: the conditions must hold for 5 minutes (and rate() needs two samples)
          { eval_time: "4m", alertname: "HighErrorRate", exp_alerts: [] },
          {
            eval_time: "15m",
            alertname: "HighErrorRate",
            exp_alerts: [{
              exp_labels: {
                ...common,
                severity: "critical",
                service: "analysis-service",
                slot: "green",
              },
              exp_annotations: {
                summary:
                  "analysis-service (green) in tracktion-prod answers 2% of requests with 5xx",
                description: "More than 1% of requests failed for 5m.",
              },
            }],
          },
          {
            eval_time: "15m",
            alertname: "HighLatencyP95",
            exp_alerts: [{
              exp_labels: {
                ...common,
                severity: "warning",
                service: "tracklist-service",
                slot: "green",
              },
              exp_annotations: {
                summary: "tracklist-service (green) in tracktion-prod: p95 latency 2.5s",
                description: "The 95th percentile request took longer than 2000 ms for 5m.",
              },
            }],
          },
          {
            eval_time: "15m",
            alertname: "PodCrashLooping",
            exp_alerts: [{
              exp_labels: {
                namespace: ns,
                app: "tracktion",
                severity: "critical",
                pod: "analysis-service-green-5d9f-x2x9k",
                container: "analysis-service",
                reason: "CrashLoopBackOff",
              },
              exp_annotations: {
                summary:
                  "Pod tracktion-prod/analysis-service-green-5d9f-x2x9k (analysis-service) is crash-looping",
                description:
                  "A container has been in CrashLoopBackOff for 5m: see kubectl logs --previous.",
              },
            }],
          },
        ],
      }],
    };
    await Deno.writeTextFile(`${dir}/tests.yml`, stringify(tests));
    const result = await promtool(["test", "rules", "tests.yml"], dir);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /SUCCESS/);

    // and the test can fail: at 0.5% errors analysis-service would not fire
    const quiet = structuredClone(tests);
    quiet.tests[0]!.input_series[1] = requests("analysis-service", "green", "500", 5);
    await Deno.writeTextFile(`${dir}/quiet.yml`, stringify(quiet));
    const failed = await promtool(["test", "rules", "quiet.yml"], dir);
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.out, /alertname: HighErrorRate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the ServiceMonitor selects each pod once: the slot Services, never the live one", async () => {
  const target = await targetOf("production");
  const monitor = serviceMonitorManifest(target) as Json;
  assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(monitor.metadata.name, "tracktion");
  assert.equal(monitor.metadata.namespace, "tracktion-prod");
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
  for (const service of Object.keys(target.services)) {
    for (const slot of ["blue", "green"] as const) {
      assert.ok(selects(slotServiceManifest(target, { service, slot })), `${service}-${slot}`);
      assert.ok(!selects(serviceManifest(target, { service, slot })), `the live ${service}`);
    }
  }
  const labelled = monitoringManifests(target, THRESHOLDS, {
    labels: { release: "prometheus" },
    interval: "15s",
  }) as Json[];
  assert.deepEqual(labelled.map((m) => m.metadata.labels), [
    { release: "prometheus", app: "tracktion" },
    { release: "prometheus", app: "tracktion" },
  ]);
  assert.equal(labelled[0]!.spec.endpoints[0].interval, "15s");
});

Deno.test("thresholds and durations out of range are refused, naming the value", async () => {
  const target = await targetOf("staging");
  assert.throws(
    () => prometheusRuleManifest(target, { errorRatePercent: 0, p95LatencyMs: 2000 }),
    /Cannot alert on an error rate above 0%: use a share in \(0, 100\]/,
  );
  assert.throws(
    () => prometheusRuleManifest(target, { errorRatePercent: 1, p95LatencyMs: Number.NaN }),
    /p95 latency above NaN ms/,
  );
  assert.throws(
    () => prometheusRuleManifest(target, { ...THRESHOLDS, for: "5 minutes" }),
    /Cannot use the alerts' duration "5 minutes": expected a duration such as 30s or 5m/,
  );
  assert.throws(() => serviceMonitorManifest(target, { interval: "often" }), /scrape interval/);
});
