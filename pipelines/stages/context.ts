/**
 * What every stage builder of Tracktion's deploy pipeline needs to know, computed once
 * from the environment, the version and the command-line options.
 * @module
 */
import type { Environment, Version } from "../../mod.ts";
import type { KubeTarget } from "../../lib/kubernetes/target.ts";
import { kubeTarget } from "../../lib/targets/kube_target.ts";
import type { RedisTarget } from "../../checks/redis.ts";
import { type DeployImages, deployImages } from "./images.ts";

/** Where the lock, images and services are, for one run of the pipeline. */
export interface DeployContext {
  readonly env: Environment;
  /** What the Kubernetes operations read of the environment. */
  readonly target: KubeTarget;
  readonly version: Version;
  readonly namespace: string;
  readonly services: readonly string[];
  /** Rehearsing in the sandbox (`--sandbox`). */
  readonly sandbox: boolean;
  /**
   * The image of each service at this version: `<registry>/<s>:<version>@sha256:...` when
   * `--option digests=...` pins them to a build's digests (`build.pinned`), else by tag.
   */
  readonly images: Readonly<Record<string, string>>;
  /** The image of each service by tag (`<registry>/<s>:<version>`), as manifests name it. */
  readonly taggedImages: Readonly<Record<string, string>>;
  /** The build's digests, when given (`--option digests=...`). */
  readonly build: DeployImages;
  /** On a gate breach: roll back (default), or pause for a decision (`--option on-breach=pause`). */
  readonly onBreach: "rollback" | "pause";
  /**
   * The Redis to check: the environment's (host, port, database, password, TLS) — in the
   * sandbox the one `--option redis=host:port` names, else (undefined) the sandbox's
   * companion Redis, found at run time.
   */
  readonly redis: RedisTarget | undefined;
  /** The Secret holding Redis's password, when the environment names one (`secret_key_ref`). */
  readonly redisSecret: string | undefined;
  /**
   * In the sandbox: what tells its companions' addresses from another sandbox's
   * (`--option companion-scope=...`, as given to `sandboxTarget`; default none).
   */
  readonly companionScope: string;
}

/** Builds the context. */
export function deployContext(
  env: Environment,
  version: Version,
  options: Readonly<Record<string, string>>,
): DeployContext {
  const sandbox = options.target === "sandbox";
  const namespace = env.environment.namespace;
  const services = Object.keys(env.infrastructure.replicas);
  const taggedImages = Object.fromEntries(
    services.map((s) => [s, `${env.deployment.image_registry}/${s}:${version.version}`]),
  );
  const build = deployImages(env, version, options);
  // As production reaches it: with the password the environment names, and TLS if it says so.
  const auth = {
    database: env.redis.database,
    ...(env.redis.password !== undefined ? { password: env.redis.password } : {}),
    ssl: env.redis.ssl ?? false,
  };
  let redis: DeployContext["redis"];
  if (!sandbox) redis = { host: env.redis.host, port: env.redis.port, ...auth };
  else if (options.redis) {
    const [host, port] = options.redis.split(":");
    redis = { host: host ?? "127.0.0.1", port: Number(port ?? 6379), ...auth };
  }
  const ref = env.redis.password;
  const redisSecret = ref && "secret_key_ref" in ref ? ref.secret_key_ref.name : undefined;
  const onBreach = options["on-breach"] ?? "rollback";
  if (onBreach !== "pause" && onBreach !== "rollback") {
    throw new RangeError(`--option on-breach takes pause or rollback, got "${onBreach}"`);
  }
  const target = kubeTarget(env);
  return {
    env,
    target,
    version,
    namespace,
    services,
    sandbox,
    images: build.images,
    taggedImages,
    build,
    redis,
    redisSecret,
    companionScope: options["companion-scope"] ?? "",
    onBreach,
  };
}

/**
 * The sandbox's Redis companion as a check's target: its address (and CA), with the
 * environment's database, password reference and TLS — reached as production's would be.
 *
 * @param c The deploy's context.
 * @param r Where the companion listens (from the sandbox's companions ConfigMap).
 * @returns The target.
 *
 * @example
 * ```ts ignore
 * const t = companionRedisTarget(c, { host: "127.1.2.3", port: 6379 });
 * ```
 */
export function companionRedisTarget(
  c: DeployContext,
  r: { readonly host: string; readonly port: number; readonly ca?: string | undefined },
): RedisTarget {
  const env = c.env.redis;
  return {
    host: r.host,
    port: r.port,
    database: env.database,
    ...(env.password !== undefined ? { password: env.password } : {}),
    ssl: env.ssl ?? false,
    ...(r.ca ? { ca: r.ca } : {}),
  };
}
