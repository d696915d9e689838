/**
 * Registries that need a login: a real `docker-registry` with htpasswd auth (its bcrypt
 * entry made by the C library's crypt(3) through perl — Debian's libxcrypt knows `$2b$`;
 * `htpasswd` of apache2-utils is not installed here). `authorizingFetch` answers its Basic
 * challenge (and a token server's Bearer one); a wrong password or none is refused, and the
 * password is in no message. The build pipeline with `--option registry-credentials=env:...`
 * pushes the image (buildah, an auth file), its SBOM and signatures there; without it the
 * push is refused; the password is in no output, report or journal.
 * @module
 */
import assert from "node:assert/strict";
import { authorizingFetch } from "../../lib/registry/auth.ts";
import { getManifest, pushBlob, putManifest } from "../../lib/companions/oci.ts";
import { signImage, verifyImageSignature } from "../../lib/companions/cosign.ts";
import { freePort, waitFor } from "../checks/_support.ts";
import { buildahTest, cli, reportOf, workspace } from "../build/_build.ts";

const USER = "ci-bot";
const PASSWORD = "s3cret-Pa55-not-in-logs";

const NO_REGISTRY = await new Deno.Command("docker-registry", { args: ["--version"] }).output()
  .then((o) => !o.success, () => true);

/** A bcrypt htpasswd line, by crypt(3) (libxcrypt's `$2b$`). */
async function htpasswdLine(user: string, password: string): Promise<string> {
  const salt = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replace(/[+=]/g, ".").slice(0, 22);
  const out = await new Deno.Command("perl", {
    args: ["-e", "print crypt($ARGV[0], $ARGV[1])", password, `$2b$05$${salt}`],
    stdout: "piped",
  }).output();
  const hash = new TextDecoder().decode(out.stdout);
  assert.match(hash, /^\$2b\$05\$.{53}$/, "crypt(3) made a bcrypt hash");
  return `${user}:${hash}\n`;
}

/** `docker-registry` with htpasswd auth on 127.0.0.1. */
async function startAuthRegistry(dir: string) {
  await Deno.writeTextFile(`${dir}/htpasswd`, await htpasswdLine(USER, PASSWORD));
  const host = `127.0.0.1:${freePort()}`;
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "auth:",
      "  htpasswd:",
      "    realm: test-registry",
      `    path: ${dir}/htpasswd`,
      "http:",
      `  addr: ${host}`,
      "  secret: test-only-secret",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  };
  await waitFor("docker-registry", async () => {
    const r = await fetch(`http://${host}/v2/`).catch(() => undefined);
    await r?.body?.cancel();
    return r?.status === 401;
  }, 60_000);
  return { host, stop };
}

async function pushTiny(access: { host: string; fetch?: typeof fetch }) {
  const config = await pushBlob(access, "team/app", new TextEncoder().encode("{}"));
  const layer = await pushBlob(access, "team/app", new TextEncoder().encode("layer"));
  return await putManifest(access, "team/app", "1.0.0", {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  });
}

Deno.test({
  name:
    "authorizingFetch() pushes and signs at an htpasswd registry; none or a wrong password is refused",
  ignore: NO_REGISTRY,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "registry_auth_" });
    const r = await startAuthRegistry(dir);
    try {
      const anonymous = await pushTiny({ host: r.host }).catch((e: Error) => e);
      assert.ok(anonymous instanceof Error);
      assert.match(anonymous.message, /401/);
      const wrong = { username: USER, password: "not-it" };
      const refused = await pushTiny({ host: r.host, fetch: authorizingFetch(wrong) })
        .catch((e: Error) => e);
      assert.ok(refused instanceof Error);
      assert.match(refused.message, /401/);
      assert.doesNotMatch(refused.message, /not-it/);

      const access = {
        host: r.host,
        fetch: authorizingFetch({ username: USER, password: PASSWORD }),
      };
      const digest = await pushTiny(access);
      const key = await (await import("../../lib/companions/cosign.ts")).generateSigningKey();
      await signImage(access, "team/app", digest, "ghcr.io/team/app", key);
      const verdict = await verifyImageSignature(access, "team/app", "1.0.0", key.publicKeyPem);
      assert.equal(verdict.ok, true, verdict.message);
      assert.equal((await getManifest(access, "team/app", digest))?.digest, digest);
    } finally {
      await r.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("authorizingFetch() gets a Bearer token from the challenge's realm, once per scope", async () => {
  const calls: string[] = [];
  const basic = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
  const base = ((input: string | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const auth = new Headers(init?.headers).get("authorization");
    calls.push(`${url.pathname}${url.search} ${auth ?? "-"}`);
    if (url.pathname === "/token") {
      return Promise.resolve(
        auth === basic ? Response.json({ token: "tok-1" }) : new Response(null, { status: 401 }),
      );
    }
    if (auth === "Bearer tok-1") return Promise.resolve(new Response("ok"));
    return Promise.resolve(
      new Response(null, {
        status: 401,
        headers: {
          "www-authenticate":
            'Bearer realm="http://auth.test/token",service="reg",scope="repository:team/app:pull,push"',
        },
      }),
    );
  }) as typeof fetch;
  const f = authorizingFetch({ username: USER, password: PASSWORD }, base);
  assert.equal(await (await f("http://reg.test/v2/team/app/tags/list")).text(), "ok");
  assert.equal(await (await f("http://reg.test/v2/team/app/manifests/1")).text(), "ok");
  assert.deepEqual(calls, [
    "/v2/team/app/tags/list -",
    `/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull%2Cpush ${basic}`,
    "/v2/team/app/tags/list Bearer tok-1",
    "/v2/team/app/manifests/1 Bearer tok-1",
  ]);
});

buildahTest(
  "build pipeline: --option registry-credentials logs in to push the image, its SBOM and signatures",
  async () => {
    if (NO_REGISTRY) return;
    const dir = await Deno.makeTempDir({ prefix: "registry_auth_build_" });
    const r = await startAuthRegistry(dir);
    const ws = await workspace();
    try {
      const args = (...more: string[]) => [
        "run",
        "pipelines/build.ts",
        "development",
        "v1.2.4",
        ...ws.args(r.host, "--option", "services=analysis-service", ...more),
      ];
      const denied = await cli(args());
      assert.equal(denied.code, 1, denied.stdout + denied.stderr);
      assert.match(denied.stdout + denied.stderr, /build:analysis-service/);

      const env = { REGISTRY_LOGIN: `${USER}:${PASSWORD}` };
      const bad = await cli(args("--option", `registry-credentials=${USER}:${PASSWORD}`), { env });
      assert.equal(bad.code, 2, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /registry-credentials takes where/);
      assert.doesNotMatch(bad.stdout + bad.stderr, new RegExp(PASSWORD));

      const ok = await cli(args("--option", "registry-credentials=env:REGISTRY_LOGIN"), { env });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const report = await reportOf(ok);
      const record = report.stages.find((s) => s.id === "build:record")!.output as {
        images: Record<
          string,
          {
            digest: string;
            sbom: { tag: string; signatureTag: string };
            signature: { tag: string };
          }
        >;
      };
      const image = record.images["analysis-service"]!;
      const access = {
        host: r.host,
        fetch: authorizingFetch({ username: USER, password: PASSWORD }),
      };
      const list =
        await (await access.fetch(`http://${r.host}/v2/tracktion/analysis-service/tags/list`))
          .json() as { tags: string[] };
      assert.deepEqual(
        list.tags.sort(),
        ["1.2.4", image.sbom.tag, image.signature.tag, image.sbom.signatureTag]
          .sort(),
      );
      // The password is nowhere the run wrote or printed.
      assert.doesNotMatch(
        ok.stdout + ok.stderr + denied.stdout + denied.stderr,
        new RegExp(PASSWORD),
      );
      const runDir = ok.stdout.match(/^report: (.+)\/report\.json$/m)![1]!;
      for await (const f of Deno.readDir(runDir)) {
        if (!f.isFile) continue;
        const text = await Deno.readTextFile(`${runDir}/${f.name}`);
        assert.ok(!text.includes(PASSWORD), `${f.name} holds no password`);
        assert.ok(!text.includes(btoa(`${USER}:${PASSWORD}`)), `${f.name} holds no auth header`);
      }
    } finally {
      await r.stop();
      await ws.cleanup();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
