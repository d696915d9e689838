import assert from "node:assert/strict";
import { deploymentYaml, tempFile, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";

Deno.test("kubectl apply refuses an unknown field like the real server (strict validation), --validate=warn warns", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "typo", namespace: NS, version: "1.0.0" }).replace(
        "replicas: 2",
        "replica: 2",
      ),
    );
    const strict = await t.kubectl("apply", "-f", file);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /strict decoding error: unknown field "spec.replica"/);
    assert.equal(
      (await t.kubectl("get", "deployment", "typo", "-n", NS)).code,
      1,
      "nothing created",
    );
    const warn = await t.kubectl("apply", "--validate=warn", "-f", file);
    assert.equal(warn.code, 0);
    assert.match(warn.stderr, /unknown field "spec.replica"/);
    const stored = JSON.parse(
      await t.kubectlOk("get", "deployment", "typo", "-n", NS, "-o", "json"),
    );
    assert.equal(
      stored.spec.replica,
      undefined,
      "the unknown field is dropped, as the real decoder does",
    );
    assert.equal(stored.spec.replicas, 1);
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});

Deno.test("kubectl get --watch prints a table row for every change", async () => {
  const t = await withSandbox({ trafficRate: 0 });
  try {
    const file = await tempFile(
      deploymentYaml({ name: "watched", namespace: NS, version: "1.0.0" }),
    );
    await t.kubectlOk("apply", "-f", file);
    await t.kubectlOk("rollout", "status", "deployment/watched", "-n", NS, "--timeout=60s");
    const child = new Deno.Command("kubectl", {
      args: [
        ...t.kubectlArgs,
        "get",
        "deployment",
        "watched",
        "-n",
        NS,
        "--watch",
        "--request-timeout=30s",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    const read = async (pattern: RegExp) => {
      while (!pattern.test(out)) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
    };
    await read(/watched\s+2\/2/);
    await t.kubectlOk("scale", "deployment/watched", "-n", NS, "--replicas=3");
    await read(/watched\s+3\/3/);
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel();
    assert.match(out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    assert.match(out, /watched\s+2\/3/);
    assert.equal(out.match(/^NAME/gm)?.length, 1, "one header, then rows");
    await Deno.remove(file);
  } finally {
    await t.close();
  }
});
