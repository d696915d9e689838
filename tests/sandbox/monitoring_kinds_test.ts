// The Prometheus Operator's kinds (monitoring.coreos.com/v1 ServiceMonitor, PrometheusRule) as
// a cluster with its CRDs serves them: discovery, get/apply/patch/delete with the real kubectl
// (client-side and server-side apply), the CRDs' schema validation (422 in the API server's
// words), unknown fields refused under kubectl's strict validation, and client-node finding them.
import assert from "node:assert/strict";
import { tempFile, withSandbox } from "./_helpers.ts";
import { createKubernetesCapability } from "../../lib/kubernetes/provider.ts";

const NS = "tracktion-staging";

function rule(name: string, rules: string): string {
  return `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: ${name}, namespace: ${NS}, labels: {app: tracktion}}
spec:
  groups:
  - name: ${name}.rules
    rules:
${rules}
`;
}

const GOOD_RULES = `    - alert: HighErrorRate
      expr: sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.01
      for: 5m
      labels: {severity: critical}
      annotations: {summary: errors}`;

const MONITOR = `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: tracktion-services, namespace: ${NS}, labels: {app: tracktion}}
spec:
  selector: {matchLabels: {app: tracktion}}
  endpoints: [{port: http, path: /metrics, interval: 30s}]
`;

Deno.test("kubectl: ServiceMonitor and PrometheusRule are discovered, applied, listed, patched and deleted", async () => {
  const t = await withSandbox();
  try {
    const resources = await t.kubectlOk("api-resources", "--api-group=monitoring.coreos.com");
    assert.match(
      resources,
      /^servicemonitors\s+smon\s+monitoring\.coreos\.com\/v1\s+true\s+ServiceMonitor$/m,
    );
    assert.match(
      resources,
      /^prometheusrules\s+promrule\s+monitoring\.coreos\.com\/v1\s+true\s+PrometheusRule$/m,
    );
    const none = await t.kubectl("get", "servicemonitor", "-n", NS);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /No resources found in tracktion-staging namespace/);

    // client-side apply (kubectl's default: a JSON merge patch for a custom resource)
    const created = await t.kubectlOk("apply", "-f", await tempFile(MONITOR));
    assert.match(created, /servicemonitor.monitoring.coreos.com\/tracktion-services created/);
    const rules = await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(rule("tracktion-alerts", GOOD_RULES)),
    );
    assert.match(rules, /prometheusrule.monitoring.coreos.com\/tracktion-alerts created/);
    // the runbook's: kubectl get servicemonitor -n $NAMESPACE | grep tracktion
    assert.match(await t.kubectlOk("get", "servicemonitor", "-n", NS), /^NAME\s+AGE\n/);
    assert.match(
      await t.kubectlOk("get", "servicemonitor", "-n", NS),
      /^tracktion-services\s+\d+s$/m,
    );
    assert.match(await t.kubectlOk("get", "prometheusrule", "-n", NS), /^tracktion-alerts\s/m);
    assert.match(
      await t.kubectlOk("get", "smon,promrule", "-n", NS, "-o", "name"),
      /servicemonitor.monitoring.coreos.com\/tracktion-services\nprometheusrule.monitoring.coreos.com\/tracktion-alerts/,
    );
    assert.match(
      await t.kubectlOk("get", "prometheus-operator", "-n", NS, "-o", "name"),
      /tracktion-alerts/,
    );

    const unchanged = await t.kubectlOk("apply", "-f", await tempFile(MONITOR));
    assert.match(unchanged, /tracktion-services unchanged/);
    const json = () =>
      t.kubectlOk(
        "get",
        "servicemonitor",
        "tracktion-services",
        "-n",
        NS,
        "-o",
        "json",
        "--show-managed-fields",
      ).then(
        JSON.parse,
      );
    assert.equal((await json()).metadata.generation, 1);
    // server-side apply of a changed spec: a new generation, the manager recorded
    const ssa = await t.kubectlOk(
      "apply",
      "--server-side",
      "--field-manager=ssa-test",
      "-f",
      await tempFile(MONITOR.replace("interval: 30s", "interval: 15s")),
    );
    assert.match(ssa, /serverside-applied/);
    const after = await json();
    assert.equal(after.spec.endpoints[0].interval, "15s");
    assert.equal(after.metadata.generation, 2);
    assert.ok(
      after.metadata.managedFields.some((f: { manager: string }) => f.manager === "ssa-test"),
    );

    await t.kubectlOk(
      "patch",
      "prometheusrule",
      "tracktion-alerts",
      "-n",
      NS,
      "--type=merge",
      "-p",
      JSON.stringify({ metadata: { labels: { team: "platform" } } }),
    );
    const patched = JSON.parse(
      await t.kubectlOk("get", "promrule", "tracktion-alerts", "-n", NS, "-o", "json"),
    );
    assert.equal(patched.metadata.labels.team, "platform");
    assert.equal(patched.spec.groups[0].rules[0].for, "5m");
    // a custom resource takes no strategic merge patch (kubectl patch's default)
    const strategic = await t.kubectl(
      "patch",
      "prometheusrule",
      "tracktion-alerts",
      "-n",
      NS,
      "-p",
      '{"metadata":{"labels":{"a":"b"}}}',
    );
    assert.notEqual(strategic.code, 0);
    assert.match(strategic.stderr, /UnsupportedMediaType|415|not supported/i);

    assert.match(
      await t.kubectlOk("delete", "prometheusrule", "tracktion-alerts", "-n", NS),
      /prometheusrule.monitoring.coreos.com "tracktion-alerts" deleted/,
    );
    const gone = await t.kubectl("get", "prometheusrule", "tracktion-alerts", "-n", NS);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /prometheusrules.monitoring.coreos.com "tracktion-alerts" not found/);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl: what the CRDs' schemas reject is refused (422, the API server's words), nothing stored", async () => {
  const t = await withSandbox();
  try {
    const refused = async (yaml: string, pattern: RegExp) => {
      const r = await t.kubectl("apply", "-f", await tempFile(yaml));
      assert.equal(r.code, 1, `expected a refusal, got: ${r.stdout}`);
      assert.match(r.stderr, pattern);
    };
    await refused(
      rule("no-expr", "    - alert: Broken\n      for: 5m"),
      /The PrometheusRule "no-expr" is invalid: spec.groups\[0\].rules\[0\].expr: Required value/,
    );
    await refused(
      rule("bad-for", "    - alert: Broken\n      expr: up == 0\n      for: 5 minutes"),
      /spec.groups\[0\].rules\[0\].for: Invalid value: "5 minutes": spec.groups\[0\].rules\[0\].for in body should match/,
    );
    await refused(
      rule("bad-labels", "    - alert: Broken\n      expr: up == 0\n      labels: {severity: 3}"),
      /spec.groups\[0\].rules\[0\].labels.severity: Invalid value: "integer": .* must be of type string/,
    );
    await refused(
      `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: twice, namespace: ${NS}}
spec:
  groups:
  - {name: a, rules: [{record: x, expr: up}]}
  - {name: a, rules: [{record: y, expr: up}]}
`,
      /spec.groups\[1\]: Duplicate value/,
    );
    await refused(
      `apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: nospec, namespace: ${NS}}\n`,
      /"nospec" is invalid: spec: Required value/,
    );
    await refused(
      MONITOR.replace("  selector: {matchLabels: {app: tracktion}}\n", ""),
      /The ServiceMonitor "tracktion-services" is invalid: spec.selector: Required value/,
    );
    await refused(
      MONITOR.replace("path: /metrics", "path: /metrics, scheme: ftp"),
      /spec.endpoints\[0\].scheme: Unsupported value: "ftp": supported values: "http", "https"/,
    );
    // kubectl validates strictly by default: an unknown field is a 400
    await refused(
      MONITOR.replace("  endpoints:", "  endpoint: [{port: http}]\n  endpoints:"),
      /strict decoding error: unknown field "spec.endpoint"/,
    );
    const left = await t.kubectl("get", "smon,promrule", "-n", NS, "-o", "name");
    assert.equal(left.stdout.trim(), "", "nothing refused was stored");
    // with --validate=false the unknown field is pruned, as a structural schema does
    await t.kubectlOk(
      "apply",
      "--validate=false",
      "-f",
      await tempFile(MONITOR.replace("  endpoints:", "  endpoint: [{port: http}]\n  endpoints:")),
    );
    const stored = JSON.parse(
      await t.kubectlOk("get", "smon", "tracktion-services", "-n", NS, "-o", "json"),
    );
    assert.equal(stored.spec.endpoint, undefined);
    assert.equal(stored.spec.endpoints[0].port, "http");
  } finally {
    await t.close();
  }
});

Deno.test("client-node: the capability finds the kinds namespaced, applies and lists them", async () => {
  const t = await withSandbox();
  try {
    const k = createKubernetesCapability({ kubeconfigPath: t.sandbox.kubeconfigPath });
    const kind = { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule" };
    assert.equal(await k.namespaced(kind), true);
    assert.equal(
      await k.namespaced({ apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor" }),
      undefined,
      "a kind the sandbox does not serve",
    );
    await k.apply({
      ...kind,
      metadata: { name: "tracktion-alerts", namespace: NS },
      spec: { groups: [{ name: "g", rules: [{ alert: "Down", expr: "up == 0", for: "1m" }] }] },
    });
    const listed = await k.list(kind, NS);
    assert.deepEqual(listed.map((o) => o.metadata.name), ["tracktion-alerts"]);
    await assert.rejects(
      () =>
        k.apply({
          ...kind,
          metadata: { name: "broken", namespace: NS },
          spec: { groups: [{ name: "g", rules: [{ alert: "Down" }] }] },
        }),
      /Cannot apply PrometheusRule tracktion-staging\/broken: 422 Invalid: PrometheusRule.monitoring.coreos.com "broken" is invalid: .*rules\[0\]\.expr: Required value/,
    );
  } finally {
    await t.close();
  }
});
