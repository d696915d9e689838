// The README's rehearsal with its companions (redis-server, docker-registry, prometheus,
// prometheus-alertmanager beside the sandbox) and without them (the same command on a PATH
// that lacks the four programs, as on a fresh machine: their checks are skips naming the
// package), in one run, alternating: wall time (deno bench) and the peak RSS of the process
// tree (the runner and every companion), sampled from /proc every 50 ms.
// `deno bench -A bench/companions_bench.ts`; numbers in bench/README.md.

const COMPANIONS = ["redis-server", "docker-registry", "prometheus", "prometheus-alertmanager"];
const root = await Deno.makeTempDir({ prefix: "tracktion-bench-companions-" });

/** A PATH whose /usr/bin lacks the companions (links to everything else). */
async function pathWithout(): Promise<string> {
  const bin = `${root}/bin`;
  await Deno.mkdir(bin);
  for await (const e of Deno.readDir("/usr/bin")) {
    if (COMPANIONS.includes(e.name)) continue;
    await Deno.symlink(`/usr/bin/${e.name}`, `${bin}/${e.name}`).catch(() => {});
  }
  // Not /bin: on Debian it is /usr/bin (merged /usr).
  return `/usr/local/bin:${bin}`;
}
const without = await pathWithout();

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    const tasks = [...Deno.readDirSync(`/proc/${pid}/task`)].map((t) => t.name);
    return tasks.flatMap((t) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/task/${t}/children`).trim().split(/\s+/)
          .filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

function treeRssKb(pid: number): number {
  let total = rssKb(pid);
  for (const c of childrenOf(pid)) total += treeRssKb(c);
  return total;
}

const peaks: Record<string, number[]> = { with: [], without: [] };
let n = 0;

async function rehearse(kind: "with" | "without"): Promise<void> {
  const dir = `${root}/${kind}-${n++}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "deploy",
      "production",
      "v1.2.4",
      "--sandbox",
      "--sandbox-dir",
      `${dir}/sandbox`,
      "--runs-dir",
      `${dir}/runs`,
      "--skip-type-check",
      "--confirm",
      "DEPLOY TO PRODUCTION",
    ],
    env: { NO_COLOR: "1", ...(kind === "without" ? { PATH: without } : {}) },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, treeRssKb(child.pid))), 50);
  const out = await child.output();
  clearInterval(timer);
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`${kind}: exit ${out.code}\n${text.slice(-2000)}`);
  const report = JSON.parse(
    await Deno.readTextFile(text.trimEnd().split("\n").at(-1)!.slice("report: ".length)),
  ) as { stages: { id: string; checks?: { name: string; status: string; message: string }[] }[] };
  const ping = report.stages.find((s) => s.id === "preflight:redis")?.checks
    ?.find((c) => c.name === "Redis connectivity");
  const expected = kind === "with" ? "passed" : "skipped";
  if (ping?.status !== expected) {
    throw new Error(`${kind} companions: Redis connectivity ${ping?.status}: ${ping?.message}`);
  }
  peaks[kind]!.push(peak);
}

for (const kind of ["with", "without"] as const) {
  Deno.bench({
    name: `production rehearsal, ${kind} companions`,
    group: "companions",
    baseline: kind === "without",
    n: 5,
    warmup: 1,
    async fn() {
      await rehearse(kind);
    },
  });
}

globalThis.addEventListener("unload", () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  for (const [kind, xs] of Object.entries(peaks)) {
    console.log(
      `peak RSS of the process tree, ${kind} companions: median ${
        Math.round(median(xs) / 1024)
      } MiB (${xs.map((x) => Math.round(x / 1024)).join(", ")} MiB)`,
    );
  }
  Deno.removeSync(root, { recursive: true });
});
