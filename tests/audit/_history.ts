/**
 * A synthetic history of runs for the audit's tests: real journals written with `Journal`
 * (hash-chained, stamped at chosen times by a clock the test sets), each run's
 * `run.started` linking to the previous non-dry run as the runner does, a `record` stage
 * that uses the `run` capability and takes a checkpoint (what the cluster's record keeps),
 * reports beside them; a saved `deployment-info` ConfigMap built from the checkpoints; and
 * a git repository with commits and tags at chosen times; runs signed with a key the
 * test's own environment files trust.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { Journal } from "../../lib/journal/mod.ts";
import { generateApproverKeys } from "../../lib/approval/signatures.ts";
import { type RunSigningKey, signingKeyFromPem } from "../../lib/audit/signing_key.ts";
import { signRun } from "../../lib/audit/run_statement.ts";
import type { Clock } from "../../lib/clock/mod.ts";
import {
  type Checkpoint,
  CHECKPOINT_ANNOTATION,
  HISTORY_ANNOTATION,
  PREVIOUS_RUN_ANNOTATION,
} from "../../lib/audit/cluster_record.ts";

/** A link to a run, as `run.started` records it. */
export interface Link {
  runId: string;
  digest: string;
  events?: number;
}

/** One run to write. */
export interface RunSpec {
  runId: string;
  startedAt: string;
  finishedAt?: string | null;
  status?: "succeeded" | "failed" | "rolled_back" | "interrupted";
  environment?: string;
  pipeline?: string;
  version?: string;
  dryRun?: boolean;
  commit?: string | null;
  rollback?: { performed: boolean; succeeded: boolean | null };
  /** Whether its record stage ran (a checkpoint), default: succeeded or rolled back deploys. */
  checkpoint?: boolean;
  /** A `runId` the run's stage hands on (what a rollback run rolled back). */
  outputRunId?: string;
  /** Override the link to the previous run (default: the last non-dry run written). */
  previous?: Link | null;
  /** More stages (started and finished, with an output), for a journal of a real size. */
  filler?: number;
  /** Where it went (`target.kind` in run.started and the report); none by default. */
  target?: "sandbox" | "kubernetes";
}

/** What was written for a run. */
export interface WrittenRun {
  runId: string;
  dir: string;
  digest: string;
  events: number;
  checkpoint: Checkpoint | undefined;
  previous: Link | null;
}

/** A clock whose time the test sets. */
function settableClock(startMs: number): Clock & { set(ms: number): void } {
  let t = startMs;
  return {
    kind: "virtual",
    scale: Infinity,
    now: () => t,
    since: (s) => t - s,
    sleep: () => Promise.resolve(),
    schedule: () => () => {},
    timeout: () => new AbortController().signal,
    hold: () => () => {},
    track: (_what, work) => work,
    set(ms: number) {
      t = ms;
    },
  };
}

const NO_GRANT = {
  read: [],
  write: [],
  net: [],
  env: [],
  run: [],
  ffi: [],
  proxied: [] as string[],
  fullTrust: false,
};

/**
 * Writes one run folder: its journal (and report unless `report: false`).
 */
export async function writeRun(
  runsDir: string,
  spec: RunSpec,
  previous: Link | null,
  key?: RunSigningKey,
): Promise<WrittenRun> {
  const dir = join(runsDir, spec.runId);
  await Deno.mkdir(join(dir, "logs"), { recursive: true });
  const start = Date.parse(spec.startedAt);
  const end = spec.finishedAt ? Date.parse(spec.finishedAt) : undefined;
  const clock = settableClock(start);
  const journal = await Journal.open(join(dir, "events.jsonl"), { clock });
  const status = spec.status ?? "succeeded";
  const deploy = spec.version !== undefined;
  const checkpointing = spec.checkpoint ??
    (deploy && !spec.dryRun && (status === "succeeded" || status === "rolled_back"));
  await journal.append({
    type: "run.started",
    runId: spec.runId,
    pipeline: spec.pipeline ?? "deploy",
    environment: spec.environment ?? "production",
    ...(spec.version !== undefined ? { version: spec.version } : {}),
    dryRun: spec.dryRun ?? false,
    who: { user: "tester", host: "test" },
    git: { commit: spec.commit ?? null, dirty: false, branch: "main" },
    pipelineFile: "pipelines/deploy.ts",
    ...(spec.target ? { target: { kind: spec.target } } : {}),
    stages: [
      { id: "preflight", kind: "normal", rollback: false, needs: [], permissions: NO_GRANT },
      {
        id: "record",
        kind: "normal",
        rollback: false,
        needs: ["preflight"],
        permissions: { ...NO_GRANT, proxied: ["kubernetes", "run"] },
      },
    ],
    previous,
  });
  const step = (end === undefined ? 60_000 : end - start) / 4;
  clock.set(start + step);
  await journal.append({ type: "stage.started", stage: "preflight" });
  await journal.append({
    type: "stage.finished",
    stage: "preflight",
    status: "succeeded",
    durationMs: step,
    ...(spec.outputRunId ? { output: { runId: spec.outputRunId, services: [] } } : {}),
  });
  for (let i = 0; i < (spec.filler ?? 0); i++) {
    await journal.append({ type: "stage.started", stage: `deploy:service-${i}` });
    await journal.append({
      type: "stage.finished",
      stage: `deploy:service-${i}`,
      status: "succeeded",
      durationMs: 1234,
      output: { service: `service-${i}`, slot: "green", version: spec.version, replicas: 3 },
    });
  }
  let checkpoint: Checkpoint | undefined;
  if (checkpointing) {
    clock.set(start + 2 * step);
    await journal.append({ type: "stage.started", stage: "record" });
    checkpoint = { runId: spec.runId, events: journal.length, digest: journal.digest };
    await journal.append({
      type: "stage.finished",
      stage: "record",
      status: "succeeded",
      durationMs: step,
      output: checkpoint,
    });
  }
  if (end !== undefined) {
    clock.set(end);
    const rollback = spec.rollback ??
      (status === "rolled_back"
        ? { performed: true, succeeded: true }
        : { performed: false, succeeded: null });
    await journal.append({ type: "run.finished", status, rollback: { stages: [], ...rollback } });
  }
  await journal.close();
  if (end !== undefined) {
    const report = {
      schemaVersion: 1,
      runId: spec.runId,
      pipeline: { name: spec.pipeline ?? "deploy", file: "pipelines/deploy.ts" },
      environment: spec.environment ?? "production",
      ...(spec.version !== undefined ? { version: spec.version } : {}),
      dryRun: spec.dryRun ?? false,
      status,
      target: spec.target ? { kind: spec.target } : {},
      startedAt: spec.startedAt,
      finishedAt: spec.finishedAt,
      events: { file: "events.jsonl", count: journal.length, digest: journal.digest },
    };
    await Deno.writeTextFile(join(dir, "report.json"), JSON.stringify(report));
    if (key && !spec.dryRun) await signRun(dir, report, key, { now: end });
  }
  return {
    runId: spec.runId,
    dir,
    digest: journal.digest,
    events: journal.length,
    checkpoint,
    previous,
  };
}

/**
 * Writes runs in order, each linking to the last non-dry run of its environment and target
 * written, as the runner does.
 */
export async function writeHistory(
  runsDir: string,
  specs: readonly RunSpec[],
  key?: RunSigningKey,
): Promise<Map<string, WrittenRun>> {
  const out = new Map<string, WrittenRun>();
  const last = new Map<string, Link>();
  for (const spec of specs) {
    const env = `${spec.environment ?? "production"} ${spec.target ?? ""}`;
    const previous = spec.previous !== undefined ? spec.previous : last.get(env) ?? null;
    const written = await writeRun(runsDir, spec, previous, key);
    out.set(spec.runId, written);
    if (!spec.dryRun) {
      last.set(env, { runId: written.runId, digest: written.digest, events: written.events });
    }
  }
  return out;
}

/** A `kubectl get configmap deployment-info -o json` holding these checkpoints. */
export function deploymentInfo(
  checkpoints: readonly Checkpoint[],
  o: { previous?: Link | null; namespace?: string } = {},
): Record<string, unknown> {
  const head = checkpoints.at(-1);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "deployment-info",
      namespace: o.namespace ?? "tracktion-prod",
      annotations: {
        ...(head ? { [CHECKPOINT_ANNOTATION]: JSON.stringify(head) } : {}),
        ...(o.previous !== undefined
          ? { [PREVIOUS_RUN_ANNOTATION]: JSON.stringify(o.previous) }
          : {}),
        [HISTORY_ANNOTATION]: JSON.stringify(checkpoints),
      },
    },
    data: { version: "1.0.0" },
  };
}

/** The checkpoints of the written runs, in the order written. */
export function checkpointsOf(written: ReadonlyMap<string, WrittenRun>): Checkpoint[] {
  return [...written.values()].flatMap((w) => (w.checkpoint ? [w.checkpoint] : []));
}

/** A fresh run signing key. */
export async function newKey(): Promise<RunSigningKey> {
  const k = await generateApproverKeys();
  return await signingKeyFromPem(k.privateKeyPem, { source: "file", where: "test key" });
}

/**
 * A copy of the project's environment files where production trusts `key` (and requires a
 * signature, as by default) and the other environments do not require one.
 */
export async function environmentsTrusting(key: RunSigningKey): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "audit-envs-" });
  const source = new URL("../../environments/", import.meta.url);
  for await (const entry of Deno.readDir(source)) {
    if (!entry.name.endsWith(".yml")) continue;
    const doc = parse(await Deno.readTextFile(new URL(entry.name, source)));
    doc.deployment.audit = entry.name === "production.yml"
      ? { public_keys: [key.publicKey], require_signature: true }
      : { require_signature: false };
    await Deno.writeTextFile(join(dir, entry.name), stringify(doc));
  }
  return dir;
}

/**
 * Rewrites a run's journal as someone without the key would: the events changed by `edit`,
 * every hash recomputed (the chain verifies on its own), and the report's digest updated.
 */
export async function rechain(
  dir: string,
  edit: (events: Record<string, unknown>[]) => void,
): Promise<string> {
  const path = join(dir, "events.jsonl");
  const events = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
  edit(events);
  let prev = "0".repeat(64);
  const lines: string[] = [];
  for (const e of events) {
    const line = JSON.stringify({ ...e, prev });
    prev = createHash("sha256").update(line).digest("hex");
    lines.push(line);
  }
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  const reportPath = join(dir, "report.json");
  const report = JSON.parse(await Deno.readTextFile(reportPath));
  report.events.digest = prev;
  report.events.count = lines.length;
  await Deno.writeTextFile(reportPath, JSON.stringify(report));
  return prev;
}

/** Runs git in `repo` with the committer and author dates set to `at` (child only). */
async function git(repo: string, args: string[], at?: string): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-C", repo, "-c", "user.name=Tester", "-c", "user.email=t@example.com", ...args],
    env: at ? { GIT_COMMITTER_DATE: at, GIT_AUTHOR_DATE: at } : {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * A git repository with one commit per entry at its time, tagged when a tag is given
 * (annotated when `annotated`). Returns the commits by tag (or by index when untagged).
 */
export async function gitRepo(
  commits: readonly { at: string; tag?: string; annotated?: boolean }[],
): Promise<{ repo: string; shas: string[] }> {
  const repo = await Deno.makeTempDir({ prefix: "audit-git-" });
  await git(repo, ["init", "-q", "-b", "main"]);
  const shas: string[] = [];
  for (const [i, c] of commits.entries()) {
    await git(repo, ["commit", "-q", "--allow-empty", "-m", `change ${i}`], c.at);
    shas.push(await git(repo, ["rev-parse", "HEAD"]));
    if (c.tag) {
      await git(repo, c.annotated ? ["tag", "-a", c.tag, "-m", c.tag] : ["tag", c.tag], c.at);
    }
  }
  return { repo, shas };
}
