/**
 * Test support for the build pipeline: whether buildah is installed (else a test is skipped
 * with the Debian package to install), a real `docker-registry` in a temp folder, an ECDSA
 * P-256 key written as PKCS#8 PEM, what a registry holds, and the CLI.
 * @module
 */
import { type Registry, startRegistry } from "../checks/_registry.ts";

export type { Registry };
export { startRegistry };

/** Why buildah tests cannot run here (undefined: they can). */
export const NO_BUILDAH: string | undefined = await (async () => {
  try {
    const out = await new Deno.Command("buildah", { args: ["--version"], stdout: "null" })
      .output();
    return out.success ? undefined : "buildah --version failed";
  } catch {
    return "buildah is not installed (Debian's package buildah: apt-get install buildah)";
  }
})();

/** Registers a test that needs buildah, skipped with the reason when it is missing. */
export function buildahTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name: NO_BUILDAH ? `${name} (skipped: ${NO_BUILDAH})` : name,
    ignore: NO_BUILDAH !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

function pem(label: string, bytes: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...bytes)).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A fresh P-256 key pair as PEM: PKCS#8 private, SPKI public. */
export async function makeKeyPair(): Promise<{ privatePem: string; publicPem: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  return {
    privatePem: pem(
      "PRIVATE KEY",
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    ),
    publicPem: pem(
      "PUBLIC KEY",
      new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
    ),
  };
}

/** The repositories a registry holds (`/v2/_catalog`). */
export async function catalog(host: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/_catalog`);
  return ((await res.json()) as { repositories?: string[] }).repositories ?? [];
}

/** The tags of a repository (`[]` when it has none). */
export async function tags(host: string, repository: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repository}/tags/list`);
  if (res.status === 404) {
    await res.body?.cancel();
    return [];
  }
  return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
}

/** What a CLI run gave. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `deno run -A lib/cli/main.ts <args>` from the repository, to its end. */
export async function cli(
  args: readonly string[],
  o: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", ...args],
    cwd: o.cwd ?? new URL("../../", import.meta.url).pathname,
    env: { NO_COLOR: "1", ...o.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: d(out.stdout), stderr: d(out.stderr) };
}

/** The report a CLI run printed the path of (`report: <path>`). */
export async function reportOf(r: CliResult): Promise<
  { status: string; error?: string; stages: { id: string; status: string; output?: unknown }[] }
> {
  const path = r.stdout.match(/^report: (.+)$/m)?.[1];
  if (!path) throw new Error(`no report line in:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(await Deno.readTextFile(path));
}

/** A temp folder for one test (its key, runs, buildah storage), removed by `cleanup`. */
export async function workspace(): Promise<{
  dir: string;
  keyFile: string;
  publicPem: string;
  privatePem: string;
  args: (registry: string, ...more: string[]) => string[];
  cleanup: () => Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "build_test_" });
  const { privatePem, publicPem } = await makeKeyPair();
  const keyFile = `${dir}/image-signing.key`;
  await Deno.writeTextFile(keyFile, privatePem, { mode: 0o600 });
  // Production's runs are signed (Ed25519): the run's key, not the images'.
  const runKey = `${dir}/run-signing.key`;
  const made = await cli(["keygen", "--out", runKey]);
  if (made.code !== 0) throw new Error(`keygen failed: ${made.stderr}`);
  const runPublic = made.stdout.match(/^public key:\s+(\S+)$/m)![1]!;
  // The project's environment files, production's trusting that run key.
  const envs = `${dir}/environments`;
  await Deno.mkdir(envs);
  const root = new URL("../../environments/", import.meta.url);
  for await (const f of Deno.readDir(root)) {
    let text = await Deno.readTextFile(new URL(f.name, root));
    text = text.replace(
      /^deployment:\n/m,
      `deployment:\n  audit:\n    public_keys: [${runPublic}]\n`,
    );
    await Deno.writeTextFile(`${envs}/${f.name}`, text);
  }
  return {
    dir,
    keyFile,
    publicPem,
    privatePem,
    args: (registry, ...more) => [
      "--option",
      `signing-key=file:${keyFile}`,
      "--option",
      "context=fixtures/service",
      "--option",
      `registry=${registry}`,
      "--option",
      `work-dir=${dir}/work`,
      "--runs-dir",
      `${dir}/runs`,
      "--signing-key",
      runKey,
      "--environments-dir",
      envs,
      "--skip-type-check",
      ...more,
    ],
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

/** grype's JSON report of `fixtures/grype_report.json`, its matches filtered. */
export async function grypeReport(
  keep: (m: { vulnerability: { severity: string } }) => boolean,
): Promise<string> {
  const doc = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/grype_report.json", import.meta.url)),
  ) as { matches: { vulnerability: { severity: string } }[] };
  return JSON.stringify({ ...doc, matches: doc.matches.filter(keep) });
}

/**
 * Writes a stand-in for grype (not packaged by Debian) into `dir`: a script that prints
 * `report` (grype's JSON format) where grype would, and records its arguments.
 */
export async function grypeStandIn(dir: string, report: string): Promise<string> {
  const json = `${dir}/grype-standin-report.json`;
  await Deno.writeTextFile(json, report);
  const script = `${dir}/grype-standin`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\n# A stand-in for grype: prints a report in grype's JSON format.\n` +
      `echo "$@" > "${dir}/grype-standin-args"\ncat "${json}"\n`,
    { mode: 0o755 },
  );
  return script;
}
