/**
 * `kubectl logs` against the sandbox with the real kubectl: `-f` that follows, `--since`,
 * `--since-time`, `--tail`, `--timestamps`, `-c` and `--previous` for a crash-looping pod.
 */
import assert from "node:assert/strict";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { tempFile, type TestSandbox, waitFor, withSandbox } from "./_helpers.ts";

const NS = "tracktion-dev";
type JsonMap = Record<string, unknown>;

async function pod(t: TestSandbox, name: string): Promise<JsonMap> {
  const res = await fetch(`${t.sandbox.url}/api/v1/namespaces/${NS}/pods/${name}`);
  return await res.json();
}

function containerStatus(p: JsonMap, name = "app"): JsonMap | undefined {
  const all = ((p.status as JsonMap | undefined)?.containerStatuses ?? []) as JsonMap[];
  return all.find((c) => c.name === name);
}

function isReady(p: JsonMap): boolean {
  const conditions = ((p.status as JsonMap | undefined)?.conditions ?? []) as JsonMap[];
  return conditions.some((c) => c.type === "Ready" && c.status === "True");
}

async function createPod(t: TestSandbox, yaml: string): Promise<void> {
  const file = await tempFile(yaml);
  try {
    await t.kubectlOk("apply", "-f", file);
  } finally {
    await Deno.remove(file);
  }
}

function podYaml(name: string, image: string, sidecar = false): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}}
spec:
  containers:
  - {name: app, image: "${image}"}
${sidecar ? `  - {name: sidecar, image: "registry.local/sidecar:1.0.0"}\n` : ""}`;
}

Deno.test("kubectl logs -f stays open and shows a line within a second of it being written", async () => {
  // The sandbox's clock runs at real speed: a pod starts its container 1 s after it is
  // created and writes its "ready" line 5 s in, while kubectl is following.
  const t = await withSandbox({ timeScale: 1, trafficRate: 0 });
  const clock = t.sandbox.clock;
  try {
    await createPod(t, podYaml("follow-1", "registry.local/follow:1.0.0"));
    const running = await waitFor("the container running", async () => {
      const p = await pod(t, "follow-1");
      const state = containerStatus(p)?.state as JsonMap | undefined;
      return state?.running ? p : undefined;
    });
    assert.equal(isReady(running), false, "followed before the pod is Ready");
    // When the pod turns Ready: the kubelet writes the line in that same pass, just before.
    let readyAt: number | undefined;
    const rv = String((running.metadata as JsonMap).resourceVersion);
    const watch = await fetch(
      `${t.sandbox.url}/api/v1/namespaces/${NS}/pods?watch=1&resourceVersion=${rv}` +
        `&fieldSelector=metadata.name%3Dfollow-1`,
    );
    const watching = (async () => {
      const lines = watch.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (readyAt === undefined) {
        const { value, done } = await lines.read();
        if (done) return;
        buffer += value;
        for (const line of buffer.split("\n").slice(0, -1)) {
          if (isReady(JSON.parse(line).object)) readyAt ??= clock.now();
        }
        buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
      }
      await lines.cancel();
    })();
    const child = new Deno.Command("kubectl", {
      args: [...t.kubectlArgs, "logs", "-f", "follow-1", "-n", NS],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const seen: { line: string; at: number }[] = [];
    let ended = false;
    child.status.then(() => ended = true);
    const reading = (async () => {
      let buffer = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        const parts = buffer.split("\n");
        buffer = parts.pop() ?? "";
        for (const line of parts) seen.push({ line, at: clock.now() });
      }
      ended = true;
    })();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const started = await waitFor("the first line", () => seen[0]);
      assert.equal(JSON.parse(started.line).message, "starting app version 1.0.0");
      assert.equal(readyAt, undefined, "kubectl printed the log before the ready line was written");
      const ready = await waitFor("the ready line", () => seen[1], 30_000);
      await watching;
      const line = JSON.parse(ready.line);
      assert.equal(line.message, "listening, version 1.0.0 ready");
      assert.equal(line.level, "INFO");
      assert.ok(readyAt !== undefined);
      const lag = ready.at - readyAt;
      assert.ok(lag <= 1_000, `the line came ${lag} ms (sandbox clock) after it was written`);
      // Still following: its output is open and the process alive until it is killed.
      assert.equal(ended, false, "the followed log's stream ended");
      Deno.kill(child.pid, "SIGTERM");
      const status = await child.status;
      assert.equal(status.success, false, "kubectl logs -f ended by the kill, not by itself");
    } finally {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch {
        // already ended
      }
      await child.status;
      await reading.catch(() => {});
      await stderr.cancel();
      await watch.body?.cancel().catch(() => {});
    }
  } finally {
    await t.close();
  }
});

Deno.test("kubectl logs: --tail, --timestamps, --since, --since-time, -c, and --previous of a crash-looping pod", async () => {
  const seed = await sandboxSeedFromDir();
  const t = await withSandbox({
    trafficRate: 0,
    seed: {
      ...seed,
      images: [...(seed.images ?? []), {
        repository: "registry.local/crashy",
        requiredEnv: ["DATABASE_URL"],
      }],
    },
  });
  try {
    await createPod(t, podYaml("two", "registry.local/two:1.0.0", true));
    await createPod(t, podYaml("crashy", "registry.local/crashy:1.0.0"));
    await waitFor("pod two Ready", async () => isReady(await pod(t, "two")));
    const all = await t.kubectlOk("logs", "two", "-c", "app", "-n", NS);
    const lines = all.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.message), [
      "starting app version 1.0.0",
      "listening, version 1.0.0 ready",
    ]);
    // Without -c kubectl picks the first container and says so.
    const defaulted = await t.kubectl("logs", "two", "-n", NS);
    assert.equal(defaulted.code, 0);
    assert.equal(defaulted.stdout, all);
    assert.match(defaulted.stderr, /Defaulted container "app" out of: app, sidecar/);
    assert.equal(await t.kubectlOk("logs", "two", "-c", "sidecar", "-n", NS), "");
    const tail = await t.kubectlOk("logs", "two", "-c", "app", "--tail=1", "-n", NS);
    assert.equal(JSON.parse(tail).message, "listening, version 1.0.0 ready");
    const stamped = await t.kubectlOk("logs", "two", "-c", "app", "--timestamps", "-n", NS);
    for (const [i, row] of stamped.trimEnd().split("\n").entries()) {
      const [at, ...rest] = row.split(" ");
      assert.match(at ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      assert.equal(Date.parse(at ?? ""), Date.parse(lines[i].timestamp));
      assert.equal(rest.join(" "), JSON.stringify(lines[i]));
    }
    // --since counts back from now on the sandbox's clock.
    assert.equal(await t.kubectlOk("logs", "two", "-c", "app", "--since=1000h", "-n", NS), all);
    const last = Date.parse(lines[1].timestamp);
    await waitFor("2 s on the sandbox clock", () => t.sandbox.clock.now() - last > 2_000);
    assert.equal(await t.kubectlOk("logs", "two", "-c", "app", "--since=1s", "-n", NS), "");
    const after = new Date(last + 1_000).toISOString().replace(".000", "");
    assert.equal(
      await t.kubectlOk("logs", "two", "-c", "app", `--since-time=${after}`, "-n", NS),
      "",
    );
    assert.equal(
      await t.kubectlOk("logs", "two", "-c", "app", `--since-time=${lines[0].timestamp}`, "-n", NS),
      all,
    );
    const never = await t.kubectl("logs", "two", "-c", "app", "--previous", "-n", NS);
    assert.equal(never.code, 1);
    assert.match(never.stderr, /previous terminated container "app" in pod "two" not found/);
    // A crash-looping pod: --previous is its last run, which ended with its FATAL line.
    await waitFor("two restarts", async () => {
      return Number(containerStatus(await pod(t, "crashy"))?.restartCount ?? 0) >= 2;
    });
    const previous = await t.kubectlOk("logs", "crashy", "--previous", "-n", NS);
    const run = previous.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(run.map((l) => [l.level, l.message]), [
      ["FATAL", "fatal: configuration: required variable DATABASE_URL is not set"],
    ]);
    // Following a container that is not running ends at once with what it wrote.
    const followed = await new Deno.Command("kubectl", {
      args: [...t.kubectlArgs, "logs", "-f", "crashy", "-n", NS],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(followed.code, 0, new TextDecoder().decode(followed.stderr));
    assert.match(new TextDecoder().decode(followed.stdout), /required variable DATABASE_URL/);
    // Bad options, as the API server words them.
    const base = `${t.sandbox.url}/api/v1/namespaces/${NS}/pods/two/log?container=app`;
    const zero = await fetch(`${base}&sinceSeconds=0`);
    assert.equal(zero.status, 422);
    assert.match((await zero.json()).message, /sinceSeconds: Invalid value: 0/);
    const both = await fetch(`${base}&sinceSeconds=5&sinceTime=${lines[0].timestamp}`);
    assert.equal(both.status, 422);
    assert.match((await both.json()).message, /at most one of `sinceTime` or `sinceSeconds`/);
    const badTime = await fetch(`${base}&sinceTime=yesterday`);
    assert.equal(badTime.status, 400);
    assert.match((await badTime.json()).message, /parsing time "yesterday"/);
  } finally {
    await t.close();
  }
});
