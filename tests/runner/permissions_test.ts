import assert from "node:assert/strict";
import { runFixture, stageOf } from "./_run.ts";

async function touch(kind: string, target: string, declared: boolean) {
  const run = await runFixture("permissions.ts", {
    options: { kind, target, declared: declared ? "yes" : "no" },
  });
  try {
    return { report: run.report, stage: stageOf(run, `touch-${kind}`) };
  } finally {
    await run.cleanup();
  }
}

async function bothWays(kind: string, target: string, shown: string, access = kind) {
  const denied = await touch(kind, target, false);
  assert.equal(denied.stage.status, "failed", `${kind} undeclared should fail`);
  assert.equal(
    denied.stage.reason,
    `stage "touch-${kind}" needs ${access} access to ${shown}, which it did not declare`,
  );
  assert.equal(denied.stage.attempts.length, 1, "a denied permission is not retried");
  const allowed = await touch(kind, target, true);
  assert.equal(allowed.stage.status, "succeeded", allowed.stage.reason ?? "");
  assert.deepEqual(allowed.stage.permissions[kind as "read"], [target]);
}

Deno.test("a stage is denied read access it did not declare, and allowed what it declared", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "secret-ish");
  try {
    await bothWays("read", file, file);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a stage is denied write access it did not declare, and allowed what it declared", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/out.txt`;
  try {
    await bothWays("write", file, file);
    assert.equal(await Deno.readTextFile(file), "written by a stage");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stage is denied network access it did not declare, and allowed what it declared", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("pong"),
  );
  const target = `127.0.0.1:${server.addr.port}`;
  try {
    await bothWays("net", target, target);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a stage is denied an environment variable it did not declare, and allowed what it declared", async () => {
  Deno.env.set("TRACKTION_TEST_PERMISSION_VAR", "visible");
  try {
    await bothWays("env", "TRACKTION_TEST_PERMISSION_VAR", "TRACKTION_TEST_PERMISSION_VAR");
  } finally {
    Deno.env.delete("TRACKTION_TEST_PERMISSION_VAR");
  }
});

Deno.test("a stage is denied a program it did not declare; declaring one makes it full trust", async () => {
  await bothWays("run", "true", "true");
  const allowed = await touch("run", "true", true);
  assert.equal(allowed.stage.permissions.fullTrust, true);
  const denied = await touch("run", "true", false);
  assert.equal(denied.stage.permissions.fullTrust, false);
});
