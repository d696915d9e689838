// `deno task monitoring render <env> [--out dir]`, run as a user runs it: the rules pass the real
// promtool in every environment, stdout is the same objects as --out's monitoring.yml, the
// options reach the rules, and every bad input exits 2 with a reason and writes nothing.
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { monitoring, promtool } from "./_cli.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const ENVIRONMENTS = ["development", "staging", "production"];
const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("monitoring render --out: promtool check rules passes on rules.yml of every environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-render-" });
  try {
    for (const env of ENVIRONMENTS) {
      const out = `${dir}/${env}`;
      const r = await monitoring("render", env, "--out", out);
      assert.equal(r.code, 0, r.stderr);
      const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
      assert.deepEqual(files, [
        "dashboard-configmap.yml",
        "dashboard.json",
        "monitoring.yml",
        "prometheusrule.yml",
        "rules.yml",
        "servicemonitors.yml",
      ]);
      assert.match(r.stdout, new RegExp(`wrote ${out}/rules.yml`));
      const checked = await promtool("check", "rules", `${out}/rules.yml`);
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.match(checked.stdout, /SUCCESS: 19 rules found/);
      // the plain rule file is the PrometheusRule's spec; the ServiceMonitors one per service
      const rules = parse(await Deno.readTextFile(`${out}/rules.yml`));
      const [rule] = parseAllDocuments(await Deno.readTextFile(`${out}/prometheusrule.yml`))
        .map((d) => d.toJSON() as Json);
      assert.deepEqual(rule!.spec, rules);
      const monitors = parseAllDocuments(await Deno.readTextFile(`${out}/servicemonitors.yml`))
        .map((d) => d.toJSON() as Json);
      assert.deepEqual(monitors.map((m) => m.metadata.name), SERVICES.map((s) => `tracktion-${s}`));
      const namespace = { development: "tracktion-dev", staging: "tracktion-staging" }[
        env as "development"
      ] ?? "tracktion-prod";
      assert.ok(monitors.every((m) => m.metadata.namespace === namespace));
      // blue-green environments gate nothing themselves: production's canary bounds apply
      const header = (await Deno.readTextFile(`${out}/rules.yml`)).split("\n").slice(0, 3);
      assert.match(
        header[2]!,
        /^# Alert bounds \(the loosest gates, production\): error_rate < 1%, p95_latency < 2000ms; window 5m, for 5m\.$/,
      );
      const dashboard = JSON.parse(await Deno.readTextFile(`${out}/dashboard.json`));
      assert.equal(dashboard.uid, `tracktion-${env}`);
    }
    // promtool is a real check: a rule file with a bad expression fails it
    const broken = `${dir}/production/rules.yml`;
    const text = await Deno.readTextFile(broken);
    await Deno.writeTextFile(broken, text.replace("[5m])) /", "[5m]) /"));
    const refused = await promtool("check", "rules", broken);
    assert.equal(refused.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("monitoring render prints the objects --out writes to monitoring.yml; --window, --for, --label, --restarts reach them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-render-" });
  try {
    const printed = await monitoring("render", "production");
    assert.equal(printed.code, 0, printed.stderr);
    const docs = parseAllDocuments(printed.stdout).map((d) => d.toJSON() as Json);
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), [
      ...SERVICES.map((s) => `ServiceMonitor/tracktion-${s}`),
      "PrometheusRule/tracktion-alerts",
      "ConfigMap/tracktion-dashboard",
    ]);
    const written = await monitoring("render", "production", "--out", `${dir}/out`);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/out/monitoring.yml`), printed.stdout);

    const short = await monitoring(
      "render",
      "production",
      "--window",
      "1m",
      "--for",
      "0s",
      "--label",
      "release=prometheus",
      "--restarts",
      "5",
      "--interval",
      "15s",
    );
    assert.equal(short.code, 0, short.stderr);
    const objects = parseAllDocuments(short.stdout).map((d) => d.toJSON() as Json);
    const rule = objects.find((o) => o.kind === "PrometheusRule")!;
    const rules = rule.spec.groups[0].rules as Json[];
    const errorRate = rules.filter((r) => r.alert === "HighErrorRate");
    assert.equal(errorRate.length, 8); // 4 services × 2 slots
    for (const r of errorRate) {
      assert.equal(r.for, "0s");
      assert.match(r.expr, /\[1m\]\)\)\) \* 100 >= 1$/);
      assert.doesNotMatch(r.expr, /\[5m\]/);
    }
    const restarting = rules.find((r) => r.alert === "PodRestarting")!;
    assert.match(restarting.expr, /\[1m\]\) >= 5$/);
    assert.ok(objects.every((o) => o.metadata.labels.release === "prometheus"));
    const monitor = objects.find((o) => o.kind === "ServiceMonitor")!;
    assert.equal(monitor.spec.endpoints[0].interval, "15s");
    assert.match(short.stdout, /^# Alert bounds .* window 1m, for 0s\.$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("monitoring render --help prints the usage and exits 0", async () => {
  const r = await monitoring("--help");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^usage: deno task monitoring render <environment> \[--out <dir>\]/);
  assert.match(r.stdout, /--for <duration>/);
});

Deno.test("monitoring render: bad input exits 2 with the reason and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-render-" });
  try {
    const file = `${dir}/a-file`;
    await Deno.writeTextFile(file, "keep me\n");
    const out = `${dir}/out`;
    const cases: [string[], RegExp][] = [
      [
        ["render", "qa", "--out", out],
        /Unknown environment "qa": no environments\/qa.yml \(known: development, production, staging\)/,
      ],
      [["render", "production", "--out", file], /Cannot write to --out .*a-file: it is a file/],
      [
        ["render", "production", "--out", `${dir}/missing/out`],
        /Cannot write to --out .*missing\/out: its parent .*missing is not a folder/,
      ],
      [["render", "production", "--out", out, "--frobnicate"], /Unknown option '--frobnicate'/],
      [
        ["render", "production", "--out", out, "--window", "1 minute"],
        /Cannot use --window "1 minute": expected a duration such as 30s or 5m/,
      ],
      [["render", "production", "--out", out, "--for", "soon"], /Cannot use --for "soon"/],
      [
        ["render", "production", "--out", out, "--label", "release"],
        /Cannot use --label "release": expected key=value/,
      ],
      [
        ["render", "production", "--out", out, "--restarts", "0"],
        /Cannot use --restarts "0": expected 1 to 1000/,
      ],
      [["render", "--out", out], /expected one environment after render, got 0/],
      [["render", "staging", "production", "--out", out], /expected one environment.*got 2/],
      [["publish", "production", "--out", out], /unknown command "publish": expected render/],
      [[], /expected a command: expected render/],
      [
        ["render", "production", "--out", out, "--pipeline", `${dir}/none.ts`],
        /Cannot find pipeline file/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await monitoring(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "", args.join(" "));
      assert.equal(await exists(out), false, `${args.join(" ")} wrote ${out}`);
    }
    assert.equal(await Deno.readTextFile(file), "keep me\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a-file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
