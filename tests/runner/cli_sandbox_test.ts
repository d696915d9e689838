// `deno task sandbox` writes a pid file in its state folder; `deno task sandbox stop` stops
// that process — and nothing else: a stale pid file (a dead process, a pid now used by another
// program, another folder's file) is removed without signalling anyone; Ctrl-C ends the wait of
// stop and status (exit 130); environment files left out of the seed are warned about. Real
// subprocesses and sandboxes.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { delay } from "../../lib/async/mod.ts";
import { pidFilePath, processAlive, readPidFile } from "../../lib/cli/sandbox_process.ts";
import { readState } from "../../lib/sandbox/state.ts";
import { sandboxCommand } from "../../lib/cli/sandbox.ts";
import { startProjectSandbox } from "../../lib/targets/mod.ts";
import { cliArgs, cliIn, ENVIRONMENTS, inTempDir, REPO } from "./_isolated.ts";
import { spawnSandboxCli } from "../sandbox/_helpers.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("deno task sandbox writes a pid file and deno task sandbox stop stops it", async () => {
  await inTempDir(async (stateDir) => {
    // The ready line comes once the kubeconfig and the pid file are written.
    const { child, line, reader, startupMs } = await spawnSandboxCli(stateDir, [
      "--traffic-rate",
      "0",
    ]);
    const stderr = new Response(child.stderr).text();
    try {
      const url = line.match(/server=(\S+)/)?.[1];
      assert.ok(url, `ready line: ${line}`);
      assert.ok(await exists(`${stateDir}/kubeconfig`));
      const record = await readPidFile(stateDir);
      assert.deepEqual(
        { pid: record?.pid, stateDir: record?.stateDir, url: record?.url },
        { pid: child.pid, stateDir: resolve(stateDir), url },
      );
      const status = await cliIn(REPO, ["sandbox", "status", "--state-dir", stateDir]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`^running: pid ${child.pid}, ${url}`));

      const stop = await cliIn(REPO, ["sandbox", "stop", "--state-dir", stateDir]);
      assert.equal(stop.code, 0, stop.stdout + stop.stderr);
      assert.match(
        stop.stdout,
        new RegExp(`^Stopped the sandbox \\(pid ${child.pid}\\) at ${url}`),
      );
      // `stop` returned once the process had exited: its status is there (or all but), well
      // within the time the sandbox took to start.
      const exited = await Promise.race([child.status, delay(startupMs).then(() => undefined)]);
      assert.ok(exited, `still running ${startupMs} ms after stop returned`);
      assert.equal(exited.code, 0, await stderr);
      assert.equal(await exists(pidFilePath(stateDir)), false, "pid file removed");
      assert.equal(await exists(`${stateDir}/kubeconfig`), false, "kubeconfig removed");
      assert.ok(await readState(`${stateDir}/state.json`), "state saved");

      const after = await cliIn(REPO, ["sandbox", "status", "--state-dir", stateDir]);
      assert.equal(after.code, 1);
      assert.match(after.stdout, /^not running/);
      const again = await cliIn(REPO, ["sandbox", "stop", "--state-dir", stateDir]);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /nothing to stop/);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await reader.cancel().catch(() => {});
      await stderr.catch(() => "");
    }
  });
});

Deno.test("deno task sandbox stop removes a stale pid file and signals no one", async () => {
  await inTempDir(async (stateDir) => {
    // A port nothing listens on: no sandbox answers there.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${listener.addr.port}`;
    listener.close();
    const write = (pid: number, dir = resolve(stateDir)) =>
      Deno.writeTextFile(
        pidFilePath(stateDir),
        JSON.stringify({ pid, stateDir: dir, url, startedAt: new Date().toISOString() }),
      );
    const stop = () => cliIn(REPO, ["sandbox", "stop", "--state-dir", stateDir]);

    // A live process that is not the sandbox (its pid reused, say): left running.
    const other = new Deno.Command("sleep", { args: ["60"] }).spawn();
    try {
      await write(other.pid);
      const r = await stop();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Stale pid file .*no sandbox answers .*kubeconfig any more/);
      assert.match(r.stdout, /nothing was signalled/);
      assert.equal(await exists(pidFilePath(stateDir)), false);
      assert.equal(processAlive(other.pid), true, "the other process was not signalled");
    } finally {
      other.kill("SIGKILL");
      await other.status;
    }

    // A process that has exited.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    await write(gone.pid);
    const dead = await stop();
    assert.equal(dead.code, 0);
    assert.match(dead.stdout, new RegExp(`process ${gone.pid} is no longer running`));

    // Another folder's pid file (copied here).
    await write(Deno.pid, "/elsewhere/sandbox");
    const copied = await stop();
    assert.equal(copied.code, 0);
    assert.match(copied.stdout, /it was written for \/elsewhere\/sandbox/);

    // Not a pid file at all: bad input, left as it is.
    await Deno.writeTextFile(pidFilePath(stateDir), "12345\n");
    const garbled = await stop();
    assert.equal(garbled.code, 2);
    assert.match(garbled.stderr, /is not a sandbox pid file[^]*remove it/);
    assert.equal(await Deno.readTextFile(pidFilePath(stateDir)), "12345\n");
  });
});

Deno.test("deno task sandbox with an --environments-dir that is not a folder: exit 2, nothing written", async () => {
  await inTempDir(async (dir) => {
    const stateDir = `${dir}/state`;
    const r = await cliIn(REPO, [
      "sandbox",
      "--state-dir",
      stateDir,
      "--environments-dir",
      `${dir}/no-such-folder`,
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /--environments-dir .*no-such-folder is not a folder of environment files/,
    );
    assert.equal(await exists(stateDir), false, "no state folder");
  });
});

Deno.test("Ctrl-C ends deno task sandbox stop's wait (exit 130) and status (exit 130)", async () => {
  await inTempDir(async (stateDir) => {
    // A sandbox that answers stateDir/kubeconfig, and a pid file naming a process that
    // survives SIGTERM (it notes it in a file): stop then waits for it to exit.
    const sandbox = await startProjectSandbox({ stateDir, seed: {}, trafficRate: 0 });
    const noted = `${stateDir}/got-sigterm`;
    const stubborn = new Deno.Command("sh", {
      args: ["-c", `trap 'echo term >> ${noted}' TERM; while :; do sleep 0.1; done`],
    }).spawn();
    try {
      await Deno.writeTextFile(
        pidFilePath(stateDir),
        JSON.stringify({
          pid: stubborn.pid,
          stateDir: resolve(stateDir),
          url: sandbox.url,
          startedAt: new Date().toISOString(),
        }),
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: cliArgs(["sandbox", "stop", "--state-dir", stateDir, "--wait", "60"]),
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      const output = child.output();
      // Once the process got its SIGTERM, stop is waiting: interrupt the wait.
      const deadline = Date.now() + 30_000;
      while (!(await exists(noted))) {
        assert.ok(Date.now() < deadline, "stop never sent SIGTERM");
        await delay(50);
      }
      const interrupted = performance.now();
      child.kill("SIGINT");
      const r = await output;
      const text = new TextDecoder();
      assert.equal(r.code, 130, text.decode(r.stdout) + text.decode(r.stderr));
      assert.ok(performance.now() - interrupted < 20_000, "ended well before --wait 60");
      assert.match(
        text.decode(r.stderr),
        new RegExp(
          `interrupted: stopped waiting; the sandbox \\(pid ${stubborn.pid}\\) got SIGTERM`,
        ),
      );
      assert.ok(await exists(pidFilePath(stateDir)), "pid file kept: it may still be running");

      const aborted = AbortSignal.abort();
      const out: string[] = [];
      const io = {
        stdout: (t: string) => out.push(t),
        stderr: (t: string) => out.push(t),
        tty: false,
        colour: false,
        signal: aborted,
      };
      assert.equal(await sandboxCommand(["status", "--state-dir", stateDir], io), 130);
      assert.equal(await sandboxCommand(["stop", "--state-dir", stateDir], io), 130);
      assert.match(out.join(""), /interrupted\n[^]*interrupted: nothing was signalled/);
    } finally {
      stubborn.kill("SIGKILL");
      await stubborn.status;
      await sandbox.stop();
    }
  });
});

Deno.test("deno task sandbox warns about each environment file left out of its seed", async () => {
  await inTempDir(async (dir) => {
    const envs = `${dir}/environments`;
    await Deno.mkdir(envs);
    await Deno.copyFile(`${ENVIRONMENTS}/development.yml`, `${envs}/development.yml`);
    await Deno.writeTextFile(`${envs}/broken.yml`, "environment: [\n");
    const controller = new AbortController();
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: (t: string) => {
        out.push(t);
        if (t.startsWith("sandbox ready")) controller.abort();
      },
      stderr: (t: string) => err.push(t),
      tty: false,
      colour: false,
      signal: controller.signal,
    };
    const args = ["--state-dir", `${dir}/state`, "--environments-dir", envs, "--traffic-rate", "0"];
    assert.equal(await sandboxCommand(args, io), 0, err.join(""));
    const warnings = err.filter((line) => line.startsWith("warning: "));
    assert.equal(warnings.length, 1, err.join(""));
    assert.match(
      warnings[0]!,
      /^warning: environment "broken" is left out of a fresh sandbox's seed: .*broken\.yml/,
    );
  });
});
