// Pods that need their configuration: the sandbox's kubelet keeps a container whose Secret,
// ConfigMap or key is missing waiting (CreateContainerConfigError, the kubelet's message),
// starts it once the key appears, and a container whose variables its service would refuse
// crash-loops with the reason in its log. Read with the real kubectl.
import assert from "node:assert/strict";
import { tempFile, waitFor, withSandbox } from "./_helpers.ts";
import {
  configurationProblem,
  resolveContainerEnv,
  terminationMessage,
} from "../../lib/sandbox/pod_config.ts";

const NS = "shop";
const SECRET_VALUE = "hunter2-but-longer-0123456789";

function seed(requiredEnv: string[] = []) {
  return {
    namespaces: [{
      name: NS,
      secrets: [{ name: "db-credentials", data: { username: "app", password: SECRET_VALUE } }],
    }],
    images: [{ repository: "registry.local/web", requiredEnv }],
  };
}

function deployment(name: string, env: string, replicas = 1): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${NS}, labels: {app: web}}
spec:
  replicas: ${replicas}
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: web, d: ${name}}}
  template:
    metadata: {labels: {app: web, d: ${name}}}
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0.0
        terminationMessagePolicy: FallbackToLogsOnError
        env:
${env}
`;
}

type Pod = {
  metadata: { name: string };
  status?: {
    phase?: string;
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      state: { waiting?: { reason: string; message?: string }; running?: unknown };
      lastState: { terminated?: { exitCode: number; message?: string } };
    }[];
  };
};

async function podsOf(
  t: Awaited<ReturnType<typeof withSandbox>>,
  name: string,
): Promise<Pod[]> {
  const out = await t.kubectlOk("get", "pods", "-n", NS, "-l", `d=${name}`, "-o", "json");
  return (JSON.parse(out) as { items: Pod[] }).items;
}

Deno.test("resolveContainerEnv: the kubelet's messages for a missing Secret, ConfigMap or key; optional refs skipped", () => {
  const sources = {
    secret: (_: string, name: string) => name === "db" ? { user: "app" } : undefined,
    configMap: (_: string, name: string) => name === "cfg" ? { level: "INFO" } : undefined,
  };
  const env = (valueFrom: unknown) => ({ env: [{ name: "X", valueFrom }] });
  assert.deepEqual(
    resolveContainerEnv(NS, env({ secretKeyRef: { name: "nope", key: "k" } }), sources),
    { error: 'secret "nope" not found' },
  );
  assert.deepEqual(
    resolveContainerEnv(NS, env({ secretKeyRef: { name: "db", key: "password" } }), sources),
    { error: "couldn't find key password in Secret shop/db" },
  );
  assert.deepEqual(
    resolveContainerEnv(NS, env({ configMapKeyRef: { name: "cfg", key: "port" } }), sources),
    { error: "couldn't find key port in ConfigMap shop/cfg" },
  );
  assert.deepEqual(
    resolveContainerEnv(NS, { envFrom: [{ configMapRef: { name: "gone" } }] }, sources),
    { error: 'configmap "gone" not found' },
  );
  const optional = resolveContainerEnv(
    NS,
    env({ secretKeyRef: { name: "db", key: "password", optional: true } }),
    sources,
  );
  assert.ok(!("error" in optional));
  assert.deepEqual(optional.env, {});
  const found = resolveContainerEnv(
    NS,
    env({ secretKeyRef: { name: "db", key: "user" } }),
    sources,
  );
  assert.ok(!("error" in found));
  assert.deepEqual(found.env, { X: "app" });
  assert.ok(found.secret.has("X"));
});

Deno.test("configurationProblem: not set, empty, unparsable by name, min above max; a Secret's value never quoted", () => {
  const problem = (env: Record<string, string>, secret: string[] = [], required: string[] = []) =>
    configurationProblem({ env, secret: new Set(secret) }, required);
  assert.equal(problem({ A_PORT: "8000" }), null);
  assert.equal(
    problem({}, [], ["DATABASE_URL"]),
    "fatal: configuration: required variable DATABASE_URL is not set",
  );
  assert.equal(problem({ REDIS_HOST: " " }), "fatal: configuration: REDIS_HOST is empty");
  assert.equal(
    problem({ A_PORT: "70000" }),
    'fatal: configuration: A_PORT="70000" is not a port (1-65535)',
  );
  assert.equal(
    problem({ DATABASE_URL: "nope" }),
    'fatal: configuration: DATABASE_URL="nope" is not a URL',
  );
  assert.equal(
    problem({ POOL_MAX_SIZE: "ten" }),
    'fatal: configuration: POOL_MAX_SIZE="ten" is not a whole number',
  );
  assert.equal(
    problem({ REDIS_SSL: "maybe" }),
    'fatal: configuration: REDIS_SSL="maybe" is not a boolean (true or false)',
  );
  assert.match(problem({ LOG_LEVEL: "LOUD" })!, /LOG_LEVEL="LOUD" is not a log level/);
  assert.equal(
    problem({ DB_POOL_MIN_SIZE: "20", DB_POOL_MAX_SIZE: "5" }),
    "fatal: configuration: DB_POOL_MIN_SIZE=20 is larger than DB_POOL_MAX_SIZE=5",
  );
  const fromSecret = problem({ DB_PORT: SECRET_VALUE }, ["DB_PORT"]);
  assert.equal(fromSecret, "fatal: configuration: DB_PORT (from a Secret) is not a port (1-65535)");
  assert.ok(!fromSecret!.includes(SECRET_VALUE));
  assert.equal(
    problem({ DB_PASSWORD: "" }, ["DB_PASSWORD"]),
    "fatal: configuration: DB_PASSWORD (from a Secret) is empty",
  );
});

Deno.test("terminationMessage: only under FallbackToLogsOnError, at most 80 lines and 2048 bytes", () => {
  const c = { terminationMessagePolicy: "FallbackToLogsOnError" };
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  const m = terminationMessage(c, lines)!;
  assert.equal(m.split("\n").length, 80);
  assert.equal(m.split("\n").at(-1), "line 99");
  assert.ok(new TextEncoder().encode(terminationMessage(c, ["x".repeat(5000)])!).length <= 2048);
  assert.equal(terminationMessage({ terminationMessagePolicy: "File" }, lines), undefined);
});

Deno.test("a missing Secret key keeps the pod waiting (CreateContainerConfigError) until the key is added; kubectl shows the reason", async () => {
  const t = await withSandbox({ seed: seed() });
  try {
    const env =
      `        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-credentials, key: api-password}}}
        - {name: DB_USER, valueFrom: {secretKeyRef: {name: db-credentials, key: username}}}`;
    await t.kubectlOk("apply", "-f", await tempFile(deployment("keyless", env, 2)));
    const waiting = await waitFor("pods waiting on their config", async () => {
      const pods = await podsOf(t, "keyless");
      return pods.length === 2 &&
        pods.every((p) =>
          p.status?.containerStatuses?.[0]?.state.waiting?.reason === "CreateContainerConfigError"
        ) && pods;
    });
    for (const pod of waiting) {
      const c = pod.status!.containerStatuses![0]!;
      assert.equal(
        c.state.waiting!.message,
        "couldn't find key api-password in Secret shop/db-credentials",
      );
      assert.equal(c.ready, false);
      assert.equal(c.restartCount, 0);
      assert.equal(pod.status!.phase, "Pending");
    }
    const table = await t.kubectlOk("get", "pods", "-n", NS, "-l", "d=keyless");
    assert.match(table, /0\/1\s+CreateContainerConfigError\s+0/);
    const events = await t.kubectlOk("get", "events", "-n", NS, "-o", "json");
    assert.match(events, /Error: couldn't find key api-password in Secret shop\/db-credentials/);
    const status = await t.kubectl(
      "rollout",
      "status",
      "deployment/keyless",
      "-n",
      NS,
      "--timeout=1s",
    );
    assert.notEqual(status.code, 0, "the rollout does not finish while the key is missing");
    // The key appears: the kubelet retries, and the containers start and become Ready.
    await t.kubectlOk(
      "patch",
      "secret",
      "db-credentials",
      "-n",
      NS,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { "api-password": btoa("a-new-long-password-value") } }),
    );
    await waitFor("pods Ready once the key exists", async () => {
      const pods = await podsOf(t, "keyless");
      return pods.length === 2 && pods.every((p) => p.status?.containerStatuses?.[0]?.ready);
    });
    assert.ok(!(await t.kubectlOk("get", "pods", "-n", NS, "-o", "json")).includes(SECRET_VALUE));
  } finally {
    await t.close();
  }
});

Deno.test("a missing Secret is 'secret \"x\" not found'; optional: true starts anyway", async () => {
  const t = await withSandbox({ seed: seed() });
  try {
    await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(
        deployment(
          "nosecret",
          `        - {name: API_KEY, valueFrom: {secretKeyRef: {name: api-keys, key: web}}}`,
        ),
      ),
    );
    await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(
        deployment(
          "optional",
          `        - {name: API_KEY, valueFrom: {secretKeyRef: {name: api-keys, key: web, optional: true}}}`,
        ),
      ),
    );
    const [pod] = await waitFor("the pod waiting", async () => {
      const pods = await podsOf(t, "nosecret");
      return pods[0]?.status?.containerStatuses?.[0]?.state.waiting?.reason ===
          "CreateContainerConfigError" && pods;
    });
    assert.equal(
      pod!.status!.containerStatuses![0]!.state.waiting!.message,
      'secret "api-keys" not found',
    );
    await waitFor(
      "the optional ref's pod Ready",
      async () => (await podsOf(t, "optional"))[0]?.status?.containerStatuses?.[0]?.ready,
    );
  } finally {
    await t.close();
  }
});

Deno.test("an invalid or empty variable crash-loops: restarts rise, exit code 1, kubectl logs shows why, the Secret's value never", async () => {
  const t = await withSandbox({ seed: seed() });
  try {
    await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(deployment(
        "badport",
        `        - {name: DATABASE_PORT, value: "54x2"}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-credentials, key: password}}}`,
      )),
    );
    const [pod] = await waitFor("restarts rising", async () => {
      const pods = await podsOf(t, "badport");
      return (pods[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && pods;
    });
    const c = pod!.status!.containerStatuses![0]!;
    assert.equal(c.state.waiting?.reason, "CrashLoopBackOff");
    assert.equal(c.lastState.terminated?.exitCode, 1);
    const line = 'fatal: configuration: DATABASE_PORT="54x2" is not a port (1-65535)';
    const lastTerminated = JSON.parse(c.lastState.terminated!.message!.split("\n").at(-1)!);
    assert.equal(lastTerminated.message, line);
    assert.equal(c.ready, false);
    const logs = await t.kubectlOk("logs", "-n", NS, pod!.metadata.name);
    // Structured: every line is JSON with a timestamp; the last one says why, as FATAL.
    const entries = logs.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.ok(entries.every((e) => !Number.isNaN(Date.parse(e.timestamp))), logs);
    assert.deepEqual(
      { level: entries.at(-1).level, message: entries.at(-1).message },
      { level: "FATAL", message: line },
    );
    assert.ok(!logs.includes(SECRET_VALUE));
    assert.match(
      await t.kubectlOk("get", "pods", "-n", NS, "-l", "d=badport"),
      /0\/1\s+CrashLoopBackOff\s+[2-9]/,
    );
    // An empty value from a Secret: named, never shown.
    await t.kubectlOk(
      "patch",
      "secret",
      "db-credentials",
      "-n",
      NS,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { empty: "" } }),
    );
    await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(
        deployment(
          "emptysecret",
          `        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-credentials, key: empty}}}`,
        ),
      ),
    );
    const [empty] = await waitFor("the empty value's crash", async () => {
      const pods = await podsOf(t, "emptysecret");
      return pods[0]?.status?.containerStatuses?.[0]?.state.waiting?.reason ===
          "CrashLoopBackOff" && pods;
    });
    assert.match(
      await t.kubectlOk("logs", "-n", NS, empty!.metadata.name),
      /fatal: configuration: DB_PASSWORD \(from a Secret\) is empty/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("a variable the image's service requires but the manifest leaves out crash-loops; given, the pod is Ready", async () => {
  const t = await withSandbox({ seed: seed(["DATABASE_HOST"]) });
  try {
    await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(deployment("nohost", `        - {name: LOG_LEVEL, value: INFO}`)),
    );
    await t.kubectlOk(
      "apply",
      "-f",
      await tempFile(deployment("withhost", `        - {name: DATABASE_HOST, value: db.internal}`)),
    );
    const [pod] = await waitFor("the crash", async () => {
      const pods = await podsOf(t, "nohost");
      return pods[0]?.status?.containerStatuses?.[0]?.state.waiting?.reason ===
          "CrashLoopBackOff" && pods;
    });
    assert.match(
      await t.kubectlOk("logs", "-n", NS, pod!.metadata.name),
      /"message":"fatal: configuration: required variable DATABASE_HOST is not set"[^\n]*\n$/,
    );
    await waitFor(
      "the configured pod Ready",
      async () => (await podsOf(t, "withhost"))[0]?.status?.containerStatuses?.[0]?.ready,
    );
  } finally {
    await t.close();
  }
});
