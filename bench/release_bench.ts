/**
 * Release management: notes for a large range of commits, and a whole dry run on
 * a real git repository (2,000 commits since the last tag, made with fast-import).
 *
 * `deno bench -A bench/release_bench.ts`
 */
import { classifyCommits, type Commit } from "../lib/release/conventional.ts";
import { Git } from "../lib/release/git.ts";
import { renderReleaseNotes } from "../lib/release/notes.ts";
import { release } from "../lib/release/release.ts";
import { parseVersion } from "../lib/release/semver.ts";

const COMMITS = 2_000;
const TYPES = ["feat", "fix", "perf", "docs", "chore", "refactor"];
const AUTHORS = ["Ada Lovelace", "Sarah Johnson", "Mike Chen", "Lisa Wang", "John Smith"];

function message(i: number): string {
  const type = TYPES[i % TYPES.length]!;
  const breaking = i % 97 === 0 ? "!" : "";
  return `${type}(area${i % 7})${breaking}: change number ${i} (#${i + 1})`;
}

async function gitIn(cwd: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command("git", {
    args,
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  if (output.code !== 0) throw new Error(new TextDecoder().decode(output.stderr));
}

/** A repository: v1.0.0, then COMMITS commits; a bare origin with main pushed. */
async function makeRepo(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "release_bench_" });
  const work = `${root}/work`;
  await Deno.mkdir(work);
  await gitIn(root, ["init", "-q", "--bare", "-b", "main", `${root}/remote.git`]);
  await gitIn(work, ["init", "-q", "-b", "main"]);
  const lines: string[] = [];
  for (let i = 0; i <= COMMITS; i++) {
    const author = AUTHORS[i % AUTHORS.length]!;
    const text = i === 0 ? "chore: initial" : message(i);
    const data = new TextEncoder().encode(text).length;
    lines.push(
      "commit refs/heads/main",
      `mark :${i + 1}`,
      `author ${author} <a${i % 5}@example.com> ${1_700_000_000 + i} +0000`,
      `committer ${author} <a${i % 5}@example.com> ${1_700_000_000 + i} +0000`,
      `data ${data}`,
      text,
      ...(i === 0 ? [] : [`from :${i}`]),
      `M 644 inline file_${i % 50}.txt`,
      `data ${String(i).length}`,
      String(i),
      "",
    );
    if (i === 0) lines.push("reset refs/tags/v1.0.0", "from :1", "");
  }
  await gitIn(work, ["fast-import", "--quiet"], lines.join("\n") + "\n");
  await gitIn(work, ["checkout", "-q", "main"]);
  await gitIn(work, ["remote", "add", "origin", `${root}/remote.git`]);
  await gitIn(work, ["push", "-q", "origin", "main", "v1.0.0"]);
  return root;
}

const root = await makeRepo();
const work = `${root}/work`;
const commits: Commit[] = await new Git(work).commitsSince("v1.0.0");
if (commits.length !== COMMITS) {
  throw new Error(`expected ${COMMITS} commits, got ${commits.length}`);
}

Deno.bench("parseVersion() of a pre-release tag", () => {
  parseVersion("v12.34.56-rc.7");
});

Deno.bench(`classifyCommits() + renderReleaseNotes() for ${COMMITS} commits`, () => {
  renderReleaseNotes(classifyCommits(commits), {
    version: { major: 1, minor: 1, patch: 0 },
    previous: "v1.0.0",
    date: "2024-01-15",
    repository: "tracktion/tracktion",
  });
});

Deno.bench(`Git.commitsSince() reads ${COMMITS} commits with real git log`, async () => {
  await new Git(work).commitsSince("v1.0.0");
});

Deno.bench(
  `release() dry run, ${COMMITS} commits since the last tag (real git, no GitHub)`,
  async () => {
    await release({ cwd: work, bump: "minor", dryRun: true, github: false, log: () => {} });
  },
);

globalThis.addEventListener("unload", () => {
  Deno.removeSync(root, { recursive: true });
});
