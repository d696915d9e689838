/**
 * A throwaway real container registry (Debian's `docker-registry`, distribution v2)
 * on 127.0.0.1, and a helper that pushes a tiny OCI image through its API.
 * @module
 */
import { freePort, waitFor } from "./_support.ts";

/** A running registry. */
export interface Registry {
  /** `127.0.0.1:<port>` (the registry part of image references). */
  readonly host: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry` with filesystem storage in a temp dir. */
export async function startRegistry(): Promise<Registry> {
  const dir = await Deno.makeTempDir({ prefix: "checks_registry_" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
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
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitFor("docker-registry", async () => {
      const r = await fetch(`http://${host}/v2/`);
      await r.body?.cancel();
      return r.status === 200;
    }, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, stop };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return `sha256:${[...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = await sha256(bytes);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
  const location = new URL(start.headers.get("location")!, base);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
  return digest;
}

/** Pushes a one-layer OCI image `repo:tag`; returns the manifest digest. */
export async function pushImage(host: string, repo: string, tag: string): Promise<string> {
  const base = `http://${host}`;
  const enc = new TextEncoder();
  const config = enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
    config: {},
  }));
  const layer = enc.encode(`layer of ${repo}:${tag}`);
  const configDigest = await pushBlob(base, repo, config);
  const layerDigest = await pushBlob(base, repo, layer);
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.byteLength,
    },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: layerDigest,
      size: layer.byteLength,
    }],
  }));
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest as Uint8Array<ArrayBuffer>,
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`manifest upload: HTTP ${put.status}: ${text}`);
  return await sha256(manifest);
}
