import assert from "node:assert/strict";
import { SCENARIOS, startSandbox } from "../../lib/sandbox/mod.ts";
import { readState } from "../../lib/sandbox/state.ts";
import { deploymentYaml, spawnSandboxCli, tempFile, waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";
/** `deno task sandbox` is `deno run -A lib/cli/main.ts sandbox`. */
const MAIN = new URL("../../lib/cli/main.ts", import.meta.url).pathname;

Deno.test("startSandbox() keeps state across a restart and --reset starts from a freshly seeded cluster", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-state-" });
  try {
    let t = await withSandbox({ stateDir, trafficRate: 0 });
    const file = await tempFile(deploymentYaml({ name: "keep", namespace: NS, version: "1.0.0" }));
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/keep", "-n", NS, "--timeout=60s");
    const marker = await tempFile(`apiVersion: v1
kind: ConfigMap
metadata: {name: marker, namespace: ${NS}}
data: {k: v}
`);
    await t.kubectlOk("create", "-f", marker);
    await Deno.remove(marker);
    const before = JSON.parse(
      await t.kubectlOk("get", "configmap", "marker", "-n", NS, "-o", "json"),
    );
    await t.close();
    assert.equal(
      await Deno.stat(`${stateDir}/kubeconfig`).then(() => true, () => false),
      false,
      "kubeconfig removed on stop",
    );

    t = await withSandbox({ stateDir, trafficRate: 0 });
    const after = JSON.parse(
      await t.kubectlOk("get", "configmap", "marker", "-n", NS, "-o", "json"),
    );
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(
      await t.kubectlOk(
        "get",
        "deploy",
        "keep",
        "-n",
        NS,
        "-o",
        "jsonpath={.status.readyReplicas}",
      ),
      "2",
    );
    const ipBefore = await t.kubectlOk(
      "get",
      "svc",
      "keep",
      "-n",
      NS,
      "-o",
      "jsonpath={.spec.clusterIP}",
    );
    await t.kubectlOk("apply", "-f", file);
    const other = await tempFile(
      deploymentYaml({ name: "other", namespace: NS, version: "1.0.0" }),
    );
    await t.kubectlOk("apply", "-f", other);
    await Deno.remove(other);
    const ips =
      (await t.kubectlOk("get", "svc", "-n", NS, "-o", "jsonpath={.items[*].spec.clusterIP}"))
        .split(" ");
    assert.equal(new Set(ips).size, ips.length, `cluster IPs are unique after a restart: ${ips}`);
    assert.equal(
      await t.kubectlOk("get", "svc", "keep", "-n", NS, "-o", "jsonpath={.spec.clusterIP}"),
      ipBefore,
      "re-applying a Service keeps its cluster IP",
    );
    await t.kubectlOk("label", "configmap", "marker", "-n", NS, "touched=yes");
    const touched = JSON.parse(
      await t.kubectlOk("get", "configmap", "marker", "-n", NS, "-o", "json"),
    );
    assert.ok(
      Number(touched.metadata.resourceVersion) > Number(before.metadata.resourceVersion),
      "resourceVersions keep growing",
    );
    await t.close();

    t = await withSandbox({ stateDir, trafficRate: 0, reset: true });
    assert.equal((await t.kubectl("get", "configmap", "marker", "-n", NS)).code, 1);
    assert.match(await t.kubectlOk("get", "secrets", "-n", NS), /db-credentials/);
    await t.close();
    await Deno.remove(file);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("startSandbox() rejects an unknown scenario with a RangeError listing the known ones", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => startSandbox({ stateDir, scenario: "chaos-monkey" }),
      (error: Error) =>
        error instanceof RangeError &&
        Object.keys(SCENARIOS).every((s) => error.message.includes(s)),
    );
    await assert.rejects(() => startSandbox({ stateDir, timeScale: 0 }), RangeError);
    assert.deepEqual([...Deno.readDirSync(stateDir)], [], "nothing written");
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

function spawnSandbox(stateDir: string, extra: string[] = []) {
  return spawnSandboxCli(stateDir, ["--time-scale", "600", ...extra]);
}

Deno.test("deno task sandbox prints one ready line, serves, and stops cleanly on SIGTERM with state saved", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-cli-" });
  try {
    const { child, line, reader } = await spawnSandbox(stateDir);
    const m = line.match(/^sandbox ready: server=(http:\/\/127\.0\.0\.1:\d+) kubeconfig=(.+)$/);
    assert.ok(m, `ready line: ${line}`);
    const version = await (await fetch(`${m[1]}/version`)).json();
    assert.equal(version.major, "1");
    const kc = await Deno.readTextFile(m[2] ?? "");
    assert.match(kc, /name: tracktion-sandbox/);
    assert.match(kc, /current-context: tracktion-sandbox/);
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    const rest = await reader.read();
    assert.ok(rest.done || !rest.value?.trim(), "exactly one line on stdout");
    await child.stderr.cancel();
    const state = await readState(`${stateDir}/state.json`);
    assert.ok(state && state.store.objects.length > 10);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("deno task sandbox: --list-scenarios lists each scenario, bad flags exit 2 without side effects", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "sandbox", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const list = await run("--list-scenarios");
  assert.equal(list.code, 0);
  assert.equal(list.stdout.trim().split("\n").length, Object.keys(SCENARIOS).length);
  for (
    const name of [
      "canary-errors",
      "slow",
      "crashloop",
      "slow-rollout",
      "migration-fails",
      "metrics-down",
    ]
  ) {
    assert.match(list.stdout, new RegExp(`^${name}\\s+\\S`, "m"));
  }
  const stateDir = await Deno.makeTempDir();
  try {
    const bad = await run("--state-dir", stateDir, "--scenario", "nope");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown scenario.*canary-errors/);
    const badScale = await run("--state-dir", stateDir, "--time-scale", "fast");
    assert.equal(badScale.code, 2);
    const unknown = await run("--state-dir", stateDir, "--colour");
    assert.equal(unknown.code, 2);
    assert.deepEqual([...Deno.readDirSync(stateDir)], []);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("state.json survives SIGKILL at any moment while the API is being written to", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-kill-" });
  try {
    for (let round = 0; round < 4; round++) {
      const { child, line, reader } = await spawnSandbox(stateDir);
      const url = line.match(/server=(\S+)/)?.[1] ?? "";
      let stop = false;
      const writers = [0, 1, 2].map(async (w) => {
        for (let i = 0; !stop; i++) {
          await fetch(`${url}/api/v1/namespaces/${NS}/configmaps`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              metadata: { name: `r${round}-w${w}-${i}` },
              data: { blob: "x".repeat(2000) },
            }),
          }).then((r) => r.body?.cancel()).catch(() => {});
        }
      });
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 600));
      child.kill("SIGKILL");
      await child.status;
      stop = true;
      await Promise.all(writers);
      await reader.cancel();
      await child.stderr.cancel();
      const state = await readState(`${stateDir}/state.json`);
      assert.ok(state, `round ${round}: state.json readable`);
    }
    const t = await withSandbox({ stateDir, trafficRate: 0 });
    const names = await t.kubectlOk("get", "configmaps", "-n", NS, "-o", "name");
    assert.match(names, /configmap\/r\d-w\d-/, "writes saved before a kill survive it");
    await t.close();
    await waitFor("no temporaries left", async () => {
      for await (const e of Deno.readDir(stateDir)) if (e.name.endsWith(".tmp")) return false;
      return true;
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
