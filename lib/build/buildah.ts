/**
 * Building and pushing an image without a container daemon, with `buildah` (Debian's package
 * `buildah`): `buildah bud` reads the Containerfile, `buildah push --digestfile` pushes it and
 * says its manifest digest. Storage is `vfs` in a folder of the caller's (no overlay mount, no
 * shared `/var/lib/containers`), `RUN` steps use `--isolation chroot` (the default OCI runtime
 * needs cgroups a container host may not give), and `--timestamp` makes the same sources give
 * the same digest. Running it is full trust: it is a subprocess outside Deno's permissions.
 * @module
 */

/** Where the Debian package of each build tool is. */
const PACKAGES: Readonly<Record<string, string>> = { buildah: "buildah", skopeo: "skopeo" };

/** A build tool that is missing, or that ran and failed (its exit code and last lines). */
export class BuildToolError extends Error {
  /** The program. */
  readonly program: string;
  /** It is not installed (or may not be run). */
  readonly missing: boolean;
  /** Its exit code (undefined: it did not run). */
  readonly exitCode: number | undefined;
  /** The last lines of its error output. */
  readonly stderr: string;
  /**
   * Builds the error.
   *
   * @param message The message.
   * @param o The program, whether it is missing, its exit code and error output.
   */
  constructor(
    message: string,
    o: { program: string; missing?: boolean; exitCode?: number; stderr?: string },
  ) {
    super(message);
    this.name = "BuildToolError";
    this.program = o.program;
    this.missing = o.missing ?? false;
    this.exitCode = o.exitCode;
    this.stderr = o.stderr ?? "";
  }
}

function tail(text: string, lines = 8): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** What a tool run gave. */
interface Ran {
  readonly stdout: string;
  readonly stderr: string;
}

async function runTool(
  program: string,
  args: readonly string[],
  what: string,
  signal?: AbortSignal,
): Promise<Ran> {
  const name = program.split("/").at(-1) ?? program;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(program, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(signal ? { signal } : {}),
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      const pkg = PACKAGES[name];
      throw new BuildToolError(
        `${program} is not installed: cannot ${what}` +
          (pkg ? ` (apt-get install ${pkg}: Debian's package ${pkg})` : ""),
        { program, missing: true },
      );
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new BuildToolError(
        `No permission to run ${program}: the stage needs permissions({ run: ["${program}"] }) ` +
          "(full trust)",
        { program, missing: true },
      );
    }
    throw err;
  }
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const ran = { stdout: decode(output.stdout), stderr: decode(output.stderr) };
  if (signal?.aborted) throw signal.reason ?? new Error(`${program} was stopped`);
  if (output.code !== 0) {
    const last = tail(ran.stderr || ran.stdout);
    throw new BuildToolError(`${name} failed to ${what} (exit ${output.code}): ${last}`, {
      program,
      exitCode: output.code,
      stderr: last,
    });
  }
  return ran;
}

/**
 * The build tool's version line, or a {@linkcode BuildToolError} saying it is missing.
 *
 * @param program The program (e.g. `buildah`).
 * @returns Its `--version` line, e.g. `buildah version 1.28.2 (...)`.
 * @throws {BuildToolError} When it is not installed (naming the Debian package) or fails.
 *
 * @example
 * ```ts
 * import { BuildToolError, builderVersion } from "./buildah.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(builderVersion("/nonexistent/buildah"), BuildToolError);
 * ```
 */
export async function builderVersion(program: string): Promise<string> {
  const ran = await runTool(program, ["--version"], "build images");
  return ran.stdout.trim().split("\n")[0] ?? "";
}

/** Where buildah keeps its images: folders of the caller's. */
export interface BuildahStorage {
  /** The program (default `buildah`). */
  readonly program?: string;
  /** Its storage root (`--root`). */
  readonly root: string;
  /** Its run root (`--runroot`). */
  readonly runroot: string;
}

function storageArgs(s: BuildahStorage): string[] {
  return ["--root", s.root, "--runroot", s.runroot, "--storage-driver", "vfs"];
}

/** What {@linkcode buildImage} takes. */
export interface BuildImageOptions extends BuildahStorage {
  /** The build context (a folder). */
  readonly context: string;
  /** The Containerfile (default `<context>/Containerfile`). */
  readonly containerfile?: string;
  /** The local name to tag it with, e.g. `localhost/app:1.0.0`. */
  readonly tag: string;
  /** `--build-arg`s. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `--label`s. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Seconds since the epoch for every timestamp (default 0: reproducible). */
  readonly timestamp?: number;
  /** Stops the build. */
  readonly signal?: AbortSignal;
}

/**
 * Builds an image from a Containerfile with `buildah bud` (vfs storage, chroot isolation,
 * a fixed timestamp, no layer cache).
 *
 * @param o The context, Containerfile, tag, arguments, labels, storage.
 * @returns The image's id (its config digest's hex).
 * @throws {BuildToolError} When buildah is missing or the build fails (its last lines).
 *
 * @example
 * ```ts ignore
 * import { buildImage } from "./buildah.ts";
 * const id = await buildImage({ context: "app", tag: "localhost/app:1.0.0", root, runroot });
 * ```
 */
export async function buildImage(o: BuildImageOptions): Promise<string> {
  const args = [
    ...storageArgs(o),
    "bud",
    "--quiet",
    "--isolation",
    "chroot",
    "--layers=false",
    "--timestamp",
    String(o.timestamp ?? 0),
    "--file",
    o.containerfile ?? `${o.context}/Containerfile`,
    "--tag",
    o.tag,
    ...Object.entries(o.buildArgs ?? {}).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    ...Object.entries(o.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    o.context,
  ];
  const ran = await runTool(o.program ?? "buildah", args, `build ${o.tag}`, o.signal);
  return ran.stdout.trim().split("\n").at(-1) ?? "";
}

/** What {@linkcode pushImage} takes. */
export interface PushImageOptions extends BuildahStorage {
  /** The local image (as built). */
  readonly image: string;
  /** Where to: `host[:port]/repository:tag`. */
  readonly destination: string;
  /** Plain HTTP / no TLS verification (a registry on loopback). */
  readonly insecure?: boolean;
  /** A file buildah writes the pushed manifest's digest to. */
  readonly digestFile: string;
  /** The registry's login (`auth.json`, `--authfile`), when it needs one. */
  readonly authFile?: string;
  /** Reads that file (default `Deno.readTextFile`). */
  readonly readFile?: (path: string) => Promise<string>;
  /** Stops the push. */
  readonly signal?: AbortSignal;
}

/**
 * Pushes a built image to a registry (`buildah push --digestfile`), as an OCI manifest.
 *
 * @param o The image, the destination, the storage.
 * @returns The pushed manifest's digest, `sha256:<hex>`.
 * @throws {BuildToolError} When buildah is missing, the push fails, or it wrote no digest.
 *
 * @example
 * ```ts ignore
 * import { pushImage } from "./buildah.ts";
 * const digest = await pushImage({ image: "localhost/app:1.0.0", destination: "127.0.0.1:5000/app:1.0.0", insecure: true, digestFile, root, runroot });
 * ```
 */
export async function pushImage(o: PushImageOptions): Promise<string> {
  const program = o.program ?? "buildah";
  await runTool(
    program,
    [
      ...storageArgs(o),
      "push",
      "--quiet",
      "--format",
      "oci",
      ...(o.insecure ? ["--tls-verify=false"] : []),
      ...(o.authFile ? ["--authfile", o.authFile] : []),
      "--digestfile",
      o.digestFile,
      o.image,
      `docker://${o.destination}`,
    ],
    `push ${o.destination}`,
    o.signal,
  );
  const digest = (await (o.readFile ?? Deno.readTextFile)(o.digestFile)).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new BuildToolError(`${program} pushed ${o.destination} but wrote no digest`, {
      program,
    });
  }
  return digest;
}
