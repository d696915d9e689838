/**
 * When each deployed change was committed, from git, for the lead time for changes: the
 * commit the version's tag points at (`v1.2.4`, annotated or not), else the commit the run
 * recorded it ran from; its committer date. Two git calls in all, however many runs: every
 * tag at once (`git for-each-ref`), then every remaining commit at once (`git cat-file
 * --batch`).
 * @module
 */
import type { CommitTime } from "./dora.ts";
import type { AuditedRun } from "./history.ts";

async function git(
  repo: string,
  args: string[],
  stdin?: string,
): Promise<Uint8Array | undefined> {
  try {
    const child = new Deno.Command("git", {
      args: ["-C", repo, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const out = await child.output();
    return out.success ? out.stdout : undefined;
  } catch {
    return undefined;
  }
}

/** Every tag's commit and committer time (seconds), by tag name. */
async function tagCommits(repo: string): Promise<Map<string, { commit: string; at: number }>> {
  const format = "%(refname:strip=2)%09%(objectname)%09%(*objectname)%09" +
    "%(committerdate:unix)%09%(*committerdate:unix)";
  const out = await git(repo, ["for-each-ref", `--format=${format}`, "refs/tags"]);
  const tags = new Map<string, { commit: string; at: number }>();
  for (const line of new TextDecoder().decode(out ?? new Uint8Array()).split("\n")) {
    const [name, object, deref, at, derefAt] = line.split("\t");
    if (!name) continue;
    const commit = deref || object;
    const seconds = Number(derefAt || at);
    if (commit && Number.isFinite(seconds) && seconds > 0) tags.set(name, { commit, at: seconds });
  }
  return tags;
}

/** Each commit's committer time (seconds), for the commits git has. */
async function commitDates(repo: string, commits: readonly string[]): Promise<Map<string, number>> {
  const dates = new Map<string, number>();
  if (commits.length === 0) return dates;
  const out = await git(repo, ["cat-file", "--batch"], commits.join("\n") + "\n");
  if (!out) return dates;
  const decoder = new TextDecoder();
  let at = 0;
  for (const asked of commits) {
    const eol = out.indexOf(10, at);
    if (eol < 0) break;
    const header = decoder.decode(out.subarray(at, eol)).split(" ");
    at = eol + 1;
    if (header[1] === "missing" || header.length < 3) continue;
    const size = Number(header[2]);
    const body = decoder.decode(out.subarray(at, at + size));
    at += size + 1;
    if (header[1] !== "commit") continue;
    const committer = /^committer .* (\d+) [+-]\d{4}$/m.exec(body);
    if (committer) dates.set(asked, Number(committer[1]));
  }
  return dates;
}

/**
 * Finds the commit time of each deploy's change: its version's tag (`<version>`, or with or
 * without a leading `v`), else the commit the run recorded.
 *
 * @param runs The runs (only those with a version are looked up).
 * @param options The git repository (default: the working directory).
 * @returns The commit times by run id; a run git knows nothing of is left out.
 *
 * @example
 * ```ts
 * import { commitTimes } from "./commit_times.ts";
 * import assert from "node:assert/strict";
 * const none = await commitTimes([], { repo: await Deno.makeTempDir() });
 * assert.equal(none.size, 0);
 * ```
 */
export async function commitTimes(
  runs: readonly AuditedRun[],
  options: { readonly repo?: string } = {},
): Promise<Map<string, CommitTime>> {
  const repo = options.repo ?? ".";
  const deploys = runs.filter((r) => r.version !== undefined);
  const out = new Map<string, CommitTime>();
  if (deploys.length === 0) return out;
  const tags = await tagCommits(repo);
  const untagged: AuditedRun[] = [];
  for (const r of deploys) {
    const v = r.version!;
    const tag = tags.get(v) ?? tags.get(v.startsWith("v") ? v.slice(1) : `v${v}`);
    if (tag) out.set(r.runId, { commit: tag.commit, committedAtMs: tag.at * 1000, source: "tag" });
    else if (r.commit && /^[0-9a-f]{4,64}$/.test(r.commit)) untagged.push(r);
  }
  const dates = await commitDates(repo, [...new Set(untagged.map((r) => r.commit!))]);
  for (const r of untagged) {
    const at = dates.get(r.commit!);
    if (at !== undefined) {
      out.set(r.runId, { commit: r.commit!, committedAtMs: at * 1000, source: "run-commit" });
    }
  }
  return out;
}
