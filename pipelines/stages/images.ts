/**
 * The images a deploy runs: pinned to the digests its build pushed. `--option
 * digests=<service>=sha256:<hex>,...` (what `deno task promote` passes from the build record;
 * by hand: the record's `images.<service>.digest`) makes every service's image
 * `<image_registry>/<service>:<version>@sha256:<hex>` — the tag names the version (labels,
 * the sandbox's stand-ins), the digest is what the cluster pulls and what pre-flight verifies
 * the signature of. Production outside the sandbox refuses to deploy without them (its
 * pre-flight fails closed, nothing deployed).
 * @module
 */
import type { Check, Environment, Version } from "../../mod.ts";
import type { KubeObject, KubernetesCapability } from "../../lib/kubernetes/capability.ts";

/** The option that pins the images. */
export const DIGESTS_OPTION = "digests";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** What {@linkcode deployImages} found. */
export interface DeployImages {
  /** The image of each service: digest-pinned when `pinned`. */
  readonly images: Readonly<Record<string, string>>;
  /** The digest of each service, when the images are pinned (else empty). */
  readonly digests: Readonly<Record<string, string>>;
  /** Whether the images are pinned to a build's digests. */
  readonly pinned: boolean;
}

/**
 * The image of each service at this version, pinned to `--option digests=...` when given.
 *
 * @param env The environment.
 * @param version The version.
 * @param options The pipeline's options.
 * @returns The images, their digests, and whether they are pinned.
 * @throws {RangeError} When `digests` is malformed, names a service the environment does not
 *   have, or leaves one of its services out (exit 2: nothing runs).
 *
 * @example
 * ```ts
 * import { deployImages } from "./images.ts";
 * import assert from "node:assert/strict";
 * const env = { deployment: { image_registry: "ghcr.io/t" }, infrastructure: { replicas: { api: 1 } } };
 * const d = "sha256:" + "a".repeat(64);
 * const got = deployImages(env as never, { version: "1.2.4" } as never, { digests: `api=${d}` });
 * assert.equal(got.images.api, `ghcr.io/t/api:1.2.4@${d}`);
 * ```
 */
export function deployImages(
  env: Environment,
  version: Version,
  options: Readonly<Record<string, string>>,
): DeployImages {
  const services = Object.keys(env.infrastructure.replicas);
  const tagged = (s: string) => `${env.deployment.image_registry}/${s}:${version.version}`;
  const given = options[DIGESTS_OPTION];
  if (given === undefined) {
    return {
      images: Object.fromEntries(services.map((s) => [s, tagged(s)])),
      digests: {},
      pinned: false,
    };
  }
  const usage =
    `--option ${DIGESTS_OPTION} takes <service>=sha256:<64 hex>,... for every service ` +
    `of ${env.name} (${services.join(", ")}): the build record's digests`;
  const digests: Record<string, string> = {};
  for (const part of given.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const [service, digest] = [part.slice(0, eq), part.slice(eq + 1)];
    if (eq <= 0 || !DIGEST.test(digest)) {
      throw new RangeError(`${usage}; got "${part.slice(0, 100)}"`);
    }
    if (!services.includes(service)) {
      throw new RangeError(`${usage}; ${service} is not one of them`);
    }
    if (digests[service] !== undefined && digests[service] !== digest) {
      throw new RangeError(`${usage}; ${service} is given two digests`);
    }
    digests[service] = digest;
  }
  const missing = services.filter((s) => digests[s] === undefined);
  if (missing.length > 0) throw new RangeError(`${usage}; missing: ${missing.join(", ")}`);
  return {
    images: Object.fromEntries(services.map((s) => [s, `${tagged(s)}@${digests[s]}`])),
    digests,
    pinned: true,
  };
}

/**
 * Pre-flight's "the images are the build's": passes when every image is pinned to a digest;
 * without the build's digests it fails when `required` (production outside the sandbox: a
 * tag can be re-pushed after signing, so only a digest says what was built, scanned and
 * signed), else passes saying the images are deployed by tag.
 *
 * @param c The images and the environment's name.
 * @param options Whether it is required.
 * @returns The check.
 *
 * @example
 * ```ts
 * import { buildDigestsCheck } from "./images.ts";
 * import assert from "node:assert/strict";
 * const check = buildDigestsCheck({ images: { api: "r/api:1" }, digests: {}, pinned: false }, "production", { required: true });
 * assert.equal((await check.run({} as never)).ok, false);
 * ```
 */
export function buildDigestsCheck(
  c: DeployImages,
  environment: string,
  options: { readonly required: boolean },
): Check {
  return {
    name: "Images pinned to the build's digests",
    required: options.required,
    run: () => {
      const evidence = { images: c.images, pinned: c.pinned };
      if (c.pinned) {
        return Promise.resolve({
          ok: true,
          message: `${Object.keys(c.digests).length} images pinned to the build's digests`,
          evidence,
        });
      }
      return Promise.resolve(
        options.required
          ? {
            ok: false,
            message:
              `${environment} deploys only what a build recorded: no build record's digests ` +
              `(--option ${DIGESTS_OPTION}=<service>=sha256:...; deno task promote passes them ` +
              `from the build): refusing to deploy by tag`,
            evidence,
          }
          : {
            ok: true,
            message:
              `images deployed by tag (no --option ${DIGESTS_OPTION}): not pinned to a build`,
            evidence,
          },
      );
    },
  };
}

/** The manifest with each container whose image is a key of `pins` given its value. */
function pinned(manifest: KubeObject, pins: ReadonlyMap<string, string>): KubeObject {
  const spec = manifest.spec as
    | { template?: { spec?: { containers?: { image?: string }[] } } }
    | undefined;
  const containers = spec?.template?.spec?.containers;
  if (!containers?.some((c) => c.image !== undefined && pins.has(c.image))) return manifest;
  const copy = structuredClone(manifest);
  const copied = (copy.spec as typeof spec)!.template!.spec!.containers!;
  for (const container of copied) {
    const to = container.image !== undefined ? pins.get(container.image) : undefined;
    if (to !== undefined) container.image = to;
  }
  return copy;
}

/**
 * The Kubernetes capability, with every workload it applies that runs one of this version's
 * images by tag (`<registry>/<service>:<version>`, as the slot strategies write it) running it
 * by the build's digest instead. Other images (a rollback to the version before) are left as
 * they are.
 *
 * @param k The stage's Kubernetes capability.
 * @param c The deploy's images.
 * @param tagged The tag reference of each service at this version.
 * @returns `k` itself when the images are not pinned, else the pinning one.
 *
 * @example
 * ```ts ignore
 * const k = pinningImages(ctx.use("kubernetes"), images, taggedImages);
 * ```
 */
export function pinningImages(
  k: KubernetesCapability,
  c: DeployImages,
  tagged: Readonly<Record<string, string>>,
): KubernetesCapability {
  if (!c.pinned) return k;
  const pins = new Map(
    Object.entries(tagged).flatMap(([s, tag]) => c.images[s] ? [[tag, c.images[s]!]] : []),
  );
  const apply: KubernetesCapability["apply"] = (manifest, options) =>
    k.apply(pinned(manifest, pins), options);
  return new Proxy(k, {
    get(target, prop) {
      if (prop === "apply") return apply;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
