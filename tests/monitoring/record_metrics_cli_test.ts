// `deno task monitoring record-metrics <env> --kubeconfig <file>`: the deploy record of a real
// (sandbox) cluster served at /metrics until SIGTERM (exit 0), read afresh on each scrape; bad
// input exits 2 before anything listens.
import assert from "node:assert/strict";
import { withCluster } from "../kubernetes/_helpers.ts";
import { monitoring } from "./_cli.ts";

const NS = "tracktion-staging";

Deno.test("monitoring record-metrics serves the cluster's deploy record until SIGTERM", async () => {
  await withCluster(async ({ k, sandbox }) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "lib/cli/main.ts",
        "monitoring",
        "record-metrics",
        "staging",
        "--kubeconfig",
        sandbox.kubeconfigPath,
        "--listen",
        "127.0.0.1:0",
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const { value } = await lines.read();
      const url = /at (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(value ?? "")?.[1];
      assert.ok(url, `printed: ${value}`);
      const none = await (await fetch(url)).text();
      assert.match(none, /^deploy_record_up\{namespace="tracktion-staging",app="tracktion"\} 1$/m);
      assert.doesNotMatch(none, /deploy_record_run_info/);
      const run = {
        runId: "r9",
        version: "3.2.0",
        by: "ann",
        startedAt: "2026-02-01T10:00:00.000Z",
        state: "rolled-back",
        services: {},
      };
      await k.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "deployment-info", namespace: NS },
        data: { run: JSON.stringify(run) },
      });
      const failed = await (await fetch(url)).text();
      assert.match(
        failed,
        /^deploy_record_run_failed\{namespace="tracktion-staging",app="tracktion",run_id="r9",version="3.2.0"\} 1$/m,
      );
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      await lines.cancel();
      const stderr = await new Response(child.stderr).text();
      assert.equal(status.code, 0, stderr);
    }
  });
});

Deno.test("monitoring record-metrics: bad input exits 2 with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-record-" });
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, "apiVersion: v1\nkind: Config\n");
    const cases: [string[], RegExp][] = [
      [["record-metrics", "staging"], /record-metrics needs --kubeconfig <file>/],
      [
        ["record-metrics", "staging", "--kubeconfig", `${dir}/none`],
        /Cannot read --kubeconfig .*none: no such file/,
      ],
      [
        ["record-metrics", "staging", "--kubeconfig", kubeconfig, "--listen", "anywhere"],
        /Cannot use --listen "anywhere": expected host:port/,
      ],
      [
        ["record-metrics", "qa", "--kubeconfig", kubeconfig],
        /Unknown environment "qa"/,
      ],
      [
        ["record-metrics", "staging", "--kubeconfig", kubeconfig, "--out", dir],
        /record-metrics takes no --out/,
      ],
      [["render", "staging", "--kubeconfig", kubeconfig], /render takes no --kubeconfig/],
    ];
    for (const [args, message] of cases) {
      const r = await monitoring(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "");
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["kubeconfig"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
