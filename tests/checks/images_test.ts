import assert from "node:assert/strict";
import {
  imageExists,
  imageSignature,
  imageVulnerabilities,
  noLatestTag,
} from "../../checks/images.ts";
import { parseChallenge, parseImageReference } from "../../lib/probes/oci_registry.ts";
import { pushImage, startRegistry } from "./_registry.ts";
import { fakeContext, freePort, serve } from "./_support.ts";

Deno.test("parseImageReference() follows Docker's normalisation", () => {
  assert.deepEqual(parseImageReference("ghcr.io/tracktion/analysis-service:1.2.4"), {
    registry: "ghcr.io",
    repository: "tracktion/analysis-service",
    tag: "1.2.4",
    implicitLatest: false,
  });
  assert.deepEqual(parseImageReference("redis"), {
    registry: "registry-1.docker.io",
    repository: "library/redis",
    tag: "latest",
    implicitLatest: true,
  });
  const digest = `sha256:${"a".repeat(64)}`;
  const pinned = parseImageReference(`127.0.0.1:5000/t/x@${digest}`);
  assert.equal(pinned.registry, "127.0.0.1:5000");
  assert.equal(pinned.digest, digest);
  assert.equal(pinned.tag, undefined);
  assert.equal(parseImageReference("localhost/team/app:v1").registry, "localhost");
  assert.throws(() => parseImageReference("Ghcr.io/UPPER/app:1"), SyntaxError);
  assert.throws(() => parseImageReference("ghcr.io/t/app:bad tag"), SyntaxError);
  assert.throws(() => parseImageReference(""), /it is empty/);
});

Deno.test("parseChallenge() reads a bearer challenge", () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"',
    ),
    {
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "reg", scope: "repository:a/b:pull" },
    },
  );
});

Deno.test("imageExists() against a real registry (docker-registry)", async (t) => {
  const registry = await startRegistry();
  try {
    const digest = await pushImage(registry.host, "tracktion/analysis-service", "1.2.4");
    await t.step("passes for a pushed tag, with its digest", async () => {
      const outcome = await imageExists(`${registry.host}/tracktion/analysis-service:1.2.4`)
        .run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(outcome.evidence?.digest, digest);
      assert.equal(outcome.evidence?.mediaType, "application/vnd.oci.image.manifest.v1+json");
      assert.equal(outcome.evidence?.auth, "none");
    });
    await t.step("passes for the pinned digest", async () => {
      const outcome = await imageExists(`${registry.host}/tracktion/analysis-service@${digest}`)
        .run(fakeContext());
      assert.equal(outcome.ok, true, outcome.message);
    });
    await t.step("fails for a tag that was never pushed", async () => {
      const outcome = await imageExists(`${registry.host}/tracktion/analysis-service:9.9.9`)
        .run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.match(outcome.message, /is not in the registry/);
      assert.equal(outcome.evidence?.status, 404);
    });
    await t.step("fails for an unknown repository", async () => {
      const outcome = await imageExists(`${registry.host}/tracktion/nope:1.2.4`).run(fakeContext());
      assert.equal(outcome.ok, false);
      assert.equal(outcome.evidence?.status, 404);
    });
    await t.step("answers a bearer challenge (token proxy in front of the registry)", async () => {
      let tokenRequests = 0;
      const proxy = serve(async (req) => {
        const url = new URL(req.url);
        if (url.pathname === "/token") {
          tokenRequests++;
          const ok = req.headers.get("authorization") === `Basic ${btoa("ci:pull-secret-1")}` &&
            url.searchParams.get("scope") === "repository:tracktion/analysis-service:pull" &&
            url.searchParams.get("service") === "test-registry";
          return ok ? Response.json({ token: "tok-123" }) : new Response("no", { status: 401 });
        }
        if (req.headers.get("authorization") !== "Bearer tok-123") {
          return new Response(null, {
            status: 401,
            headers: {
              "www-authenticate": `Bearer realm="${url.origin}/token",service="test-registry",` +
                `scope="repository:tracktion/analysis-service:pull"`,
            },
          });
        }
        const upstream = await fetch(`http://${registry.host}${url.pathname}`, {
          method: req.method,
          headers: { accept: req.headers.get("accept") ?? "" },
        });
        return new Response(req.method === "HEAD" ? null : upstream.body, {
          status: upstream.status,
          headers: upstream.headers,
        });
      });
      try {
        const host = new URL(proxy.url).host;
        const good = await imageExists(`${host}/tracktion/analysis-service:1.2.4`, {
          credentials: { username: "ci", password: "pull-secret-1" },
        }).run(fakeContext());
        assert.equal(good.ok, true, good.message);
        assert.equal(good.evidence?.auth, "bearer");
        assert.equal(good.evidence?.digest, digest);
        const bad = await imageExists(`${host}/tracktion/analysis-service:1.2.4`, {
          credentials: { username: "ci", password: "wrong-secret-2" },
        }).run(fakeContext());
        assert.equal(bad.ok, false);
        assert.match(bad.message, /token service .* answered 401/);
        assert.ok(!JSON.stringify(bad).includes("wrong-secret-2"));
        assert.equal(tokenRequests, 2);
      } finally {
        await proxy.stop();
      }
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("imageExists() fails on an unreachable registry and rejects a bad reference when built", async () => {
  const down = await imageExists(`127.0.0.1:${freePort()}/t/a:1`).run(fakeContext());
  assert.equal(down.ok, false);
  assert.match(down.message, /Cannot reach registry .*connection refused/);
  assert.throws(() => imageExists("UPPER/case:1"), /Cannot parse image reference "UPPER\/case:1"/);
});

Deno.test("noLatestTag() fails on explicit and implicit :latest", async () => {
  const digest = `sha256:${"b".repeat(64)}`;
  const good = await noLatestTag(["ghcr.io/t/a:1.2.4", `ghcr.io/t/b@${digest}`]).run(fakeContext());
  assert.equal(good.ok, true, good.message);
  const bad = await noLatestTag(["ghcr.io/t/a:latest", "ghcr.io/t/b", "ghcr.io/t/c:1.0.0"])
    .run(fakeContext());
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.evidence?.latest, ["ghcr.io/t/a:latest", "ghcr.io/t/b"]);
});

Deno.test("imageSignature() fails when cosign is not installed, even when non-critical", async () => {
  const check = imageSignature("ghcr.io/t/a:1.2.4", { command: "cosign-not-installed-here" });
  assert.equal(check.required, true);
  const outcome = await check.run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.equal(outcome.message, "cosign is not installed: cannot verify signatures");
  assert.equal(outcome.evidence?.installed, false);
  const optional = imageSignature("ghcr.io/t/a:1.2.4", {
    command: "cosign-not-installed-here",
    required: false,
  });
  assert.equal(optional.required, false);
  assert.equal((await optional.run(fakeContext())).ok, false);
});

Deno.test("imageVulnerabilities() fails when grype is not installed", async () => {
  const outcome = await imageVulnerabilities("ghcr.io/t/a:1.2.4", { command: "grype-not-here" })
    .run(fakeContext());
  assert.equal(outcome.ok, false);
  assert.equal(outcome.message, "grype is not installed: cannot scan for vulnerabilities");
});

// cosign and grype are not installed on this machine: these tests run stand-in
// executables that behave like them (exit codes, JSON output) to prove the checks read
// a real process's results.
async function standIn(name: string, script: string): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "checks_tool_" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${script}\n`);
  await Deno.chmod(path, 0o755);
  return { path, dir };
}

Deno.test("imageSignature() reads cosign's exit code and passes its arguments", async () => {
  const tool = await standIn(
    "cosign",
    `echo "$@" > "$(dirname "$0")/args"
case "$*" in *bad*) echo "Error: no matching signatures" >&2; exit 1;; esac
echo '[{"critical":{}}]'`,
  );
  try {
    const good = await imageSignature("ghcr.io/t/good:1", {
      command: tool.path,
      key: "cosign.pub",
    }).run(fakeContext());
    assert.equal(good.ok, true, good.message);
    assert.equal(
      (await Deno.readTextFile(`${tool.dir}/args`)).trim(),
      "verify --key cosign.pub ghcr.io/t/good:1",
    );
    const bad = await imageSignature("ghcr.io/t/bad:1", { command: tool.path }).run(fakeContext());
    assert.equal(bad.ok, false);
    assert.match(bad.message, /cosign verify failed .*exit 1/);
    assert.match(String(bad.evidence?.output), /no matching signatures/);
  } finally {
    await Deno.remove(tool.dir, { recursive: true });
  }
});

Deno.test("imageVulnerabilities() counts grype's matches by severity", async () => {
  const tool = await standIn(
    "grype",
    `case "$1" in
  *clean*) echo '{"matches":[{"vulnerability":{"id":"CVE-1","severity":"Low"}}]}';;
  *broken*) echo "failed to pull image" >&2; exit 1;;
  *) echo '{"matches":[{"vulnerability":{"id":"CVE-2","severity":"High"}},{"vulnerability":{"id":"CVE-3","severity":"Critical"}},{"vulnerability":{"id":"CVE-4","severity":"Medium"}}]}';;
esac`,
  );
  try {
    const clean = await imageVulnerabilities("ghcr.io/t/clean:1", { command: tool.path })
      .run(fakeContext());
    assert.equal(clean.ok, true, clean.message);
    assert.deepEqual(clean.evidence?.counts, { low: 1 });
    const vulnerable = await imageVulnerabilities("ghcr.io/t/vuln:1", { command: tool.path })
      .run(fakeContext());
    assert.equal(vulnerable.ok, false);
    assert.match(vulnerable.message, /2 vulnerabilities at or above high/);
    assert.deepEqual(vulnerable.evidence?.blocking, ["CVE-2 (high)", "CVE-3 (critical)"]);
    const critOnly = await imageVulnerabilities("ghcr.io/t/vuln:1", {
      command: tool.path,
      failOn: "critical",
    }).run(fakeContext());
    assert.equal(critOnly.ok, false);
    assert.deepEqual(critOnly.evidence?.blocking, ["CVE-3 (critical)"]);
    const broken = await imageVulnerabilities("ghcr.io/t/broken:1", { command: tool.path })
      .run(fakeContext());
    assert.equal(broken.ok, false);
    assert.match(broken.message, /grype failed .*exit 1/);
  } finally {
    await Deno.remove(tool.dir, { recursive: true });
  }
});

Deno.test("imageExists() at a mirror and imageSignature() verified in TypeScript against a real registry", async () => {
  const { startRegistryCompanion } = await import("../../lib/companions/registry.ts");
  const { generateSigningKey } = await import("../../lib/companions/cosign.ts");
  const dir = await Deno.makeTempDir({ prefix: "checks_images_cosign_" });
  const registry = await startRegistryCompanion({
    dir,
    images: [
      { repository: "team/api", tag: "2.0.0", identity: "ghcr.io/team/api" },
      { repository: "team/web", tag: "2.0.0", identity: "ghcr.io/team/web", unsigned: true },
    ],
  });
  assert.ok(!("missing" in registry));
  const ctx = fakeContext();
  try {
    const exists = await imageExists("ghcr.io/team/api:2.0.0", { mirror: registry.host }).run(ctx);
    assert.equal(exists.ok, true, exists.message);
    assert.equal(exists.evidence?.mirror, registry.host);
    const absent = await imageExists("ghcr.io/team/api:9.0.0", { mirror: registry.host }).run(ctx);
    assert.equal(absent.ok, false);
    assert.match(absent.message, new RegExp(`not in the registry ${registry.host}`));

    const options = { publicKey: registry.publicKey, mirror: registry.host };
    const signed = await imageSignature("ghcr.io/team/api:2.0.0", options).run(ctx);
    assert.equal(signed.ok, true, signed.message);
    assert.equal(signed.evidence?.verifier, "built-in (cosign format, key-based)");
    assert.equal(signed.evidence?.identity, "ghcr.io/team/api");
    const unsigned = await imageSignature("ghcr.io/team/web:2.0.0", options).run(ctx);
    assert.equal(unsigned.ok, false);
    assert.match(unsigned.message, /is not signed/);
    const otherKey = await imageSignature("ghcr.io/team/api:2.0.0", {
      ...options,
      publicKey: (await generateSigningKey()).publicKeyPem,
    }).run(ctx);
    assert.equal(otherKey.ok, false);
    assert.match(otherKey.message, /does not verify with the key/);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
