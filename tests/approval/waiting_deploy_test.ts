/**
 * A waiting production run approved from other machines, end to end through the real CLI: a
 * `deno run -A lib/cli/main.ts deploy production ... --sandbox --approvals cluster` process
 * prints its run id and the exact `deno task approve` line after pre-flight; that line, run
 * from two other processes with two listed approvers' keys, lets it go on and exit 0; its
 * report holds both signed approvals and `deno task report` re-verifies them. The deployer's
 * own key is refused (exit 2). With nobody approving, `--approval-timeout` ends it: exit 1,
 * nothing deployed, the message naming who was still needed. `--approvals github` through the
 * CLI, against the OpenAPI-checked issues stand-in on a port (`GITHUB_API_URL`): two listed
 * approvers' comments let it go on, the deployer's own "approve" is ignored, and the report
 * lists them as GitHub's (not signed).
 * @module
 */
import assert from "node:assert/strict";
import { loadGitHubOpenApi } from "../release/_openapi.ts";
import { IssuesStandIn, TOKEN } from "./_github_issues.ts";

const DEPLOYER = "deployer@example.com";
const PHRASE = "DEPLOY TO PRODUCTION";
const decoder = new TextDecoder();

async function cli(args: string[], o: { task?: boolean } = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: o.task ? ["task", "-q", ...args] : ["run", "-A", "lib/cli/main.ts", ...args],
    env: { DEPLOY_ACTOR: DEPLOYER, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Environment files whose production approvers are Ada, Bob and the deployer (keys made here). */
async function setUp() {
  const dir = await Deno.makeTempDir({ prefix: "waiting-deploy-" });
  await Deno.mkdir(`${dir}/envs`);
  for (const name of ["development", "staging"]) {
    await Deno.copyFile(`environments/${name}.yml`, `${dir}/envs/${name}.yml`);
  }
  const keys: Record<string, string> = {};
  for (const who of ["ada", "bob", "dee"]) {
    const made = await cli(["keygen", "--out", `${dir}/${who}.key`]);
    assert.equal(made.code, 0, made.stderr);
    keys[who] = /public key: +(\S+)/.exec(made.stdout)![1]!;
  }
  const prod = (await Deno.readTextFile("environments/production.yml")).replace(
    / {4}approvers:\n( {6}.*\n)+/,
    [
      "    approvers:",
      "      - name: Ada",
      "        email: ada@example.com",
      "        github: ada-gh",
      `        public_key: ${keys.ada}`,
      "      - name: Bob",
      "        email: bob@example.com",
      "        github: bob-gh",
      `        public_key: ${keys.bob}`,
      "      - name: Dee Ployer",
      `        email: ${DEPLOYER}`,
      "        github: dee-gh",
      `        public_key: ${keys.dee}`,
      "",
    ].join("\n"),
  );
  assert.match(prod, /github: ada-gh/, "the fixture replaced production's approvers");
  await Deno.writeTextFile(`${dir}/envs/production.yml`, prod);
  return dir;
}

/** A deploy running in its own process, its output read as it comes. */
function startDeploy(dir: string, extra: string[], env: Record<string, string> = {}) {
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
      `${dir}/sb`,
      "--runs-dir",
      `${dir}/runs`,
      "--environments-dir",
      `${dir}/envs`,
      "--confirm",
      PHRASE,
      ...extra,
    ],
    env: { DEPLOY_ACTOR: DEPLOYER, NO_COLOR: "1", ...env },
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
    /** The first line of standard output matching `re` (rejects when the deploy ends first). */
    line(re: RegExp): Promise<string> {
      return Promise.race([
        new Promise<string>((found) => {
          const seen = stdout.split("\n").find((l) => re.test(l));
          if (seen) found(seen);
          else watchers.push({ re, found });
        }),
        ended.then((e) => {
          throw new Error(
            `the deploy ended (${e.code}) before printing ${re}:\n${
              e.stdout.slice(-3000)
            }${e.stderr}`,
          );
        }),
      ]);
    },
    ended,
    /** Ends a deploy still running as an operator would (SIGTERM: it closes its sandbox). */
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already ended */ }
      await ended.catch(() => {});
    },
  };
}

/** Runs the approve line the deploy printed, as an approver would, with their key. */
async function runApproveLine(line: string, keyFile: string, comment: string) {
  const m = /deno task (approve \S+ --key <your-key> .*?)(?: \[--comment "CHG-1234"\])?$/.exec(
    line.trim(),
  );
  assert.ok(m, `an approve line: ${line}`);
  const args = m[1]!.split(" ").map((w) => w === "<your-key>" ? keyFile : w);
  return await cli([...args, "--comment", comment], { task: true });
}

const APPROVE_LINE = /^\s+deno task approve \S+ --key <your-key> --sandbox --sandbox-dir /;

async function reportOf(stdout: string) {
  const path = /^report: (\S+)$/m.exec(
    stdout.split("\n").filter((l) => l.startsWith("report: ")).at(-1) ?? "",
  )?.[1];
  assert.ok(path, `the deploy printed its report: ${stdout.slice(-2000)}`);
  return JSON.parse(await Deno.readTextFile(path));
}

// One sandbox for both: the timed-out run first (staging is rehearsed there, production waits
// and ends), then the approved one (staging already runs the version: not deployed again).
Deno.test("a waiting production run: timed out with nobody approving, then approved from two other processes", async () => {
  const dir = await setUp();
  try {
    // --approval-timeout 2s: on the sandbox's virtual clock the wait runs on real time; nobody
    // approves, so any limit ends it the same way.
    const late = startDeploy(dir, ["--approvals", "cluster", "--approval-timeout", "2s"]);
    try {
      const line = await late.line(APPROVE_LINE);
      assert.match(line, /--sandbox-dir \S+\/sb/);
      const ended = await late.ended;
      const text = ended.stdout + ended.stderr;
      assert.equal(ended.code, 1, text.slice(-3000));
      assert.match(text, /waits for 2 approvals of production v1\.2\.4/);
      assert.match(text, /Approvers: Ada <ada@example.com>, Bob <bob@example.com>\n/);
      assert.match(
        text,
        /not approved within the approval timeout: approved by nobody; 2 more needed from: Ada <ada@example.com>, Bob <bob@example.com>/,
      );
      const report = await reportOf(ended.stdout);
      assert.equal(report.status, "failed");
      const confirm = report.stages.find((s: { id: string }) => s.id === "confirm");
      assert.equal(confirm.status, "failed");
      assert.match(confirm.reason, /approval failed: .*approval timeout/);
      // Nothing deployed: no stage after the confirmation did any work.
      const after = report.stages.filter((s: { id: string; status: string }) =>
        /^(migrate|record-start|deploy|switch|canary)/.test(s.id)
      );
      assert.ok(after.length > 0, "the report lists the deploy's stages");
      for (const s of after) assert.notEqual(s.status, "succeeded", `${s.id} did not run`);
      assert.ok(!text.includes("approved: approved by"), "nothing was approved");
    } finally {
      await late.stop();
    }

    const run = startDeploy(dir, ["--approvals", "cluster", "--approval-timeout", "30m"]);
    try {
      const line = await run.line(APPROVE_LINE);
      const runId = /deno task approve (\S+)/.exec(line)![1]!;
      // The deployer's own listed key is refused: nobody approves their own deploy.
      const own = await runApproveLine(line, `${dir}/dee.key`, "CHG-0");
      assert.equal(own.code, 2, own.stdout + own.stderr);
      assert.match(own.stderr, /is the deployer of run .*nobody approves their own deploy/);
      const [ada, bob] = await Promise.all([
        runApproveLine(line, `${dir}/ada.key`, "CHG-1234"),
        runApproveLine(line, `${dir}/bob.key`, "CHG-1234"),
      ]);
      assert.equal(ada.code, 0, ada.stdout + ada.stderr);
      assert.equal(bob.code, 0, bob.stdout + bob.stderr);
      assert.match(ada.stdout, new RegExp(`approved run ${runId} as Ada <ada@example.com>`));
      const ended = await run.ended;
      assert.equal(ended.code, 0, ended.stdout.slice(-4000) + ended.stderr);
      assert.match(ended.stdout, /rehearsal: production already|already runs v1\.2\.4/);
      assert.match(ended.stdout, /approved: approved by (Ada|Bob) <[^>]+>, (Ada|Bob) </);
      const report = await reportOf(ended.stdout);
      assert.equal(report.runId, runId);
      assert.equal(report.status, "succeeded");
      assert.equal(report.target.approvals, undefined, "no rehearsal approvers with --approvals");
      const confirm = report.stages.find((s: { id: string }) => s.id === "confirm");
      assert.equal(confirm.approval.method, "flag", "the operator's confirmation is theirs");
      const ev = confirm.approval.evidence;
      assert.equal(ev.source, "cluster");
      assert.equal(ev.deployer, DEPLOYER);
      assert.equal(ev.required, 2);
      assert.deepEqual(
        ev.approvals.map((a: { email: string }) => a.email).sort(),
        ["ada@example.com", "bob@example.com"],
      );
      for (const a of ev.approvals) {
        assert.equal(a.rehearsal, false);
        assert.equal(a.comment, "CHG-1234");
        assert.equal(a.digest, ev.planDigest);
      }
      const verified = await cli([
        "report",
        runId,
        "--runs-dir",
        `${dir}/runs`,
        "--sandbox-dir",
        `${dir}/sb`,
        "--environments-dir",
        `${dir}/envs`,
      ]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /approvals \(stage confirm, cluster\)/);
      assert.equal((verified.stdout.match(/✓ (Ada|Bob) </g) ?? []).length, 2);
      // An approval altered in the report no longer verifies.
      const path = `${dir}/runs/${runId}/report.json`;
      const altered = JSON.parse(await Deno.readTextFile(path));
      altered.stages.find((s: { id: string }) => s.id === "confirm").approval.evidence
        .approvals[0].comment = "CHG-9999";
      await Deno.writeTextFile(path, JSON.stringify(altered));
      const tampered = await cli([
        "report",
        runId,
        "--runs-dir",
        `${dir}/runs`,
        "--sandbox-dir",
        `${dir}/sb`,
        "--environments-dir",
        `${dir}/envs`,
      ]);
      assert.equal(tampered.code, 1);
      assert.match(tampered.stdout, /✗ .*signature does not verify/);
    } finally {
      await run.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--approvals github through the CLI: two listed approvers' comments, the deployer's ignored", async () => {
  const dir = await setUp();
  const standIn = new IssuesStandIn(await loadGitHubOpenApi());
  const github = standIn.serve();
  const run = startDeploy(dir, ["--approvals", "github", "--approval-timeout", "30m"], {
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: github.url,
  });
  try {
    const line = await run.line(/waits for 2 approvals on \S+\/issues\/\d+/);
    const issue = Number(/\/issues\/(\d+)/.exec(line)![1]);
    const opened = standIn.issues.get(issue)!.issue;
    assert.match(opened.body, /@ada-gh/);
    assert.match(opened.body, /@bob-gh/);
    // The deployer's own approve never counts; the run still waits for two others.
    standIn.comment(issue, "dee-gh", "approve");
    standIn.comment(issue, "mallory", "approve");
    standIn.comment(issue, "ada-gh", "Approved. CHG-1234");
    // The run reads the comments twice more and still waits: the deployer's did not count.
    const reads = () => standIn.calls.filter((c) => c === "issues/list-comments").length;
    let over = false;
    run.ended.then(() => (over = true));
    const seen = reads();
    while (reads() < seen + 2 && !over) await new Promise((r) => setTimeout(r, 100));
    assert.equal(over, false, "one listed approver besides the deployer is not enough");
    standIn.comment(issue, "bob-gh", "lgtm");
    const ended = await run.ended;
    assert.equal(ended.code, 0, ended.stdout.slice(-4000) + ended.stderr);
    assert.match(ended.stdout, /approved on GitHub by Ada \(@ada-gh\), Bob \(@bob-gh\)/);
    const report = await reportOf(ended.stdout);
    const ev = report.stages.find((s: { id: string }) => s.id === "confirm").approval.evidence;
    assert.equal(ev.source, "github");
    assert.deepEqual(
      ev.approvals.map((a: { kind: string; github: string }) => `${a.kind}:${a.github}`),
      ["github:ada-gh", "github:bob-gh"],
    );
    assert.ok(ev.approvals.every((a: { signature?: string }) => a.signature === undefined));
    const verified = await cli([
      "report",
      report.runId,
      "--runs-dir",
      `${dir}/runs`,
      "--sandbox-dir",
      `${dir}/sb`,
      "--environments-dir",
      `${dir}/envs`,
    ]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(
      verified.stdout,
      /✓ Ada <ada@example.com> @ada-gh at .* \(on GitHub, not signed: /,
    );
    assert.match(verified.stdout, /✓ Bob <bob@example.com> @bob-gh at /);
    assert.equal(standIn.issues.get(issue)!.issue.state, "closed");
    const issueViolations = standIn.violations.filter((v) => /\/issues/.test(v));
    assert.deepEqual(issueViolations, [], "every issues request and answer is GitHub's");
  } finally {
    await run.stop();
    await github.close();
    await Deno.remove(dir, { recursive: true });
  }
});
