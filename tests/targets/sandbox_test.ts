/**
 * `sandboxTarget()` and `startProjectSandbox()` (lib/targets/sandbox.ts) with real sandboxes:
 * the environment files left out of a fresh seed are told to `onWarning`, one line each with
 * the first problem; a sandbox without the run's namespace — running, or restored from a
 * saved state seeded from other files — is bad input naming `--reset` (and
 * `--environments-dir`), and one started for the check is stopped again.
 * @module
 */
import assert from "node:assert/strict";
import { findRunningSandbox } from "../../lib/sandbox/mod.ts";
import { InputError } from "../../lib/runner/mod.ts";
import { loadSandboxSeed, sandboxTarget, startProjectSandbox } from "../../lib/targets/mod.ts";

const LIVE = new URL("../fixtures/second_project/environments/live.yml", import.meta.url).pathname;
const OTHER_SEED = { namespaces: [{ name: "other-ns" }] };

async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-sandbox-target-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A folder with live.yml (namespace shop-prod) and a broken.yml that does not load. */
async function environments(dir: string): Promise<string> {
  const envs = `${dir}/environments`;
  await Deno.mkdir(envs);
  await Deno.copyFile(LIVE, `${envs}/live.yml`);
  const live = await Deno.readTextFile(LIVE);
  await Deno.writeTextFile(
    `${envs}/broken.yml`,
    live.replace("name: live", "name: broken").replace("port: 5432", 'port: "not-a-port"'),
  );
  return envs;
}

Deno.test("loadSandboxSeed() returns the files it leaves out, each with its first problem", async () => {
  await inTemp(async (dir) => {
    const { seed, skipped } = await loadSandboxSeed(await environments(dir));
    assert.deepEqual(seed.namespaces?.map((n) => n.name), ["shop-prod"]);
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]!.name, "broken");
    assert.match(skipped[0]!.problem, /broken\.yml:\d+:\d+: database\.port: /);
  });
});

Deno.test("a fresh sandbox tells onWarning each environment file left out of its seed", async () => {
  await inTemp(async (dir) => {
    const warnings: string[] = [];
    const sandbox = await sandboxTarget({
      stateDir: `${dir}/state`,
      environmentsDir: await environments(dir),
      namespace: "shop-prod",
      onWarning: (line) => warnings.push(line),
    });
    try {
      assert.equal(sandbox.inProcess, true);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(
        warnings[0]!,
        /^environment "broken" is left out of a fresh sandbox's seed: .*broken\.yml:\d+:\d+: database\.port: /,
      );
    } finally {
      await sandbox.close();
    }
  });
});

Deno.test("sandboxTarget() refuses a running sandbox without the run's namespace", async () => {
  await inTemp(async (dir) => {
    const stateDir = `${dir}/state`;
    const running = await startProjectSandbox({ stateDir, seed: OTHER_SEED, trafficRate: 0 });
    try {
      const error = await sandboxTarget({
        stateDir,
        namespace: "shop-prod",
        environmentsDir: `${dir}/environments`,
      }).catch((e) => e);
      assert.ok(error instanceof InputError, String(error));
      assert.match(
        error.message,
        /has no namespace "shop-prod": it was seeded from other environment files/,
      );
      assert.ok(
        error.message.includes(
          `stop it (deno task sandbox stop --state-dir ${stateDir}) and restart it with ` +
            `deno task sandbox --reset --state-dir ${stateDir} --environments-dir ${dir}/environments`,
        ),
        error.message,
      );
      // Left running: it is not this process's to stop.
      assert.ok(await findRunningSandbox(stateDir));
      const ok = await sandboxTarget({ stateDir, namespace: "other-ns" });
      assert.equal(ok.inProcess, false);
      assert.equal(ok.url, running.url);
    } finally {
      await running.stop();
    }
  });
});

Deno.test("sandboxTarget() refuses a saved state seeded from other files, stops it, and --reset reseeds", async () => {
  await inTemp(async (dir) => {
    const stateDir = `${dir}/state`;
    const envs = await environments(dir);
    const first = await startProjectSandbox({ stateDir, seed: OTHER_SEED, trafficRate: 0 });
    await first.stop();
    const error = await sandboxTarget({ stateDir, namespace: "shop-prod", environmentsDir: envs })
      .catch((e) => e);
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, /its saved state is older than these/);
    assert.ok(
      error.message.includes(`run again with --reset --environments-dir ${envs}`),
      error.message,
    );
    assert.equal(await findRunningSandbox(stateDir), undefined, "the one started was stopped");
    // What the companion registry kept (a build's images, its keys) goes with the reset too.
    await Deno.mkdir(`${stateDir}/companions/registry`, { recursive: true });
    await Deno.writeTextFile(`${stateDir}/companions/registry/kept.json`, "{}\n");
    const reset = await sandboxTarget({
      stateDir,
      namespace: "shop-prod",
      environmentsDir: envs,
      reset: true,
    });
    try {
      assert.equal(reset.inProcess, true);
      assert.equal(
        await Deno.stat(`${stateDir}/companions/registry/kept.json`).catch(() => null),
        null,
        "--reset left the registry's kept state",
      );
    } finally {
      await reset.close();
    }
  });
});
