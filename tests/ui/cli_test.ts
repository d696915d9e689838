// `deno task ui` as a user runs it: bad input exits 2 with its reason before anything
// listens (another --host, a bad port, a runs folder that is not one, an empty --user,
// arguments, unknown flags, a port in use); a good start prints its address with a fresh
// token, answers with it and refuses without it, and SIGINT stops it with exit 0.
import assert from "node:assert/strict";

function ui(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", "ui", ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function fails(args: string[], reason: RegExp) {
  const out = await ui(args).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, `${args.join(" ")}: ${stderr}`);
  assert.match(stderr, reason, args.join(" "));
  assert.equal(new TextDecoder().decode(out.stdout), "", "nothing listened, nothing printed");
}

/** Starts the dashboard and reads its address from its first line. */
async function start(args: string[]) {
  const child = ui(args).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  reader.releaseLock();
  const url = /^dashboard: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]{43}))$/m.exec(out);
  assert.ok(url, out);
  return { child, url: url[1]!, port: Number(url[2]), token: url[3]! };
}

async function stop(child: Deno.ChildProcess) {
  child.kill("SIGINT");
  const status = await child.status;
  await child.stdout.cancel().catch(() => {});
  const stderr = await new Response(child.stderr).text();
  return { code: status.code, stderr };
}

Deno.test("deno task ui --help prints its usage", async () => {
  const out = await ui(["--help"]).output();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /^usage: deno task ui \[--port <n>\]/);
});

Deno.test("deno task ui refuses bad input with exit 2 before it listens", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/file`, "x");
  try {
    await fails(
      ["--host", "0.0.0.0"],
      /Cannot listen on 0\.0\.0\.0: the dashboard listens on 127\.0\.0\.1 only/,
    );
    await fails(["--host", "localhost"], /127\.0\.0\.1 only/);
    await fails(["--host", "::1"], /127\.0\.0\.1 only/);
    for (const port of ["0", "65536", "-1", "80.5", "http", ""]) {
      await fails(
        [`--port=${port}`, "--runs-dir", dir],
        /--port must be a port number from 1 to 65535/,
      );
    }
    await fails(["--runs-dir", `${dir}/missing`], /--runs-dir .*missing is not a folder of runs/);
    await fails(["--runs-dir", `${dir}/file`], /is not a folder of runs/);
    await fails(["--user", " ", "--runs-dir", dir], /--user must be a name/);
    await fails(["extra", "--runs-dir", dir], /ui takes no arguments, got "extra"/);
    await fails(["--bogus"], /Unknown option '--bogus'[\s\S]*usage: deno task ui/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deno task ui prints its address with a new token, answers only with it, stops on SIGINT",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const a = await start(["--runs-dir", dir, "--user", "release-manager"]);
    try {
      const refused = await fetch(`http://127.0.0.1:${a.port}/api/runs`);
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
      const ok = await fetch(`http://127.0.0.1:${a.port}/api/runs`, {
        headers: { authorization: `Bearer ${a.token}` },
      });
      assert.deepEqual(await ok.json(), []);

      // The port in use: exit 2, with the reason. A second dashboard: another token.
      await fails(["--port", String(a.port), "--runs-dir", dir], /the port is in use/);
      const b = await start(["--runs-dir", dir]);
      assert.notEqual(b.token, a.token);
      assert.notEqual(b.port, a.port);
      const crossed = await fetch(`http://127.0.0.1:${b.port}/api/runs`, {
        headers: { authorization: `Bearer ${a.token}` },
      });
      assert.equal(crossed.status, 401, "one dashboard's token opens no other");
      await crossed.body?.cancel();
      assert.equal((await stop(b.child)).code, 0);
    } finally {
      const { code, stderr } = await stop(a.child);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /decisions recorded as release-manager/);
      await Deno.remove(dir, { recursive: true });
    }
    const gone = await fetch(`http://127.0.0.1:${a.port}/`).catch((e) => e);
    assert.ok(gone instanceof TypeError, "nothing listens once it stopped");
  },
});
