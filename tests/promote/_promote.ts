/**
 * What the promote tests share: the CLI as a child process (`deno run -A lib/cli/main.ts`),
 * a train running in its own process whose output is read as it comes, environment files
 * whose production approvers have keys made here, and the train's summary and reports.
 * @module
 */
import assert from "node:assert/strict";

/** Who deploys (never an approver of their own deploy). */
export const DEPLOYER = "deployer@example.com";
/** Production's confirmation phrase. */
export const PHRASE = "DEPLOY TO PRODUCTION";
const decoder = new TextDecoder();

/** The CLI, run to its end. */
export async function cli(args: string[], o: { task?: boolean } = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: o.task ? ["task", "-q", ...args] : ["run", "-A", "lib/cli/main.ts", ...args],
    env: { DEPLOY_ACTOR: DEPLOYER, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The folders of one test: its sandbox, runs and environment files (copied). */
export async function workDir(prefix: string) {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.mkdir(`${dir}/envs`);
  for (const name of ["development", "staging", "production"]) {
    await Deno.copyFile(`environments/${name}.yml`, `${dir}/envs/${name}.yml`);
  }
  return dir;
}

/** The flags every train of a test gets: its sandbox, runs and environments. */
export function where(dir: string): string[] {
  return [
    "--sandbox",
    "--sandbox-dir",
    `${dir}/sb`,
    "--runs-dir",
    `${dir}/runs`,
    "--environments-dir",
    `${dir}/envs`,
  ];
}

/** Production's approvers become Ada, Bob and the deployer, with keys made here. */
export async function withApprovers(dir: string): Promise<void> {
  const keys: Record<string, string> = {};
  for (const who of ["ada", "bob", "dee"]) {
    const made = await cli(["keygen", "--out", `${dir}/${who}.key`]);
    assert.equal(made.code, 0, made.stderr);
    keys[who] = /public key: +(\S+)/.exec(made.stdout)![1]!;
  }
  const prod = (await Deno.readTextFile(`${dir}/envs/production.yml`)).replace(
    / {4}approvers:\n( {6}.*\n)+/,
    [
      "    approvers:",
      "      - name: Ada",
      "        email: ada@example.com",
      `        public_key: ${keys.ada}`,
      "      - name: Bob",
      "        email: bob@example.com",
      `        public_key: ${keys.bob}`,
      "      - name: Dee Ployer",
      `        email: ${DEPLOYER}`,
      `        public_key: ${keys.dee}`,
      "",
    ].join("\n"),
  );
  assert.match(prod, /name: Ada/, "the fixture replaced production's approvers");
  await Deno.writeTextFile(`${dir}/envs/production.yml`, prod);
}

/** A train running in its own process, its standard output read as it comes. */
export function startPromote(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", "promote", ...args],
    env: { DEPLOY_ACTOR: DEPLOYER, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const watchers: { re: RegExp; found: (line: string) => void }[] = [];
  const read = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) add(t);
  };
  const reading = Promise.all([
    read(child.stdout, (t) => {
      stdout += t;
      for (const w of watchers) {
        const line = stdout.split("\n").find((l) => w.re.test(l));
        if (line) w.found(line);
      }
    }),
    read(child.stderr, (t) => (stderr += t)),
  ]);
  const ended = child.status.then(async (s) => {
    await reading;
    return { code: s.code, stdout, stderr };
  });
  return {
    /** The first line of standard output matching `re` (rejects when the train ends first). */
    line(re: RegExp): Promise<string> {
      return Promise.race([
        new Promise<string>((found) => {
          const seen = stdout.split("\n").find((l) => re.test(l));
          if (seen) found(seen);
          else watchers.push({ re, found });
        }),
        ended.then((e) => {
          throw new Error(
            `the train ended (${e.code}) before printing ${re}:\n${
              e.stdout.slice(-3000)
            }${e.stderr}`,
          );
        }),
      ]);
    },
    /** What standard output holds so far. */
    output: () => stdout,
    ended,
    /** Ends a train still running (SIGTERM: the step running takes its failure path). */
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already ended */ }
      await ended.catch(() => {});
    },
  };
}

/** A step of the train's summary (`--out`). */
export interface SummaryStep {
  id: string;
  kind: string;
  environment: string;
  status: string;
  exitCode?: number;
  runId?: string;
  report?: string;
  error?: string;
  command?: string[];
}

/** The train's summary (`--out`). */
export async function summaryOf(path: string): Promise<
  { status: string; exitCode: number; stoppedAt?: string; steps: SummaryStep[] }
> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** A stage of a report. */
export interface ReportStage {
  id: string;
  status: string;
  reason?: string;
  checks?: { name: string; status: string; message: string; evidence?: Record<string, unknown> }[];
  approval?: Record<string, unknown>;
}

/** A run's report. */
export async function reportOf(path: string): Promise<
  {
    runId: string;
    status: string;
    error?: string;
    pipeline: { name: string };
    environment: string;
    version: string;
    stages: ReportStage[];
    target: Record<string, unknown>;
  }
> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** A check of a stage of a report, by name (the test fails when it is not there). */
export function checkOf(
  report: Awaited<ReturnType<typeof reportOf>>,
  stage: string,
  name: string,
) {
  const s = report.stages.find((x) => x.id === stage);
  assert.ok(s, `stage ${stage} in ${report.runId}: ${report.stages.map((x) => x.id).join(", ")}`);
  const c = s.checks?.find((x) => x.name === name);
  assert.ok(c, `check "${name}" of ${stage}: ${s.checks?.map((x) => x.name).join(", ")}`);
  return c;
}

/** The last `report: <path>` line of a command's output. */
export function lastReport(stdout: string): string {
  const line = stdout.trimEnd().split("\n").at(-1) ?? "";
  const m = /^report: (\S+)$/.exec(line);
  assert.ok(m, `the last line is report: <path>, got ${JSON.stringify(line)}`);
  return m[1]!;
}
