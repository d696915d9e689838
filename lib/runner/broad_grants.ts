/**
 * Grants too broad to give a stage without saying why: a `read` or `write` of `/` or the
 * home folder (or a folder above them), anything overlapping the runner's own files (the
 * runs folder, the sandbox's state and admin kubeconfig, a kubeconfig), a granted folder
 * holding a link to such a place, every environment variable (`env: ["*"]`), or every
 * port of this machine (`net: ["127.0.0.1"]`: the sandbox's API admits loopback requests
 * without a token, as a cluster's insecure port did).
 * @module
 */

/** Entries walked below one granted folder when looking for links out of it. */
export const LINK_WALK_LIMIT = 20_000;

/** What a grant must not reach. */
export interface GuardedPaths {
  /** Folders a grant may be below but not at or above (`/`, the home folder). */
  readonly roots: readonly string[];
  /** Paths a grant may not touch at all: not them, not above them, not inside them. */
  readonly protectedPaths: readonly string[];
}

/**
 * An absolute POSIX path without `.`, `..`, repeated or trailing slashes (as node:path's
 * `resolve` gives it; written here so that a stage Worker, which loads this module, does not
 * load Node's compatibility layer for it).
 */
function normalized(abs: string): string {
  const parts: string[] = [];
  for (const part of abs.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * A path as Deno will check it: absolute (against the working directory now), with
 * links resolved when it exists.
 *
 * @param path The path as the pipeline wrote it.
 * @returns The absolute path.
 *
 * @example
 * ```ts
 * import { absolutePath } from "./broad_grants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(absolutePath("/nonexistent/a/../b/"), "/nonexistent/b");
 * ```
 */
export function absolutePath(path: string): string {
  const abs = normalized(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`);
  try {
    return Deno.realPathSync(abs);
  } catch {
    return abs;
  }
}

/** A loopback host without a port: `127.0.0.1`, `localhost`, `[::1]`, `0.0.0.0`. */
const LOOPBACK_ANY_PORT = /^(?:127(?:\.\d{1,3}){3}|localhost|\[?::1\]?|0\.0\.0\.0)$/i;

const contains = (outer: string, inner: string) =>
  outer === inner || outer === "/" || inner.startsWith(`${outer}/`);

function reaches(path: string, g: GuardedPaths): string | undefined {
  return g.roots.find((r) => contains(path, r)) ??
    g.protectedPaths.find((p) => contains(path, p) || contains(p, path));
}

function linkOut(dir: string, g: GuardedPaths): string | undefined {
  let seen = 0;
  const walk = (folder: string): string | undefined => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(folder)];
    } catch {
      return undefined; // unreadable here: Deno refuses it to the stage as well
    }
    for (const e of entries) {
      if (++seen > LINK_WALK_LIMIT) {
        return `more than ${LINK_WALK_LIMIT} entries to check for links out of it`;
      }
      const path = `${folder}/${e.name}`;
      if (e.isSymlink) {
        const target = absolutePath(path);
        const hit = reaches(target, g);
        if (hit) return `its link ${path} → ${target} reaches ${hit}`;
      } else if (e.isDirectory) {
        const found = walk(path);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(dir);
}

/**
 * Why a stage's declared permissions are too broad, if they are.
 *
 * @param permissions The stage's explicit `read`, `write` and `env` grants.
 * @param guarded What no grant may reach (paths absolute).
 * @returns A phrase naming the grant and what it reaches, or undefined.
 *
 * @example
 * ```ts
 * import { broadGrantReason } from "./broad_grants.ts";
 * import assert from "node:assert/strict";
 * const guarded = { roots: ["/", "/home/me"], protectedPaths: ["/srv/app/.state"] };
 * assert.match(broadGrantReason({ read: ["/home"] }, guarded) ?? "", /holds \/home\/me/);
 * assert.equal(broadGrantReason({ read: ["/nonexistent/certs"] }, guarded), undefined);
 * ```
 */
export function broadGrantReason(
  permissions: {
    read?: readonly string[];
    write?: readonly string[];
    env?: readonly string[];
    net?: readonly string[];
  },
  guarded: GuardedPaths,
): string | undefined {
  const g: GuardedPaths = {
    roots: [...new Set(guarded.roots.map(absolutePath))],
    protectedPaths: [...new Set(guarded.protectedPaths.map(absolutePath))],
  };
  for (const kind of ["read", "write"] as const) {
    for (const p of permissions[kind] ?? []) {
      const abs = absolutePath(p);
      const hit = reaches(abs, g);
      if (hit) {
        return `${kind} access to ${JSON.stringify(p)}${hit === abs ? "" : ` (it holds ${hit})`}`;
      }
      let isDir = false;
      try {
        isDir = Deno.statSync(abs).isDirectory;
      } catch { /* does not exist (yet): nothing below it to check */ }
      const link = isDir ? linkOut(abs, g) : undefined;
      if (link) return `${kind} access to ${JSON.stringify(p)} (${link})`;
    }
  }
  const wild = (permissions.env ?? []).find((name) => name.includes("*"));
  if (wild !== undefined) {
    return `env access to ${JSON.stringify(wild)} (every variable it matches)`;
  }
  const loopback = (permissions.net ?? []).find((host) => LOOPBACK_ANY_PORT.test(host));
  if (loopback !== undefined) {
    return `net access to ${
      JSON.stringify(loopback)
    } (every port of this machine, the sandbox's API among them)`;
  }
  return undefined;
}
