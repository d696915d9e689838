// `deno task compile` makes one executable that runs the CLI with no Deno installed: compiled
// into a temporary folder, run from an empty folder with a PATH that has no deno, a HOME of
// its own, and nothing else of this environment (clearEnv).
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const PATH = "/usr/bin:/bin";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(
  file: string,
  args: string[],
  o: { cwd: string; home: string; cache?: string },
): Promise<Ran> {
  const out = await new Deno.Command(file, {
    args,
    cwd: o.cwd,
    clearEnv: true,
    env: {
      PATH,
      HOME: o.home,
      NO_COLOR: "1",
      ...(o.cache ? { XDG_CACHE_HOME: o.cache } : {}),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

const UNPACKING = /^tracktion-deploy: unpacking the runtime into .* \(once\)$/m;

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("deno task compile's tracktion-deploy runs plan, deploy --sandbox and report without Deno", async (t) => {
  for (const dir of PATH.split(":")) {
    assert.ok(!(await Deno.stat(`${dir}/deno`).catch(() => undefined)), `${dir} has no deno`);
  }
  const tmp = await Deno.makeTempDir({ prefix: "tracktion-compile-test-" });
  try {
    const bin = `${tmp}/bin/tracktion-deploy`;
    const made = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/compile.ts", "--out", bin],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    assert.equal(made.code, 0, d.decode(made.stderr));
    const sha = /payload sha256 ([0-9a-f]{64})/.exec(d.decode(made.stdout))?.[1];
    assert.ok(sha, d.decode(made.stdout));
    assert.equal((await Deno.stat(bin)).mode! & 0o111, 0o111, "executable");

    const work = `${tmp}/work`, home = `${tmp}/home`;
    await Deno.mkdir(work);
    await Deno.mkdir(home);
    const run = (args: string[]) => exec(bin, args, { cwd: work, home });
    const cache = `${home}/.cache/tracktion-deploy`;

    await t.step("a usage error exits 2, after unpacking the runtime once", async () => {
      const r = await run([]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, UNPACKING);
      assert.match(r.stderr, /usage: .*<command>/);
      const again = await run(["plan"]);
      assert.equal(again.code, 2, again.stderr);
      assert.match(again.stderr, /needs an environment/);
      assert.doesNotMatch(again.stderr, UNPACKING, "the second run reuses the cache");
      assert.deepEqual(await entries(cache), [sha], "one folder, no unpacking left over");
    });

    await t.step("plan uses the project the binary carries", async () => {
      const r = await run(["plan", "staging", "v1.2.4"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^pipeline deploy → staging @ v1\.2\.4$/m);
      assert.match(r.stdout, /^\s+migrate\b/m);
      assert.doesNotMatch(r.stderr, UNPACKING);
    });

    let runId = "";
    await t.step(
      "deploy --sandbox runs the whole pipeline, its state in the folder it ran in",
      async () => {
        const r = await run([
          "deploy",
          "staging",
          "v1.2.4",
          "--sandbox",
          "--skip-type-check",
          "--option",
          "lock-seconds=1200",
        ]);
        const last = r.stdout.trimEnd().split("\n").at(-1) ?? "";
        const path = /^report: (\.tracktion\/runs\/([^/]+)\/report\.json)$/.exec(last);
        assert.ok(path, `${r.stdout}\n${r.stderr}`);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        runId = path[2]!;
        const report = JSON.parse(await Deno.readTextFile(`${work}/${path[1]}`));
        assert.equal(report.status, "succeeded");
        const status = Object.fromEntries(
          report.stages.map((s: { id: string; status: string }) => [s.id, s.status]),
        );
        assert.equal(status["migrate"], "succeeded");
        assert.equal(status["switch"], "succeeded");
        assert.deepEqual(await entries(work), [".tracktion"], "nothing else written here");
      },
    );

    await t.step("report verifies the run from the same folder", async () => {
      assert.ok(runId);
      const r = await run(["report", runId]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.ok(r.stdout.includes(runId), r.stdout);
    });

    await t.step("concurrent first runs each start; one unpacked copy stays", async () => {
      const fresh = `${tmp}/cache-concurrent`;
      const rs = await Promise.all(
        [1, 2].map(() => exec(bin, ["plan", "--help"], { cwd: work, home, cache: fresh })),
      );
      for (const r of rs) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^usage: deno task plan/);
      }
      assert.deepEqual(await entries(`${fresh}/tracktion-deploy`), [sha]);
    });

    await t.step("a corrupted payload is refused before anything is unpacked", async () => {
      const bad = `${tmp}/bin/tracktion-deploy-bad`;
      await Deno.copyFile(bin, bad);
      const f = await Deno.open(bad, { read: true, write: true });
      const size = (await f.stat()).size;
      await f.seek(size - 1000, Deno.SeekMode.Start);
      const byte = new Uint8Array(1);
      await f.read(byte);
      await f.seek(size - 1000, Deno.SeekMode.Start);
      await f.write(new Uint8Array([byte[0]! ^ 0xff]));
      f.close();
      const fresh = `${tmp}/cache-bad`;
      const r = await exec(bad, ["plan", "--help"], { cwd: work, home, cache: fresh });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the payload of .* is corrupted \(SHA-256 [0-9a-f]{64}, expected/);
      assert.deepEqual(await entries(`${fresh}/tracktion-deploy`), []);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
