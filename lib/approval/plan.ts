/**
 * A deploy's plan as the unit of approval: a canonical JSON document of exactly what would
 * run — the pipeline file's and the environment file's SHA-256, the environment and version,
 * the pipeline options, the git commit, the images with their registry digests (or `null`
 * and why), and the stage graph with permissions and gates — and its digest, which approvers
 * sign. Reading a plan file checks its digest against its content; {@linkcode planDrift}
 * names every difference between a plan and what would run now.
 * @module
 */
import { z } from "zod";
import { type Clock, realClock } from "../clock/mod.ts";
import { getManifest } from "../companions/oci.ts";
import type { PublishedRegistry } from "../companions/discover.ts";
import { InputError } from "../runner/errors.ts";
import { canonicalJson, digestOf, sha256Bytes } from "./signatures.ts";

/** The plan format's name, in every plan file. */
export const PLAN_FORMAT = "deploy plan v1";

/** One image the deploy would run. */
export interface PlanImage {
  /** The reference, `<image_registry>/<service>:<version>`. */
  readonly reference: string;
  /** Its manifest digest as the registry served it, or `null` (then `why`). */
  readonly digest: string | null;
  /** Why there is no digest (the registry was not reachable, or answered otherwise). */
  readonly why?: string | undefined;
}

/** A plan without its digest: what the digest is of. */
export interface PlanContent {
  /** {@linkcode PLAN_FORMAT}. */
  readonly format: string;
  /** The environment's name. */
  readonly environment: string;
  /** The version's tag (`v1.2.4`). */
  readonly version: string;
  /** The pipeline file and its SHA-256. */
  readonly pipeline: { readonly file: string; readonly sha256: string };
  /** The environment file and its SHA-256. */
  readonly environmentFile: { readonly file: string; readonly sha256: string };
  /** The pipeline options given (`--option`). */
  readonly options: Readonly<Record<string, string>>;
  /** The git commit (`null` outside a repository) and whether the tree had changes. */
  readonly git: { readonly commit: string | null; readonly dirty: boolean };
  /** The images. */
  readonly images: readonly PlanImage[];
  /** The stage graph: levels, each stage's permissions, checks, gates and approvals. */
  readonly graph: unknown;
  /** When it was made (ISO 8601). */
  readonly createdAt: string;
  /** Who made it. */
  readonly createdBy: string;
}

/** A plan file: the content and its digest (`sha256:` of its canonical JSON). */
export interface PlanFile extends PlanContent {
  /** The digest approvers sign. */
  readonly digest: string;
}

const planSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  environment: z.string(),
  version: z.string(),
  pipeline: z.object({ file: z.string(), sha256: z.string() }),
  environmentFile: z.object({ file: z.string(), sha256: z.string() }),
  options: z.record(z.string(), z.string()),
  git: z.object({ commit: z.string().nullable(), dirty: z.boolean() }),
  images: z.array(z.object({
    reference: z.string(),
    digest: z.string().nullable(),
    why: z.string().optional(),
  })),
  graph: z.unknown(),
  createdAt: z.string(),
  createdBy: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

/**
 * The SHA-256 of a file's bytes.
 *
 * @param path The file.
 * @param clock Tracks the read (default the real clock).
 * @returns `sha256:<hex>`.
 *
 * @example
 * ```ts
 * import { fileSha256 } from "./plan.ts";
 * console.assert((await fileSha256("deno.json")).startsWith("sha256:"));
 * ```
 */
export async function fileSha256(path: string, clock: Clock = realClock): Promise<string> {
  return await sha256Bytes(await clock.track(`reading ${path}`, Deno.readFile(path)));
}

async function git(args: string[], clock: Clock): Promise<string | null> {
  try {
    const out = await clock.track(
      "git",
      new Deno.Command("git", { args, stdin: "null", stdout: "piped", stderr: "null" }).output(),
    );
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/**
 * The git commit of the working directory and whether its tree has changes.
 *
 * @param clock Tracks the `git` calls.
 * @returns The commit (`null` outside a repository or without git) and `dirty`.
 *
 * @example
 * ```ts
 * import { gitCommit } from "./plan.ts";
 * const g = await gitCommit();
 * console.assert(g.commit === null || /^[0-9a-f]{40}$/.test(g.commit));
 * ```
 */
export async function gitCommit(
  clock: Clock = realClock,
): Promise<{ commit: string | null; dirty: boolean }> {
  const [commit, status] = await Promise.all([
    git(["rev-parse", "HEAD"], clock),
    git(["status", "--porcelain"], clock),
  ]);
  return { commit, dirty: status !== null && status !== "" };
}

/** Where {@linkcode imageDigests} asks. */
export interface ImageLookup {
  /** The sandbox's companion registry, when the run has one (it holds the version's images). */
  readonly registry?: PublishedRegistry | undefined;
  /** Why no registry is asked (then every digest is `null` with this reason). */
  readonly unreachable?: string | undefined;
  /** How long one request may take (default 5 s). */
  readonly timeoutMs?: number;
  /** The clock (default the real one). */
  readonly clock?: Clock;
}

/**
 * The images of a deploy with their manifest digests, asked of the registry that holds them:
 * the companion registry in the sandbox, else the registry named in `image_registry` (over
 * HTTPS). A registry that cannot be reached or does not serve the image gives `null` and why.
 *
 * @param imageRegistry The environment's `deployment.image_registry`.
 * @param services The services (`infrastructure.replicas`' keys).
 * @param version The bare version (`1.2.4`).
 * @param lookup Where to ask.
 * @returns One entry per service.
 *
 * @example
 * ```ts
 * import { imageDigests } from "./plan.ts";
 * const images = await imageDigests("ghcr.io/acme", ["api"], "1.2.4", { unreachable: "offline" });
 * console.assert(images[0]!.digest === null && images[0]!.why === "offline");
 * ```
 */
export async function imageDigests(
  imageRegistry: string,
  services: readonly string[],
  version: string,
  lookup: ImageLookup,
): Promise<PlanImage[]> {
  const clock = lookup.clock ?? realClock;
  const [host = "", ...path] = imageRegistry.split("/");
  return await Promise.all(services.map(async (service): Promise<PlanImage> => {
    const reference = `${imageRegistry}/${service}:${version}`;
    if (lookup.unreachable) return { reference, digest: null, why: lookup.unreachable };
    const companion = lookup.registry;
    const repository = [...path, service].join("/");
    const held = companion?.images.find((i) =>
      i.repository === repository && (i.tag === version || i.tag === `v${version}`)
    );
    const access = companion
      ? { host: companion.host, plainHttp: true }
      : { host, plainHttp: false };
    const tag = held?.tag ?? version;
    try {
      const found = await clock.track(
        `registry ${access.host}`,
        getManifest(
          { ...access, signal: clock.timeout(lookup.timeoutMs ?? 5_000) },
          repository,
          tag,
        ),
      );
      if (found) return { reference, digest: found.digest };
      return {
        reference,
        digest: null,
        why: `registry ${access.host} has no ${repository}:${tag}`,
      };
    } catch (err) {
      return {
        reference,
        digest: null,
        why: `registry ${access.host} not reachable: ${(err as Error).message}`,
      };
    }
  }));
}

/**
 * Seals a plan: its digest is the SHA-256 of its canonical JSON.
 *
 * @param content The plan's content.
 * @returns The plan file.
 *
 * @example
 * ```ts
 * import { PLAN_FORMAT, sealPlan } from "./plan.ts";
 * const plan = await sealPlan({
 *   format: PLAN_FORMAT, environment: "dev", version: "v1.0.0",
 *   pipeline: { file: "p.ts", sha256: "sha256:00" }, environmentFile: { file: "e.yml", sha256: "sha256:00" },
 *   options: {}, git: { commit: null, dirty: false }, images: [], graph: {},
 *   createdAt: new Date(0).toISOString(), createdBy: "ada@example.com",
 * });
 * console.assert(plan.digest.startsWith("sha256:"));
 * ```
 */
export async function sealPlan(content: PlanContent): Promise<PlanFile> {
  const { digest: _drop, ...rest } = content as PlanContent & { digest?: string };
  return { ...rest, digest: await digestOf(rest) };
}

/**
 * Reads and checks a plan file: it must be a plan, and its digest must be that of its content
 * (a plan edited after it was made is refused).
 *
 * @param path The plan file.
 * @returns The plan.
 * @throws {InputError} Naming the file and what is wrong.
 *
 * @example
 * ```ts
 * import { readPlanFile } from "./plan.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => readPlanFile("deno.json"), /not a plan/);
 * ```
 */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new InputError(
      `${path}: cannot read the plan (${(err as Error).message}): make one with ` +
        `deno task plan <environment> <version> --out ${path}`,
    );
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `${path} is not a plan file (${issue.path.join(".") || "top"}: ${issue.message}): ` +
        `make one with deno task plan <environment> <version> --out <file>`,
    );
  }
  const plan = parsed.data as PlanFile;
  const sealed = await sealPlan(plan);
  if (sealed.digest !== plan.digest) {
    throw new InputError(
      `${path} was changed after it was made: its content's digest is ${sealed.digest}, ` +
        `not the ${plan.digest} it says (make the plan again and have it approved)`,
    );
  }
  return plan;
}

/**
 * Writes a plan file (its canonical JSON, then a newline).
 *
 * @param path Where.
 * @param plan The plan.
 *
 * @example
 * ```ts ignore
 * import { writePlanFile } from "./plan.ts";
 * await writePlanFile("plan.json", plan);
 * ```
 */
export async function writePlanFile(path: string, plan: PlanFile): Promise<void> {
  await Deno.writeTextFile(path, canonicalJson(plan) + "\n");
}

/**
 * What differs between an approved plan and what would run now, each as one line naming
 * the field, what the plan says and what it is now. Empty: no drift. (When and by whom each
 * was made, and whether the tree had changes, are not drift.)
 *
 * @param plan The approved plan.
 * @param now The plan of what would run now.
 * @param o `images: false` leaves the images out (they are compared once a registry is up).
 * @returns The differences.
 *
 * @example
 * ```ts
 * import { planDrift, type PlanContent } from "./plan.ts";
 * const a = { environment: "dev", version: "v1.0.0", pipeline: { file: "p.ts", sha256: "sha256:1" },
 *   environmentFile: { file: "e.yml", sha256: "sha256:2" }, options: {}, git: { commit: "c", dirty: false },
 *   images: [] } as unknown as PlanContent;
 * console.assert(planDrift(a, { ...a, version: "v1.0.1" })[0]!.startsWith("version"));
 * ```
 */
export function planDrift(
  plan: PlanContent,
  now: PlanContent,
  o: { images?: boolean } = {},
): string[] {
  const out: string[] = [];
  const diff = (what: string, was: unknown, is: unknown) => {
    if (canonicalJson(was ?? null) !== canonicalJson(is ?? null)) {
      out.push(
        `${what}: the plan says ${canonicalJson(was ?? null)}, now ${canonicalJson(is ?? null)}`,
      );
    }
  };
  diff("environment", plan.environment, now.environment);
  diff("version", plan.version, now.version);
  diff(`pipeline file ${now.pipeline.file}`, plan.pipeline.sha256, now.pipeline.sha256);
  diff(
    `environment file ${now.environmentFile.file}`,
    plan.environmentFile.sha256,
    now.environmentFile.sha256,
  );
  diff("options", plan.options, now.options);
  diff("git commit", plan.git.commit, now.git.commit);
  if (o.images === false) return out;
  for (const image of now.images) {
    const planned = plan.images.find((i) => i.reference === image.reference);
    if (!planned) out.push(`image ${image.reference}: not in the plan`);
    else if (planned.digest !== null && planned.digest !== image.digest) {
      out.push(
        `image ${image.reference}: the plan says ${planned.digest}, now ${
          image.digest ?? `unknown (${image.why})`
        }`,
      );
    }
  }
  for (const planned of plan.images) {
    if (!now.images.some((i) => i.reference === planned.reference)) {
      out.push(`image ${planned.reference}: in the plan, not in what would run now`);
    }
  }
  return out;
}
