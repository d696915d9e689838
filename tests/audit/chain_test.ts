/**
 * `deno task report audit <env>` on synthetic histories (real journals, `_history.ts`): a
 * whole chain passes (exit 0); a deleted run in the middle is a gap naming both neighbours;
 * a run rewritten with recomputed hashes is caught by the next run's link, and the head
 * (which no run follows) by the cluster's checkpoint; a run the cluster's record does not
 * know, a run in the cluster's history with no folder, a broken journal, a report that does
 * not match its journal are each caught (exit 1); bad usage is exit 2 with nothing printed
 * on standard output.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../lib/cli/main.ts";
import { startProjectSandbox } from "../../lib/targets/mod.ts";
import {
  checkpointsOf,
  deploymentInfo,
  environmentsTrusting,
  newKey,
  rechain,
  type RunSpec,
  writeHistory,
  type WrittenRun,
} from "./_history.ts";

/** Every run is signed with KEY; the test's production environment file trusts it. */
const KEY = await newKey();
const ENVIRONMENTS = await environmentsTrusting(KEY);
const PROJECT_ENVIRONMENTS = new URL("../../environments/", import.meta.url).pathname;

async function audit(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["report", "audit", ...args], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    tty: false,
    colour: false,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** Five production deploys a day apart, chained, each with a checkpoint. */
const FIVE: RunSpec[] = ["a", "b", "c", "d", "e"].map((x, i) => ({
  runId: `2026030${i + 1}T100000Z-${x}${x}${x}`,
  startedAt: `2026-03-0${i + 1}T10:00:00.000Z`,
  finishedAt: `2026-03-0${i + 1}T10:30:00.000Z`,
  version: `v1.${i}.0`,
}));
const [A, B, C, D, E] = FIVE.map((s) => s.runId) as [string, string, string, string, string];

async function history(specs: readonly RunSpec[] = FIVE) {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-runs-" });
  const written = await writeHistory(runsDir, specs, KEY);
  return { runsDir, written };
}

function args(runsDir: string, ...more: string[]) {
  return [
    "production",
    "--runs-dir",
    runsDir,
    "--environments-dir",
    ENVIRONMENTS,
    "--since",
    "all",
    "--until",
    "2026-04-01",
    ...more,
  ];
}

async function recordFile(written: Map<string, WrittenRun>, skip: string[] = []) {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  const checkpoints = checkpointsOf(written).filter((c) => !skip.includes(c.runId));
  await Deno.writeTextFile(path, JSON.stringify(deploymentInfo(checkpoints)));
  return path;
}

async function problems(runsDir: string, ...more: string[]) {
  const r = await audit([...args(runsDir, ...more), "--json"]);
  const json = JSON.parse(r.stdout) as {
    ok: boolean;
    problems: { kind: string; runIds: string[]; message: string; fix: string }[];
    chain: { cluster: { consulted: boolean; verified?: number; checkpoints?: number } };
  };
  return { code: r.code, ...json };
}

Deno.test("report audit: a whole chain of five runs is whole (exit 0), the cluster's record not consulted is said", async () => {
  const { runsDir } = await history();
  const r = await audit(args(runsDir));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /5 runs in the window \(5 chained/);
  assert.match(r.stdout, /chain: whole ✓/);
  assert.match(r.stdout, /cluster record: not consulted/);
  assert.match(r.stdout, new RegExp(`head: ${E}`));
  assert.match(r.stdout, /signatures: 5 verified, 0 unsigned, 0 not verifying/);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: a whole chain matches every checkpoint of the cluster's record (--record)", async () => {
  const { runsDir, written } = await history();
  const record = await recordFile(written);
  const r = await problems(runsDir, "--record", record);
  assert.equal(r.code, 0, JSON.stringify(r.problems));
  assert.deepEqual(r.problems, []);
  assert.equal(r.chain.cluster.consulted, true);
  assert.equal(r.chain.cluster.checkpoints, 5);
  assert.equal(r.chain.cluster.verified, 5);
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(record);
});

Deno.test("report audit: a deleted run in the middle is a gap naming it and both neighbours (exit 1)", async () => {
  const { runsDir } = await history();
  await Deno.remove(join(runsDir, C), { recursive: true });
  const r = await problems(runsDir);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => p.kind), ["gap"]);
  const gap = r.problems[0]!;
  assert.deepEqual(gap.runIds, [C, B, D]);
  assert.match(gap.message, new RegExp(`run ${C} is missing between ${B} and ${D}`));
  assert.match(gap.fix, /restore .* from a backup/);
  // The text output says the same, with what to do.
  const text = await audit(args(runsDir));
  assert.equal(text.code, 1);
  assert.match(text.stdout, new RegExp(`✗ gap: run ${C} is missing between ${B} and ${D}`));
  assert.match(text.stdout, /→ restore/);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: the deleted run is also named by the cluster's history (deleted, between its neighbours)", async () => {
  const { runsDir, written } = await history();
  const record = await recordFile(written);
  await Deno.remove(join(runsDir, C), { recursive: true });
  const r = await problems(runsDir, "--record", record);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => p.kind).sort(), ["deleted", "gap"]);
  const deleted = r.problems.find((p) => p.kind === "deleted")!;
  assert.deepEqual(deleted.runIds, [C, B, D]);
  assert.match(deleted.message, new RegExp(`run ${C} between ${B} and ${D} is in the cluster's`));
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(record);
});

Deno.test("report audit: a run re-chained with recomputed hashes (report updated to match) is caught as replaced by the next run's link", async () => {
  const { runsDir } = await history();
  await rechain(join(runsDir, B), (events) => {
    const finished = events.find((e) => e.type === "run.finished")!;
    finished.status = "succeeded";
    finished.note = "nothing to see";
  });
  const r = await problems(runsDir);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => [p.kind, p.runIds]), [
    ["replaced", [B, C]],
    ["signature", [B]], // signing it again needs the key
  ]);
  assert.match(
    r.problems[0]!.message,
    new RegExp(`${B} was replaced or rewritten after ${C} started`),
  );
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: the head re-chained (no later run to catch it) is caught by its signature, and by the cluster's checkpoint", async () => {
  const { runsDir, written } = await history();
  const record = await recordFile(written);
  // A line before the checkpoint (lines after it are the signature's to protect).
  await rechain(join(runsDir, E), (events) => {
    const preflight = events.find((e) => e.type === "stage.finished" && e.stage === "preflight")!;
    preflight.output = { forged: true };
  });
  // No later run records the head: offline, only its signature tells.
  const offline = await problems(runsDir);
  assert.deepEqual(offline.problems.map((p) => [p.kind, p.runIds]), [["signature", [E]]]);
  assert.match(offline.problems[0]!.message, /the report was changed after the run was signed/);
  const r = await problems(runsDir, "--record", record);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => [p.kind, p.runIds]), [["replaced", [E]], ["signature", [
    E,
  ]]]);
  assert.match(r.problems[0]!.message, /does not match the cluster's checkpoint at line \d+/);
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(record);
});

Deno.test("report audit: a run the cluster's record does not know is caught (--record)", async () => {
  const { runsDir, written } = await history();
  const record = await recordFile(written, [D]);
  const r = await problems(runsDir, "--record", record);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => p.kind), ["unknown-to-cluster"]);
  assert.deepEqual(r.problems[0]!.runIds, [D]);
  assert.match(
    r.problems[0]!.message,
    new RegExp(`${D} \\(deploy v1.3.0, .*\\) wrote a checkpoint`),
  );
  assert.match(r.problems[0]!.message, /the cluster's record does not know it/);
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(record);
});

Deno.test("report audit: dry runs and runs that wrote no checkpoint are not expected in the cluster's record", async () => {
  const specs: RunSpec[] = [
    ...FIVE.slice(0, 2),
    { ...FIVE[2]!, dryRun: true },
    { ...FIVE[3]!, status: "failed", checkpoint: false },
    FIVE[4]!,
  ];
  const { runsDir, written } = await history(specs);
  const record = await recordFile(written);
  const r = await problems(runsDir, "--record", record);
  assert.equal(r.code, 0, JSON.stringify(r.problems));
  assert.equal(r.chain.cluster.checkpoints, 3);
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(record);
});

Deno.test("report audit: a byte changed in a journal breaks its chain (and its link from the next run)", async () => {
  const { runsDir } = await history();
  const path = join(runsDir, B, "events.jsonl");
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace('"status":"succeeded"', '"status":"succeedeD"'));
  const r = await problems(runsDir);
  assert.equal(r.code, 1);
  const kinds = r.problems.map((p) => p.kind);
  assert.ok(kinds.includes("broken-journal"), kinds.join());
  const broken = r.problems.find((p) => p.kind === "broken-journal")!;
  assert.deepEqual(broken.runIds, [B]);
  assert.match(broken.message, /journal breaks at line \d+: line \d+ does not carry the hash/);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: a report whose digest is not its journal's is caught", async () => {
  const { runsDir } = await history();
  const path = join(runsDir, D, "report.json");
  const report = JSON.parse(await Deno.readTextFile(path));
  report.events.digest = "f".repeat(64);
  await Deno.writeTextFile(path, JSON.stringify(report));
  const r = await problems(runsDir);
  assert.deepEqual(r.problems.map((p) => [p.kind, p.runIds]), [
    ["report-mismatch", [D]],
    ["signature", [D]],
  ]);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: a run inserted afterwards (claiming an old run as its previous) is a fork and outside the chain", async () => {
  const { runsDir, written } = await history();
  const b = written.get(B)!;
  await writeHistory(runsDir, [{
    runId: "20260302T120000Z-fff",
    startedAt: "2026-03-02T12:00:00.000Z",
    finishedAt: "2026-03-02T12:30:00.000Z",
    version: "v9.9.9",
    previous: { runId: B, digest: b.digest, events: b.events },
  }], KEY);
  const r = await problems(runsDir);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => p.kind).sort(), ["fork", "unchained"]);
  const fork = r.problems.find((p) => p.kind === "fork")!;
  assert.deepEqual(fork.runIds, [B, "20260302T120000Z-fff", C]);
  assert.deepEqual(r.problems.find((p) => p.kind === "unchained")!.runIds, [
    "20260302T120000Z-fff",
  ]);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: --since leaves earlier runs out of the check but still follows the link into the window", async () => {
  const { runsDir } = await history();
  await Deno.remove(join(runsDir, B), { recursive: true });
  // From 2026-03-03 on: C (in the window) records B (deleted, before it): still a gap.
  const r = await problems(runsDir, "--since", "2026-03-03");
  assert.deepEqual(r.problems.map((p) => [p.kind, p.runIds]), [["gap", [B, A, C]]]);
  // From 2026-03-04 on: the gap is before the window.
  const later = await problems(runsDir, "--since", "2026-03-04");
  assert.equal(later.code, 0);
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: a record file that is not a ConfigMap's JSON, or an annotation edited into nonsense", async () => {
  const { runsDir, written } = await history();
  const bad = await Deno.makeTempFile();
  await Deno.writeTextFile(bad, "{not json");
  const notJson = await audit(args(runsDir, "--record", bad));
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /--record: .* is not JSON/);
  assert.equal(notJson.stdout, "");
  await Deno.writeTextFile(bad, JSON.stringify({ kind: "Secret" }));
  const notCm = await audit(args(runsDir, "--record", bad));
  assert.equal(notCm.code, 2);
  assert.match(notCm.stderr, /is not a ConfigMap/);
  const cm = deploymentInfo(checkpointsOf(written));
  const annotations = (cm.metadata as { annotations: Record<string, string> }).annotations;
  for (const key of Object.keys(annotations)) {
    if (key.endsWith("/run-history")) annotations[key] = '[{"runId": 1}]';
  }
  await Deno.writeTextFile(bad, JSON.stringify(cm));
  const edited = await problems(runsDir, "--record", bad);
  assert.equal(edited.code, 1);
  assert.ok(edited.problems.some((p) => p.kind === "record-unreadable"));
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(bad);
});

Deno.test("report audit: bad usage is exit 2 before anything is read, nothing on standard output", async () => {
  const { runsDir } = await history(FIVE.slice(0, 1));
  const cases: [string[], RegExp][] = [
    [[], /usage: deno task report audit/],
    [["production", "extra", "--runs-dir", runsDir], /usage: deno task report audit/],
    [["nowhere", "--environments-dir", ENVIRONMENTS], /Unknown environment "nowhere".*known: /],
    [["production", "--environments-dir", "/nonexistent"], /Unknown environment.*known: none/],
    [args(runsDir, "--since", "soon"), /--since "soon" is neither a duration/],
    [args(runsDir, "--since", "0d"), /longer than 0/],
    [args(runsDir, "--until", "yesterday"), /--until "yesterday" is not a date/],
    [[...args(runsDir), "--since", "2026-05-01"], /is after --until/],
    [args(runsDir, "--record", "/nonexistent/record.json"), /--record .*: no such file/],
    [args(runsDir, "--record", "x.json", "--sandbox"), /give one/],
    [args(runsDir, "--sandbox-dir", runsDir), /--sandbox-dir needs --sandbox/],
    [
      ["production", "--environments-dir", ENVIRONMENTS, "--runs-dir", "/nonexistent"],
      /no such folder/,
    ],
    [args(runsDir, "--repo", "/nonexistent"), /--repo .*: no such folder/],
    [args(runsDir, "--target", "staging"), /--target "staging": expected sandbox or kubernetes/],
    [args(runsDir, "--frobnicate"), /Unknown option '--frobnicate'/],
  ];
  for (const [argv, message] of cases) {
    const r = await audit(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, argv.join(" "));
    assert.equal(r.stdout, "", argv.join(" "));
  }
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: a signature removed from a run of production (which requires one) is a problem; another environment's unsigned runs are not", async () => {
  const { runsDir } = await history();
  await Deno.remove(join(runsDir, C, "signature.json"));
  const r = await problems(runsDir);
  assert.equal(r.code, 1);
  assert.deepEqual(r.problems.map((p) => [p.kind, p.runIds]), [["signature", [C]]]);
  assert.match(r.problems[0]!.message, /unsigned: production requires a signed run/);
  assert.match(r.problems[0]!.fix, /require_signature/);
  // Staging does not require one: unsigned runs are counted, not problems.
  const staging = await Deno.makeTempDir({ prefix: "audit-runs-" });
  await writeHistory(staging, FIVE.map((s) => ({ ...s, environment: "staging" })));
  const s = await audit([...args(staging).slice(1), "--json"].toSpliced(0, 0, "staging"));
  const json = JSON.parse(s.stdout);
  assert.equal(s.code, 0, JSON.stringify(json.problems));
  assert.deepEqual(json.signatures, { verified: 0, unsigned: 5, invalid: 0 });
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(staging, { recursive: true });
});

Deno.test("report audit: with the project's own environment files, production's unsigned runs are each a problem (signatures are required by default)", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "audit-runs-" });
  await writeHistory(runsDir, FIVE.slice(0, 2));
  const r = await audit([
    ...args(runsDir).map((x) => (x === ENVIRONMENTS ? PROJECT_ENVIRONMENTS : x)),
    "--json",
  ]);
  const json = JSON.parse(r.stdout);
  assert.equal(r.code, 1);
  assert.deepEqual(json.problems.map((p: { kind: string }) => p.kind), ["signature", "signature"]);
  await Deno.remove(runsDir, { recursive: true });
});

async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

Deno.test("report audit --sandbox reads the cluster's record from the sandbox's saved state (put there with kubectl); --record takes kubectl's own JSON", async () => {
  const { runsDir, written } = await history();
  const stateDir = await Deno.makeTempDir({ prefix: "audit-sandbox-" });
  // The cluster's record, as the deploys would have left it, but without D.
  const sandbox = await startProjectSandbox({ stateDir, environmentsDir: ENVIRONMENTS });
  try {
    const cm = deploymentInfo(checkpointsOf(written).filter((c) => c.runId !== D));
    await kubectl(sandbox.kubeconfigPath, ["apply", "-f", "-"], JSON.stringify(cm));
  } finally {
    await sandbox.stop();
  }
  // Audited through the environment's Kubernetes target: a sandbox started over the state.
  const r = await problems(runsDir, "--sandbox", "--sandbox-dir", stateDir);
  assert.equal(r.code, 1, JSON.stringify(r.problems));
  assert.deepEqual(r.problems.map((p) => [p.kind, p.runIds]), [["unknown-to-cluster", [D]]]);
  assert.equal(r.chain.cluster.consulted, true);
  assert.equal(r.chain.cluster.checkpoints, 4);
  assert.equal(r.chain.cluster.verified, 4);
  const text = await audit(args(runsDir, "--sandbox", "--sandbox-dir", stateDir));
  assert.match(
    text.stdout,
    /cluster record: the sandbox's tracktion-prod\/deployment-info: 4 of 4 checkpoints match/,
  );
  // What an offline auditor is handed: kubectl get configmap deployment-info -o json.
  const again = await startProjectSandbox({ stateDir, environmentsDir: ENVIRONMENTS });
  let saved: string;
  try {
    saved = await kubectl(again.kubeconfigPath, [
      "get",
      "configmap",
      "deployment-info",
      "-n",
      "tracktion-prod",
      "-o",
      "json",
    ]);
  } finally {
    await again.stop();
  }
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, saved);
  const offline = await problems(runsDir, "--record", file);
  assert.deepEqual(offline.problems.map((p) => [p.kind, p.runIds]), [["unknown-to-cluster", [D]]]);
  await Deno.remove(file);
  await Deno.remove(stateDir, { recursive: true });
  await Deno.remove(runsDir, { recursive: true });
});

Deno.test("report audit: sandbox rehearsals and cluster deploys of one environment are two chains, each whole; the cluster's record expects only its own runs", async () => {
  // Each deploy to the cluster rehearsed in the sandbox first: two chains interleaved in time.
  const specs: RunSpec[] = FIVE.flatMap((s, i) => [
    {
      ...s,
      runId: `${s.runId}-rehearsal`,
      startedAt: `2026-03-0${i + 1}T08:00:00.000Z`,
      finishedAt: `2026-03-0${i + 1}T08:10:00.000Z`,
      target: "sandbox" as const,
    },
    { ...s, target: "kubernetes" as const },
  ]);
  const { runsDir, written } = await history(specs);
  const onlyCluster = new Map([...written].filter(([id]) => !id.endsWith("-rehearsal")));
  const record = await recordFile(onlyCluster);
  const r = await audit([...args(runsDir, "--record", record), "--json"]);
  const json = JSON.parse(r.stdout);
  assert.equal(r.code, 0, JSON.stringify(json.problems));
  assert.deepEqual(
    json.chain.heads.map((h: { target: string; runId: string }) => [h.target, h.runId]),
    [["kubernetes", E], ["sandbox", `${E}-rehearsal`]],
  );
  // DORA counts the cluster's deploys, not the rehearsals; --target sandbox the others.
  assert.equal(json.dora.deploymentFrequency.successful, 5);
  assert.deepEqual(json.doraTarget, { target: "kubernetes", leftOut: 5 });
  const sandbox = JSON.parse(
    (await audit([...args(runsDir, "--target", "sandbox"), "--json"])).stdout,
  );
  assert.deepEqual(sandbox.doraTarget, { target: "sandbox", leftOut: 0 });
  assert.ok(sandbox.dora.deploys.every((d: { runId: string }) => d.runId.endsWith("-rehearsal")));
  // A rehearsal deleted breaks the sandbox's chain only, naming the rehearsals around it.
  await Deno.remove(join(runsDir, `${C}-rehearsal`), { recursive: true });
  const gap = await problems(runsDir);
  assert.deepEqual(gap.problems.map((p) => [p.kind, p.runIds]), [
    ["gap", [`${C}-rehearsal`, `${B}-rehearsal`, `${D}-rehearsal`]],
  ]);
  await Deno.remove(runsDir, { recursive: true });
  await Deno.remove(record);
});

Deno.test("report audit --help prints the usage (exit 0)", async () => {
  const r = await audit(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /usage: deno task report audit <environment>/);
});
