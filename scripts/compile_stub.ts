/**
 * The POSIX sh stub at the head of the `tracktion-deploy` executable that
 * `deno task compile` writes (scripts/compile.ts): everything after the stub's last byte is the
 * payload, a tar.gz of the Deno runtime, the project and its npm packages.
 *
 * On its first run the stub checks the payload against the SHA-256 written in it (a changed
 * byte is refused: exit 1, nothing extracted), unpacks it into a temporary folder beside the
 * cache folder and renames that into place, `${XDG_CACHE_HOME:-$HOME/.cache}/tracktion-deploy/<sha>`
 * (a rename is atomic: of two first runs at once, one wins and the other drops its copy); later
 * runs find the folder and start at once. Then it `exec`s the runtime on the CLI, so the exit
 * code and the signals are the CLI's own.
 *
 * Where it runs: in a project folder (the working directory has `environments/` or
 * `pipelines/`), the CLI runs there, as `deno task` does. Elsewhere it runs the project the
 * binary carries, in a folder of hard links to it under the cache (one per working directory)
 * whose `.tracktion` is a link to the working directory's own: runs, reports and the sandbox's state are kept
 * where the command was run.
 * @module
 */

/** The width of the payload's offset in the stub: the stub's length does not depend on it. */
const OFFSET_WIDTH = 12;

/**
 * What the stub needs to know of its payload.
 *
 * @example
 * ```ts
 * import type { StubFacts } from "./compile_stub.ts";
 * const facts: StubFacts = { sha256: "ab".repeat(32), denoVersion: "2.9.6" };
 * console.assert(facts.sha256.length === 64);
 * ```
 */
export interface StubFacts {
  /** The payload's SHA-256, lowercase hex: its integrity and its cache folder's name. */
  readonly sha256: string;
  /** The version of the Deno runtime inside (named in the stub's header). */
  readonly denoVersion: string;
}

/**
 * The stub's text, with the byte offset of the payload that follows it written in.
 *
 * @param facts The payload's digest and runtime version.
 * @returns The sh script, ending with a newline; the payload starts right after it.
 *
 * @example
 * ```ts
 * import { stubScript } from "./compile_stub.ts";
 * const stub = stubScript({ sha256: "ab".repeat(32), denoVersion: "2.9.6" });
 * console.assert(stub.startsWith("#!/bin/sh\n"));
 * const offset = Number(/^offset=0*(\d+)$/m.exec(stub)![1]);
 * console.assert(offset === new TextEncoder().encode(stub).length + 1);
 * ```
 */
export function stubScript(facts: StubFacts): string {
  if (!/^[0-9a-f]{64}$/.test(facts.sha256)) {
    throw new TypeError(`Cannot write the stub: not a SHA-256: ${facts.sha256}`);
  }
  const text = (offset: number) => STUB(facts, String(offset).padStart(OFFSET_WIDTH, "0"));
  const length = new TextEncoder().encode(text(0)).length;
  // tail -c +N starts at byte N, counting from 1.
  return text(length + 1);
}

function STUB(facts: StubFacts, offset: string): string {
  return `#!/bin/sh
# tracktion-deploy: one executable holding the Deno ${facts.denoVersion} runtime, the Tracktion
# Deploy project and its npm packages (made by \`deno task compile\`; not \`deno compile\`'s format).
# What follows this script is a tar.gz: it is unpacked once into the cache, then run.
set -eu
sha=${facts.sha256}
offset=${offset}
die() { printf 'tracktion-deploy: %s\\n' "$*" >&2; exit 1; }
self=$0
case $self in */*) ;; *) self=$(command -v -- "$self") || die "cannot find myself ($0)" ;; esac
[ -r "$self" ] || die "cannot read myself: $self"
if [ -n "\${XDG_CACHE_HOME:-}" ]; then base=$XDG_CACHE_HOME/tracktion-deploy
elif [ -n "\${HOME:-}" ]; then base=$HOME/.cache/tracktion-deploy
else die "neither XDG_CACHE_HOME nor HOME is set: nowhere to unpack the runtime"; fi
root=$base/$sha
if [ ! -x "$root/deno" ]; then
  mkdir -p "$base" || die "cannot make $base"
  got=$(tail -c +"$offset" "$self" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$sha" ] || die "the payload of $self is corrupted (SHA-256 $got, expected $sha): get the binary again"
  printf 'tracktion-deploy: unpacking the runtime into %s (once)\\n' "$root" >&2
  tmp=$(mktemp -d "$base/.unpack-$sha.XXXXXX") || die "cannot make a folder in $base"
  if ! tail -c +"$offset" "$self" | tar -xzf - -C "$tmp"; then rm -rf "$tmp"; die "cannot unpack into $tmp"; fi
  # Atomic: a concurrent first run that got there first keeps its folder, this copy goes.
  mv -T "$tmp" "$root" 2>/dev/null || rm -rf "$tmp"
  [ -x "$root/deno" ] || die "cannot unpack into $root"
fi
project=$root/project
if [ ! -d environments ] && [ ! -d pipelines ]; then
  # No project here: the one carried, seen through links, with this folder's own state.
  here=$(pwd -P)
  view=$root/views/$(printf '%s' "$here" | sha256sum | cut -c1-32)
  if [ ! -d "$view" ]; then
    mkdir -p "$root/views"
    vtmp=$(mktemp -d "$root/views/.view.XXXXXX")
    # Hard links, not symbolic ones: a stage's Worker is granted the module paths it loads,
    # and a symbolic link would show it two paths for one file.
    cp -al "$project/." "$vtmp/" || die "cannot link the project into $vtmp"
    rm -rf "$vtmp/.tracktion"
    ln -s "$here/.tracktion" "$vtmp/.tracktion"
    mv -T "$vtmp" "$view" 2>/dev/null || rm -rf "$vtmp"
  fi
  mkdir -p "$here/.tracktion" || die "cannot make $here/.tracktion (the runs and the sandbox go there)"
  cd "$view"
  project=$view
fi
DENO_DIR=$root/deno_dir DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 exec "$root/deno" run -A \\
  --cached-only --frozen --unstable-worker-options --config "$project/deno.json" \\
  "$project/lib/cli/main.ts" "$@"
`;
}
