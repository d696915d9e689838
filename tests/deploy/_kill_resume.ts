// The kill -9 matrix: the production rehearsal (the README's command, in a sandbox of the
// test's own) killed with SIGKILL at a stage boundary or in the middle of a canary step,
// then `deno task report` (a report rebuilt from the journal) and `deno task resume`; the
// end state must be consistent whatever the point: traffic 100% on exactly one version
// whose pods are all Ready, the Lease released, the report valid and verified, and a
// breaching version never at 100%. Each point starts from `_baseline.ts`' cluster: v1.0.0 live
// in production, v1.1.0 (the version deployed) healthy in staging.
import { readState } from "../../lib/sandbox/state.ts";
import { Rehearsal } from "./_deploy.ts";

/** Where the runner is killed: when the journal first shows `event`. */
export interface KillPoint {
  /** A name for the test and the table. */
  readonly name: string;
  /** The journal event to wait for (`type`, `stage`). */
  readonly type: "stage.started" | "stage.finished";
  readonly stage: string;
  /** And then this many gate samples of that stage (the middle of a canary step). */
  readonly samples?: number;
  /** The sandbox fault scenario (a breaching version). */
  readonly scenario?: string;
  /** The run is expected to roll back (the version breaches). */
  readonly breach?: boolean;
}

/** Every kill point of the full matrix (`KILL_POINTS=all`). */
export const KILL_POINTS: readonly KillPoint[] = [
  { name: "after the lock", type: "stage.finished", stage: "lock" },
  { name: "during pre-flight", type: "stage.started", stage: "preflight:cluster" },
  { name: "during migrations", type: "stage.started", stage: "migrate" },
  { name: "after the run record", type: "stage.finished", stage: "record:start" },
  { name: "while the slots deploy", type: "stage.started", stage: "deploy:analysis-service" },
  { name: "in the middle of canary 5%", type: "stage.started", stage: "canary-5", samples: 6 },
  { name: "between canary 5% and 20%", type: "stage.started", stage: "canary-20" },
  { name: "in the middle of canary 20%", type: "stage.started", stage: "canary-20", samples: 6 },
  {
    name: "in the middle of the full rollout",
    type: "stage.started",
    stage: "full-rollout",
    samples: 4,
  },
  { name: "during validation", type: "stage.started", stage: "validate" },
  { name: "after validation", type: "stage.finished", stage: "validate" },
  { name: "during the notifications", type: "stage.started", stage: "notify" },
  // A breaching version: killed once the canary found the breach (a restarted sandbox
  // does not fault versions it restored, so the breach must be in the journal already).
  {
    name: "a breaching version, after its canary failed",
    type: "stage.finished",
    stage: "canary-5",
    scenario: "high-error-rate",
    breach: true,
  },
  {
    name: "a breaching version, in the middle of its rollback",
    type: "stage.started",
    stage: "rollback",
    scenario: "high-error-rate",
    breach: true,
  },
];

/** The points CI runs (the whole matrix is `KILL_POINTS=all`). */
export const SAMPLED = [
  "while the slots deploy",
  "in the middle of canary 20%",
  "during validation",
  "a breaching version, in the middle of its rollback",
];

/** The points to run: `KILL_POINTS=all`, names separated by `;`, or the sample. */
export function pointsToRun(): KillPoint[] {
  const wanted = Deno.env.get("KILL_POINTS");
  if (wanted === "all") return [...KILL_POINTS];
  const names = wanted ? wanted.split(";").map((s) => s.trim()) : SAMPLED;
  return KILL_POINTS.filter((p) => names.includes(p.name));
}

export const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
/** The version the runs deploy, over `_baseline.ts`' cluster (v1.0.0 live, v1.1.0 in staging). */
export const VERSION = "v1.1.0";
export const NS = "tracktion-prod";
const SERVICES = ["analysis-service", "file-watcher", "tracklist-service", "notification-service"];

type Event = { type: string; stage?: string; [k: string]: unknown };

async function events(r: Rehearsal, runId: string): Promise<Event[]> {
  const text = await Deno.readTextFile(`${r.dir}/runs/${runId}/events.jsonl`).catch(() => "");
  return text.split("\n").filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return []; // a line being written
    }
  });
}

/** The production run's id: the last `run <id>` line (staging's rehearsal comes first). */
function lastRunId(out: string): string | undefined {
  return [...out.matchAll(/^run (\S+)$/gm)].at(-1)?.[1];
}

/** What one kill and resume gave. */
export interface KillResult {
  runId: string;
  killedAfterMs: number;
  signal: string | null;
  journalBefore: Event[];
  rebuilt: { code: number; stderr: string; report: Record<string, unknown> };
  resume: { code: number; stdout: string; stderr: string; ms: number };
  report: Record<string, unknown> & { status: string; resumes?: unknown[] };
  verify: { code: number; stdout: string };
  journalAfter: Event[];
}

/** Runs the CLI (`lib/cli/main.ts <args>`) to its end. */
export async function cli(r: Rehearsal, args: string[]) {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "lib/cli/main.ts", ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return {
    code: out.code,
    stdout: d.decode(out.stdout),
    stderr: d.decode(out.stderr),
    ms: performance.now() - t0,
    dir: r.dir,
  };
}

/** A run killed at a point: its id, when, how it ended, its journal then. */
export interface Killed {
  runId: string;
  killedAfterMs: number;
  signal: string | null;
  journalBefore: Event[];
}

/**
 * Runs the production rehearsal of {@linkcode VERSION} and kills it (SIGKILL) at `point`.
 * Time bounds: none of its own; the run is polled until the point (or its end: then the
 * test fails, naming what happened).
 */
export async function killAt(r: Rehearsal, point: KillPoint): Promise<Killed> {
  const extra = [
    ...CONFIRM,
    "--time-scale",
    "240",
    ...(point.scenario ? ["--scenario", point.scenario] : []),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: r.args("deploy", "production", VERSION, extra),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) out += t;
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const t0 = performance.now();
  let runId: string | undefined;
  while (!exited) {
    const at = out.indexOf("deploy → production");
    runId = at < 0 ? undefined : lastRunId(out.slice(at));
    if (runId) {
      const evs = await events(r, runId);
      const at = evs.findIndex((e) => e.type === point.type && e.stage === point.stage);
      const samples = at < 0
        ? 0
        : evs.slice(at).filter((e) => e.type === "gate.sample" && e.stage === point.stage).length;
      if (at >= 0 && samples >= (point.samples ?? 0)) break;
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  const killedAfterMs = performance.now() - t0;
  if (!exited) child.kill("SIGKILL");
  const st = await status;
  await drained;
  if (!runId) throw new Error(`the rehearsal ended before production started:\n${out}`);
  return { runId, killedAfterMs, signal: st.signal, journalBefore: await events(r, runId) };
}

/**
 * Kills the production rehearsal at `point`, rebuilds its report, resumes it.
 *
 * @param timed Told when the resume command starts and ends (a bench).
 */
export async function killAndResume(
  r: Rehearsal,
  point: KillPoint,
  timed?: { start(): void; end(): void },
): Promise<KillResult> {
  const { runId, killedAfterMs, signal, journalBefore } = await killAt(r, point);
  const runsDir = `${r.dir}/runs`;
  const rebuiltRun = await cli(r, ["report", runId, "--runs-dir", runsDir]);
  const rebuilt = {
    code: rebuiltRun.code,
    stderr: rebuiltRun.stderr + rebuiltRun.stdout,
    report: JSON.parse(await Deno.readTextFile(`${runsDir}/${runId}/report.json`)),
  };
  timed?.start();
  const resume = await cli(r, ["resume", runId, "--runs-dir", runsDir]);
  timed?.end();
  const path = /^report: (.+)$/m.exec(resume.stdout)?.[1];
  if (!path) throw new Error(`resume wrote no report:\n${resume.stdout}\n${resume.stderr}`);
  const report = JSON.parse(await Deno.readTextFile(path));
  const verify = await cli(r, ["report", runId, "--runs-dir", runsDir]);
  return {
    runId,
    killedAfterMs,
    signal,
    journalBefore,
    rebuilt,
    resume,
    report,
    verify,
    journalAfter: await events(r, runId),
  };
}

/** One service's end state, as the sandbox saved it. */
export interface ServiceEnd {
  weights: Record<string, number>;
  selector: string | undefined;
  live: { slot: string; version: string | undefined; replicas: number; ready: number }[];
}

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

/** Traffic, live slots and their readiness, and the deploy lock, as last saved. */
export async function endState(
  r: Rehearsal,
): Promise<{ services: Record<string, ServiceEnd>; lockHolder: string | undefined }> {
  const state = await readState(`${r.sandboxDir}/state.json`);
  if (!state) throw new Error(`no saved sandbox state in ${r.sandboxDir}`);
  const objs = state.store.objects.map((o) => o.object as unknown as Obj)
    .filter((o) => o.metadata.namespace === NS);
  const services: Record<string, ServiceEnd> = {};
  for (const s of SERVICES) {
    const route = objs.find((o) => o.kind === "HTTPRoute" && o.metadata.name === s);
    const refs = ((route?.spec?.rules as { backendRefs: { name: string; weight: number }[] }[])
      ?.[0]?.backendRefs) ?? [];
    const weights = Object.fromEntries(refs.map((b) => [b.name.slice(s.length + 1), b.weight]));
    const svc = objs.find((o) => o.kind === "Service" && o.metadata.name === s);
    const live = Object.entries(weights).filter(([, w]) => w > 0).map(([slot]) => {
      const d = objs.find((o) => o.kind === "Deployment" && o.metadata.name === `${s}-${slot}`);
      return {
        slot,
        version: d?.metadata.labels?.version,
        replicas: Number(d?.spec?.replicas ?? 0),
        ready: Number(d?.status?.readyReplicas ?? 0),
      };
    });
    services[s] = {
      weights,
      selector: (svc?.spec?.selector as Record<string, string> | undefined)?.slot,
      live,
    };
  }
  const lease = objs.find((o) => o.kind === "Lease" && o.metadata.name === "tracktion-deploy");
  return {
    services,
    lockHolder: (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity,
  };
}

export { Rehearsal };
