// A write the sandbox's API answered is already in its saved state: a process killed with
// -9 right after the answer (a runner with its sandbox in-process) loses nothing it was
// told was done — as an API server answers once etcd committed. Reads do not save.
import assert from "node:assert/strict";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { virtualClock } from "../../lib/clock/mod.ts";
import { readState } from "../../lib/sandbox/state.ts";
import { sandboxSeedFromDir } from "../../lib/targets/sandbox_seed.ts";
import { parse } from "yaml";

const NS = "tracktion-dev";

Deno.test("an answered write is on disk before its answer; a read writes nothing", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "sandbox-durable-" });
  const sandbox = await startSandbox({
    seed: await sandboxSeedFromDir(),
    stateDir,
    port: 0,
    reset: true,
    timeScale: 60,
    trafficRate: 0,
  });
  try {
    const token = (parse(await Deno.readTextFile(sandbox.kubeconfigPath)) as {
      users: { user: { token: string } }[];
    }).users[0]!.user.token;
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const saved = async () =>
      (await readState(`${stateDir}/state.json`))!.store.objects.map((o) => o.object)
        .filter((o) =>
          o.kind === "ConfigMap" && (o.metadata as { name?: string })?.name === "written"
        );
    const res = await sandbox.handle(
      new Request(`${sandbox.url}/api/v1/namespaces/${NS}/configmaps`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "written" },
        }),
      }),
    );
    assert.equal(res.status, 201, await res.text());
    // Read at once (no stop, no autosave wait): the answered write is there.
    assert.equal((await saved()).length, 1);

    const before = (await Deno.stat(`${stateDir}/state.json`)).mtime?.getTime();
    const read = await sandbox.handle(
      new Request(`${sandbox.url}/api/v1/namespaces/${NS}/configmaps/written`, { headers }),
    );
    assert.equal(read.status, 200, await read.text());
    assert.equal((await Deno.stat(`${stateDir}/state.json`)).mtime?.getTime(), before);

    const gone = await sandbox.handle(
      new Request(`${sandbox.url}/api/v1/namespaces/${NS}/configmaps/written`, {
        method: "DELETE",
        headers,
      }),
    );
    assert.equal(gone.status, 200, await gone.text());
    assert.equal((await saved()).length, 0);
  } finally {
    await sandbox.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("on a virtual clock the state is saved 15 s of target time after a change; autosave: false saves it only at stop", async () => {
  for (const autosave of [true, false]) {
    const stateDir = await Deno.makeTempDir({ prefix: "sandbox-autosave-" });
    const clock = virtualClock({ startMs: Date.UTC(2026, 0, 1) });
    const sandbox = await startSandbox({
      seed: { namespaces: [{ name: NS }] },
      stateDir,
      reset: true,
      clock,
      trafficRate: 0,
      ...(autosave ? {} : { autosave: false }),
    });
    const saved = async () =>
      (await readState(`${stateDir}/state.json`))!.store.objects.some((o) =>
        o.object.kind === "ConfigMap" &&
        (o.object.metadata as { name?: string })?.name === "later"
      );
    try {
      const res = await sandbox.handle(
        new Request(`${sandbox.url}/api/v1/namespaces/${NS}/configmaps`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "later" },
          }),
        }),
      );
      assert.equal(res.status, 201, await res.text());
      // Not durable on a virtual clock: not on disk at the answer.
      assert.equal(await saved(), false);
      await clock.sleep(16_000);
      // The save is written after its timer fires: give its write (real I/O) time to land —
      // polled, up to 10 s on a busy machine; the run without autosave gets the same time.
      for (let i = 0; i < 500 && !(await saved()); i++) {
        await new Promise((r) => setTimeout(r, 20));
        if (!autosave && i === 25) break; // half a second: a save would have landed by then
      }
      assert.equal(await saved(), autosave, `autosave ${autosave}: saved after 16 s`);
    } finally {
      await sandbox.stop();
    }
    assert.equal(await saved(), true, "stop() always saves");
    await Deno.remove(stateDir, { recursive: true });
  }
});
