/**
 * The build pipeline's bad input: exit 2 before anything is built or pushed (unknown
 * environment, bad version, no signing key, a key given on the command line, an unknown service,
 * a bad timestamp, a registry with --sandbox); and what only a run can find — a key file that is
 * not there or not P-256, a build tool that is missing — fails `build:inputs` (exit 1) with
 * nothing built or pushed either.
 * @module
 */
import assert from "node:assert/strict";
import { buildahTest, catalog, cli, startRegistry, workspace } from "./_build.ts";

/** `args` without the `--option <name>=...` pair. */
function without(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--option" && args[i + 1]?.startsWith(`${name}=`)) i++;
    else out.push(args[i]!);
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

buildahTest("build pipeline: bad input exits 2 with nothing built, pushed or written", async () => {
  const registry = await startRegistry();
  const ws = await workspace();
  try {
    const base = ws.args(registry.host, "--option", "services=analysis-service");
    const cases: [string, string[], RegExp][] = [
      ["an unknown environment", ["prod", "v1.2.4", ...base], /prod/],
      ["a bad version", ["staging", "v1.2", ...base], /version/i],
      ["no signing key", ["staging", "v1.2.4", ...without(base, "signing-key")], /signing-key/],
      [
        "a key on the command line",
        [
          "staging",
          "v1.2.4",
          ...without(base, "signing-key"),
          "--option",
          "signing-key=-----BEGIN PRIVATE KEY-----",
        ],
        /looks like a key itself/,
      ],
      [
        "an unknown service",
        ["staging", "v1.2.4", ...without(base, "services"), "--option", "services=billing"],
        /not a service of staging: billing/,
      ],
      ["a bad timestamp", ["staging", "v1.2.4", ...base, "--option", "timestamp=-1"], /timestamp/],
      [
        "a registry with --sandbox",
        ["staging", "v1.2.4", ...base, "--sandbox", "--sandbox-dir", `${ws.dir}/sandbox`],
        /--sandbox both say where to push/,
      ],
    ];
    for (const [what, args, message] of cases) {
      const r = await cli(["run", "pipelines/build.ts", ...args]);
      assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
      assert.deepEqual(await catalog(registry.host), [], `${what}: nothing pushed`);
      assert.equal(await exists(`${ws.dir}/work`), false, `${what}: nothing built`);
      assert.equal(await exists(`${ws.dir}/runs`), false, `${what}: no run written`);
      assert.equal(await exists(`${ws.dir}/sandbox`), false, `${what}: no sandbox started`);
    }
  } finally {
    await ws.cleanup();
    await registry.stop();
  }
});

buildahTest(
  "build pipeline: a missing key file, a key of another curve, a missing build tool fail build:inputs, nothing pushed",
  async () => {
    const registry = await startRegistry();
    const ws = await workspace();
    try {
      const base = ws.args(registry.host, "--option", "services=analysis-service");
      const p384 = `${ws.dir}/p384.key`;
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
        "sign",
      ]);
      const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
      await Deno.writeTextFile(
        p384,
        `-----BEGIN PRIVATE KEY-----\n${
          btoa(String.fromCharCode(...der))
        }\n-----END PRIVATE KEY-----\n`,
      );
      const cases: [string, string[], RegExp][] = [
        [
          "a key file that is not there",
          [...without(base, "signing-key"), "--option", `signing-key=file:${ws.dir}/nope.key`],
          /Cannot use the image signing key \(file .*nope\.key\): no such file/,
        ],
        [
          "a key variable that is not set",
          [...without(base, "signing-key"), "--option", "signing-key=env:BUILD_TEST_NO_SUCH_KEY"],
          /\(env BUILD_TEST_NO_SUCH_KEY\): it is not set/,
        ],
        [
          "a P-384 key",
          [...without(base, "signing-key"), "--option", `signing-key=file:${p384}`],
          /not an ECDSA P-256 private key/,
        ],
        [
          "no build tool",
          [...base, "--option", "builder=/nonexistent/buildah"],
          /\/nonexistent\/buildah is not installed: cannot build images \(apt-get install buildah: Debian's package buildah\)/,
        ],
      ];
      for (const [what, args, message] of cases) {
        const r = await cli(["run", "pipelines/build.ts", "staging", "v1.2.4", ...args]);
        assert.equal(r.code, 1, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /✗ build:inputs/, what);
        assert.match(r.stdout, message, what);
        assert.match(r.stdout, /build:analysis-service: skipped/, what);
        assert.deepEqual(await catalog(registry.host), [], `${what}: nothing pushed`);
        assert.equal(await exists(`${ws.dir}/work`), false, `${what}: nothing built`);
      }
    } finally {
      await ws.cleanup();
      await registry.stop();
    }
  },
);
