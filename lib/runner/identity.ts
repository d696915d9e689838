/**
 * Who is running a command, as the records name them (an approval's `by`, a decision's, a
 * migration's `applied_by`): `DEPLOY_ACTOR` when set (for CI, where the job's identity is
 * known), else `git config user.email`, else the OS user (`USER`, `LOGNAME`, or the account's
 * name) — never `unknown`.
 * @module
 */
import { userInfo } from "node:os";

/**
 * The environment variable that names the actor explicitly (e.g. a CI job's identity).
 *
 * @example
 * ```ts
 * import { ACTOR_ENV } from "./identity.ts";
 * console.assert(ACTOR_ENV === "DEPLOY_ACTOR");
 * ```
 */
export const ACTOR_ENV = "DEPLOY_ACTOR";

/** Options of {@linkcode actor}. */
export interface ActorOptions {
  /** The folder `git config` runs in (default: the working directory). */
  readonly cwd?: string;
  /**
   * The process environment, for the lookups and for `git` (default: this process's). Given,
   * it is the whole environment of `git`, so a test can leave out the user's git config.
   */
  readonly env?: Readonly<Record<string, string>>;
}

async function gitEmail(o: ActorOptions): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", {
      args: ["config", "--get", "user.email"],
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
      ...(o.env !== undefined ? { env: { ...o.env }, clearEnv: true } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const email = new TextDecoder().decode(out.stdout).trim();
    return out.success && email !== "" ? email : undefined;
  } catch {
    return undefined; // no git on this machine
  }
}

function osUser(): string {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch { /* no account entry for this uid */ }
  return `uid ${Deno.uid() ?? "?"}`;
}

/**
 * Who is running: `DEPLOY_ACTOR`, else `git config user.email`, else `USER`/`LOGNAME`, else
 * the OS account's name (`uid <n>` when even that has no entry).
 *
 * @param o Where `git` runs, and the environment (default: this process's).
 * @returns The identity, never empty and never `unknown`.
 *
 * @example
 * ```ts
 * import { actor } from "./identity.ts";
 * console.assert(await actor({ env: { DEPLOY_ACTOR: "ci@example.com" } }) === "ci@example.com");
 * ```
 */
export async function actor(o: ActorOptions = {}): Promise<string> {
  const get = (name: string) => (o.env ? o.env[name] : Deno.env.get(name))?.trim() || undefined;
  return get(ACTOR_ENV) ?? await gitEmail(o) ?? get("USER") ?? get("LOGNAME") ?? osUser();
}
