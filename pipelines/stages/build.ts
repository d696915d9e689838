/**
 * What the build pipeline's stages share, computed once from the environment, the version and
 * the options (`--option key=value`): which services, where their contexts are, which
 * registry to push to, where the signing key is, the build tool and the scanners. A bad option
 * is a `RangeError` here, when the pipeline is built: exit 2, nothing built or pushed.
 * @module
 */
import type { Environment, PermissionRequest, Version } from "../../mod.ts";
import {
  describeKeyReference,
  type KeyReference,
  parseKeyReference,
  type ScanLimits,
} from "../../lib/build/mod.ts";
import { companionAddress, REGISTRY_PORT } from "../../lib/companions/discover.ts";

/** The runbook's threshold (`build_and_package.sh`): critical > 0 or high > 5 fails. */
export const SCAN_LIMITS: ScanLimits = { critical: 0, high: 5 };

/** The options the build pipeline reads. */
export const BUILD_OPTIONS = [
  "signing-key",
  "context",
  "containerfile",
  "services",
  "registry",
  "scanner",
  "builder",
  "record",
  "work-dir",
  "timestamp",
  "registry-credentials",
] as const;

/** Where everything of one build is. */
export interface BuildContext {
  readonly env: Environment;
  readonly version: Version;
  readonly namespace: string;
  /** The services to build. */
  readonly services: readonly string[];
  /**
   * Where the registry's `<user>:<password>` is (`--option registry-credentials=file:<path>`
   * or `env:<NAME>`), for a registry that needs a login; none: anonymous.
   */
  readonly credentials: CredentialsReference | undefined;
  /** Rehearsing in the sandbox (`--sandbox`): push to its companion registry. */
  readonly sandbox: boolean;
  /** A production build outside the sandbox: a missing scanner fails closed. */
  readonly scanRequired: boolean;
  /** `host:port` pushed to. */
  readonly registry: string;
  /** The registry speaks plain HTTP (loopback). */
  readonly plainHttp: boolean;
  /** The image names' prefix as published and signed (`deployment.image_registry`). */
  readonly prefix: string;
  /** The signing key's reference. */
  readonly key: KeyReference;
  /** The build tool. */
  readonly builder: string;
  /** The scanners to try, in order. */
  readonly scanners: readonly string[];
  /** Buildah's storage folders go under it (one per run and service). */
  readonly workDir: string;
  /** `--timestamp` for every build. */
  readonly timestamp: number;
  /** A file to write the build record to. */
  readonly recordFile: string | undefined;
  /** The sandbox's companion scope (`--option companion-scope`). */
  readonly companionScope: string;
  /** A service's build context. */
  context(service: string): string;
  /** A service's Containerfile. */
  containerfile(service: string): string;
  /** A service's repository in the registry (`tracktion/<service>`). */
  repository(service: string): string;
}

const HOST_PORT = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/;

function loopback(host: string): boolean {
  return /^(127\.|localhost(:|$)|\[::1\])/.test(host);
}

/**
 * Builds the context.
 *
 * @throws {RangeError} For a missing signing key reference, an unknown service, a malformed
 *   registry or timestamp.
 */
export function buildContext(
  env: Environment,
  version: Version,
  options: Readonly<Record<string, string>>,
): BuildContext {
  const all = Object.keys(env.infrastructure.replicas);
  const keyText = options["signing-key"];
  if (keyText === undefined) {
    throw new RangeError(
      "The build signs every image: give where its key is with --option signing-key=<ref> " +
        "(file:<path>, env:<NAME> or secret:<name>/<key>; an ECDSA P-256 PEM private key, e.g. " +
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out image-signing.key)",
    );
  }
  const key = parseKeyReference(keyText);
  const credentials = credentialsReference(options["registry-credentials"]);
  const services = options.services === undefined
    ? all
    : options.services.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = services.filter((s) => !all.includes(s));
  if (services.length === 0 || unknown.length > 0) {
    throw new RangeError(
      `--option services=${options.services}: ${
        unknown.length ? `not a service of ${env.name}: ${unknown.join(", ")}` : "names none"
      } (its services: ${all.join(", ")})`,
    );
  }
  const sandbox = options.target === "sandbox";
  const namespace = env.environment.namespace;
  const scope = options["companion-scope"] ?? "";
  if (sandbox && options.registry !== undefined) {
    throw new RangeError(
      "--option registry= and --sandbox both say where to push: the sandbox pushes to its " +
        "companion registry; leave one out",
    );
  }
  const prefix = env.deployment.image_registry;
  const registry = sandbox
    ? `${companionAddress(namespace, "registry", scope)}:${REGISTRY_PORT}`
    : options.registry ?? prefix.split("/")[0]!;
  if (!HOST_PORT.test(registry)) {
    throw new RangeError(`--option registry=${registry}: expected host:port, e.g. 127.0.0.1:5000`);
  }
  const timestamp = Number(options.timestamp ?? "0");
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(
      `--option timestamp=${options.timestamp}: expected seconds since the epoch (e.g. 0, or ` +
        "the commit's time for SOURCE_DATE_EPOCH)",
    );
  }
  const repoPrefix = prefix.split("/").slice(1).join("/");
  const contextOf = (service: string) =>
    (options.context ?? "services/{service}").replaceAll("{service}", service).replace(/\/+$/, "");
  return {
    env,
    version,
    namespace,
    services,
    sandbox,
    scanRequired: env.name === "production" && !sandbox,
    registry,
    plainHttp: loopback(registry),
    prefix,
    key,
    credentials,
    builder: options.builder ?? "buildah",
    scanners: options.scanner ? [options.scanner] : ["grype", "trivy"],
    workDir: (options["work-dir"] ?? "/tmp/tracktion-build").replace(/\/+$/, ""),
    timestamp,
    recordFile: options.record,
    companionScope: scope,
    context: contextOf,
    containerfile: (service) =>
      options.containerfile
        ? options.containerfile.replaceAll("{service}", service)
        : `${contextOf(service)}/Containerfile`,
    repository: (service) => repoPrefix ? `${repoPrefix}/${service}` : service,
  };
}

/** Where a registry's credentials are: a file or a variable holding `<user>:<password>`. */
export type CredentialsReference =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string };

/** `--option registry-credentials=file:<path>|env:<NAME>` (never the password itself). */
function credentialsReference(text: string | undefined): CredentialsReference | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  if (value.startsWith("file:") && value.length > 5) return { kind: "file", path: value.slice(5) };
  if (/^env:[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return { kind: "env", name: value.slice(4) };
  throw new RangeError(
    "--option registry-credentials takes where the registry's <user>:<password> is: " +
      "file:<path> or env:<NAME> (never the password on a command line; value not shown)",
  );
}

/** What a stage that reads the registry's credentials is granted. */
export function credentialsGrant(c: BuildContext): PermissionRequest {
  const r = c.credentials;
  return !r ? {} : r.kind === "file" ? { read: [r.path] } : { env: [r.name] };
}

/** What a stage that reads the key is granted (a file, a variable, or a Secret). */
export function keyGrant(c: BuildContext): {
  permissions: PermissionRequest;
  secret: string | undefined;
} {
  const k = c.key;
  return {
    permissions: k.kind === "file" ? { read: [k.path] } : k.kind === "env" ? { env: [k.name] } : {},
    secret: k.kind === "secret" ? k.name : undefined,
  };
}

/** The key as people read it. */
export function keyName(c: BuildContext): string {
  return describeKeyReference(c.key);
}
