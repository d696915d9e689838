// `deno task status` refuses bad input with exit 2 before anything connects (nothing is
// started, nothing written), and a cluster that does not answer with exit 1 and a clear
// message that quotes no credential.
import assert from "node:assert/strict";
import { statusCli } from "./_status.ts";

Deno.test({
  name: "status: bad input exits 2 naming the problem, with nothing started or written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tracktion-status-bad-" });
    const sandbox = `${dir}/sandbox`;
    const runs = `${dir}/runs`;
    await Deno.writeTextFile(`${dir}/a-file`, "x");
    const at = ["--sandbox", "--sandbox-dir", sandbox, "--runs-dir", runs];
    const cases: [string[], RegExp][] = [
      [[], /expected one environment, got none\nusage: deno task status/],
      [["staging", "production", ...at], /expected one environment, got 2 \(staging production\)/],
      [
        ["prod", ...at],
        /Unknown environment "prod": no environments\/prod\.yml \(known: development, production, staging\)/,
      ],
      [["../etc", ...at], /Invalid environment name "\.\.\/etc"/],
      [["staging", "--jsno", ...at], /Unknown option '--jsno'/],
      [["staging", "--sandbox-dir", sandbox], /--sandbox-dir needs --sandbox/],
      [
        ["staging", "--kubeconfig", `${dir}/a-file`, ...at],
        /--sandbox reads the sandbox: --kubeconfig would name another cluster/,
      ],
      [["staging", "--context", "x", ...at], /--sandbox reads the sandbox: --context would name/],
      [
        ["staging", "--kubeconfig", `${dir}/missing`],
        /Cannot read --kubeconfig .*\/missing: no such file/,
      ],
      [
        ["staging", "--lock", "Not_A_Lease", ...at],
        /Cannot use --lock "Not_A_Lease": not a Lease name/,
      ],
      [
        ["staging", "--sandbox", "--sandbox-dir", `${dir}/a-file`],
        /Cannot use --sandbox-dir .*a-file: not a folder/,
      ],
      [
        ["staging", "--runs-dir", `${dir}/a-file`, "--sandbox", "--sandbox-dir", sandbox],
        /Cannot use --runs-dir .*a-file: not a folder/,
      ],
      [["staging", "--json=yes", ...at], /Option '--json' does not take an argument/],
      [["staging", "--environments-dir", `${dir}/none`, ...at], /Unknown environment "staging"/],
    ];
    try {
      for (const [args, message] of cases) {
        const out = await statusCli(args);
        assert.equal(out.code, 2, `${args.join(" ")}: ${out.stdout}${out.stderr}`);
        assert.match(out.stderr, /^error: /);
        assert.match(out.stderr, message, args.join(" "));
        assert.equal(out.stdout, "", args.join(" "));
      }
      // Nothing was started or written: no sandbox state, no runs folder.
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["a-file"]);
      const help = await statusCli(["--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^usage: deno task status <environment> \[flags\]/);
      assert.match(help.stdout, /--kubeconfig <file>/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "status: a kubeconfig without the environment's context exits 2; a cluster that does not answer exits 1, no token quoted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tracktion-status-unreachable-" });
    // A port nothing listens on: bound, then closed.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const token = "kubeTokenValue-0123456789abcdef";
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: gone",
        "  cluster:",
        `    server: http://127.0.0.1:${port}`,
        "    insecure-skip-tls-verify: true",
        "users:",
        "- name: me",
        "  user:",
        `    token: ${token}`,
        "contexts:",
        "- name: prod-cluster",
        "  context: { cluster: gone, user: me }",
        "- name: staging-cluster",
        "  context: { cluster: gone, user: me }",
        "- name: other",
        "  context: { cluster: gone, user: me }",
        "current-context: other",
        "",
      ].join("\n"),
    );
    try {
      const noContext = await statusCli([
        "production",
        "--kubeconfig",
        kubeconfig,
        "--context",
        "nope",
      ]);
      assert.equal(noContext.code, 2, noContext.stderr);
      assert.match(
        noContext.stderr,
        /has no context "nope" \(it has prod-cluster, staging-cluster, other\) \(--kubeconfig\)/,
      );

      // production names its context (prod-cluster): the kubeconfig's current one is not used.
      const down = await statusCli(
        ["production", "--kubeconfig", kubeconfig, "--runs-dir", `${dir}/runs`],
        { DEPLOY_CLUSTER_TIMEOUT: "2s" },
      );
      assert.equal(down.code, 1, down.stdout + down.stderr);
      assert.equal(down.stdout, "");
      assert.match(
        down.stderr,
        new RegExp(
          `^error: cannot read the status of production: cannot reach the Kubernetes API at http://127\\.0\\.0\\.1:${port}`,
        ),
      );
      assert.ok(!down.stderr.includes(token), "the token leaked");

      // The same through KUBECONFIG, as the deploy finds the environment's cluster.
      const viaEnv = await statusCli(["staging", "--json", "--runs-dir", `${dir}/runs`], {
        KUBECONFIG: kubeconfig,
        DEPLOY_CLUSTER_TIMEOUT: "2s",
      });
      assert.equal(viaEnv.code, 1, viaEnv.stdout + viaEnv.stderr);
      assert.match(viaEnv.stderr, /cannot reach the Kubernetes API/);
      assert.ok(!viaEnv.stderr.includes(token), "the token leaked");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
