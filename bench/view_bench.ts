// The live view's redraw cost (issue 17).
//
// `deno run -A bench/view_bench.ts`: one production canary deploy (a sandbox of its own on the
// virtual clock, the staging rehearsal first) run twice by the real CLI, once with its output
// into a pipe (plain lines) and once in a real terminal (tmux, 160×50: the live region), the
// same seed, one after the other in this one run of the bench; each child's CPU (user + system,
// from the shell that waited for it: /proc's cutime + cstime) and wall time, and their ratio.
// Beside it, in-process: one frame of the region for production's graph mid-canary (31 stages,
// 4 services × 2 gates, traffic) rendered and written to a sink, per frame.
//
// `deno bench -A bench/view_bench.ts` (`deno task bench`) runs the in-process frame alone.
import { RunView } from "../lib/cli/view.ts";
import { parseGate } from "../lib/dsl/gate.ts";
import type { GateSpec } from "../lib/dsl/stage.ts";
import { metrics } from "../pipelines/metrics.ts";
import { Tmux } from "../tests/view/_tmux.ts";

const STAGES = [
  "lock",
  "preflight:cluster",
  "preflight:database",
  "preflight:redis",
  "preflight:monitoring",
  "preflight:images",
  "preflight:backups",
  "preflight:network",
  "preflight:storage",
  "preflight:record",
  "preflight:production",
  "github:start",
  "confirm",
  "migrate",
  "record:start",
  "deploy:analysis-service",
  "deploy:file-watcher",
  "deploy:tracklist-service",
  "deploy:notification-service",
  "monitoring",
  "tests",
  "canary-5",
  "canary-20",
  "full-rollout",
  "validate",
  "record",
  "schedule-cleanup",
  "rollback",
  "notify",
  "github:finish",
  "unlock",
];
const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];

function gate(source: string): GateSpec {
  return { gate: parseGate(source, metrics) } as unknown as GateSpec;
}

/** A live view mid-canary: every stage before canary-5 done, 4 services × 2 gates sampled. */
function midCanary(sink: { write(t: string): void }): { view: RunView; look: (n: number) => void } {
  const view = new RunView(sink, {
    tty: true,
    colour: true,
    json: false,
    size: () => ({ columns: 160, rows: 50 }),
    tickMs: 3_600_000,
    frameMs: 3_600_000,
  });
  view.runStarted({
    runId: "bench",
    runDir: "/nonexistent",
    title: "deploy → production @ v1.2.4",
    stages: STAGES.map((id) => ({ id })),
  });
  const record = (id: string) => ({
    id,
    status: "succeeded" as const,
    startedAt: "2026-01-01T00:00:00.000Z",
    durationMs: 10,
    checks: [],
    gates: [],
    attempts: [],
  });
  for (const id of STAGES.slice(0, 21)) view.stage(record(id) as never, false);
  view.stage(record("canary-5") as never, true);
  for (const s of SERVICES) view.notice("canary-5", `${s}: blue 95% / green 5%`);
  const gates = [gate("error_rate < 1%"), gate("p95_latency < 2000ms")];
  const look = (n: number) => {
    const at = new Date(Date.UTC(2026, 0, 1) + n * 10_000).toISOString();
    for (const g of gates) {
      for (const s of SERVICES) {
        view.sample("canary-5", g, { namespace: "tracktion-prod", service: s, slot: "green" }, {
          at,
          value: 0.1 + (n % 7) / 10,
          verdict: "successful",
          labels: { namespace: "tracktion-prod", service: s, slot: "green" },
          evidence: { requests: 2900 + n, windowMs: 10_000, errors: 3 },
        } as never, { look: n, of: 90, everyMs: 10_000 });
      }
    }
  };
  look(1);
  return { view, look };
}

/** One frame: what `pause()` draws (the region, then a frozen copy of it), written to `sink`. */
function frames(n: number): { msPerFrame: number; bytesPerFrame: number } {
  let bytes = 0;
  const { view, look } = midCanary({ write: (t) => bytes += t.length });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    look(2 + (i % 88));
    view.pause();
    view.resume();
  }
  const ms = performance.now() - t0;
  view.close();
  // pause() draws twice (the frame, then the frozen region).
  return { msPerFrame: ms / n / 2, bytesPerFrame: bytes / n / 2 };
}

/** A shell line that runs `cmd`, then prints the CPU of what it waited for (clock ticks). */
function timed(cmd: string, out: string): string {
  return `${cmd}; rc=$?; cat /proc/$$/stat | awk '{print "cpu", $16 + $17}' > ${out}; ` +
    `echo done >> ${out}; exit $rc`;
}

async function cliRun(live: boolean): Promise<{ cpuS: number; wallS: number }> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-view-bench-" });
  const args = [
    "deno",
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
    "'DEPLOY TO PRODUCTION'",
    "--option",
    "lock-seconds=1200",
  ].join(" ");
  const out = `${dir}/cpu.txt`;
  const hz = 100; // USER_HZ: /proc's clock ticks
  const t0 = performance.now();
  if (live) {
    const tmux = new Tmux(`bench-${Date.now()}`);
    // The shell line goes in a file: tmux's own shell would expand its `$$` and `$16`.
    await Deno.writeTextFile(`${dir}/run.sh`, timed(args, out));
    await tmux.start(`sh ${dir}/run.sh`, 160, 50, { DENO_NO_PROMPT: "1" });
    await tmux.until(() => {
      try {
        return Deno.readTextFileSync(out).includes("done");
      } catch {
        return false;
      }
    }, "the deploy ended");
    await tmux.kill();
  } else {
    await new Deno.Command("sh", { args: ["-c", timed(`${args} > /dev/null 2>&1`, out)] }).output();
  }
  const wallS = (performance.now() - t0) / 1000;
  const ticks = Number(/^cpu (\d+)/m.exec(await Deno.readTextFile(out))![1]);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return { cpuS: ticks / hz, wallS };
}

if (import.meta.main) {
  const f = frames(2_000);
  console.log(
    `frame: ${(f.msPerFrame * 1000).toFixed(0)} µs, ${f.bytesPerFrame.toFixed(0)} bytes ` +
      `(at most 20 frames a second: ${(f.msPerFrame * 20 / 10).toFixed(2)}% of a core)`,
  );
  const plain = await cliRun(false);
  const live = await cliRun(true);
  console.log(`plain (pipe): CPU ${plain.cpuS.toFixed(2)} s, wall ${plain.wallS.toFixed(1)} s`);
  console.log(`live (tmux):  CPU ${live.cpuS.toFixed(2)} s, wall ${live.wallS.toFixed(1)} s`);
  console.log(
    `live / plain: CPU ×${(live.cpuS / plain.cpuS).toFixed(3)}, wall ×${
      (live.wallS / plain.wallS).toFixed(3)
    }`,
  );
} else {
  const { view, look } = midCanary({ write: () => {} });
  let n = 2;
  Deno.bench(
    "the live region: one frame mid-canary (31 stages, 4 services × 2 gates), 160×50",
    () => {
      look(n++ % 88 + 2);
      view.pause();
      view.resume();
    },
  );
}
