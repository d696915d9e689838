// Runs the real `deno task status` (lib/cli/main.ts status) against a rehearsal's sandbox and
// runs folder, and checks that the table says what the JSON document says.
import assert from "node:assert/strict";
import type { Rehearsal } from "../deploy/_deploy.ts";
import type { EnvironmentStatus, ServiceStatus, SlotStatus } from "../../lib/status/mod.ts";
import { when } from "../../lib/status/mod.ts";

export interface StatusRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `status <args>` in a process of its own (NO_COLOR, no terminal). */
export async function statusCli(
  args: string[],
  vars: Record<string, string> = {},
): Promise<StatusRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", "status", ...args],
    env: { NO_COLOR: "1", ...vars },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The flags that point `status` at a rehearsal's sandbox and runs folder. */
export function sandboxFlags(r: Rehearsal): string[] {
  return ["--sandbox", "--sandbox-dir", r.sandboxDir, "--runs-dir", `${r.dir}/runs`];
}

/** `status <env>` on the rehearsal's sandbox, as text and as `--json`: both exit 0. */
export async function statusOf(
  r: Rehearsal,
  env: string,
  extra: string[] = [],
): Promise<{ text: string; doc: EnvironmentStatus }> {
  // One after the other: each starts the sandbox from its saved state, reads, and stops it.
  const human = await statusCli([env, ...sandboxFlags(r), ...extra]);
  const json = await statusCli([env, ...sandboxFlags(r), ...extra, "--json"]);
  assert.equal(human.code, 0, human.stdout + human.stderr);
  assert.equal(json.code, 0, json.stdout + json.stderr);
  return { text: human.stdout, doc: JSON.parse(json.stdout) as EnvironmentStatus };
}

function slotText(s: SlotStatus | null): RegExp {
  if (!s) return /-/;
  return new RegExp(`${s.slot} ${esc(s.version ?? "")} +${s.ready}/${s.desired}`);
}

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The table row of a service says the document's live and idle slots, traffic and deadline. */
function assertRow(text: string, s: ServiceStatus, now: number): void {
  const row = text.split("\n").find((l) => l.startsWith(`${s.service} `));
  assert.ok(row, `no row for ${s.service} in:\n${text}`);
  if (!s.deployed) {
    assert.match(row, /not deployed/);
    return;
  }
  const [live, idle] = [slotText(s.live), slotText(s.idle)];
  assert.match(row, new RegExp(`^${esc(s.service)} +${live.source} +${idle.source}`), row);
  const t = s.traffic!;
  const split = (["blue", "green"] as const).filter((slot) => t[slot] > 0)
    .map((slot) => `${slot} ${t[slot]}%`).join(" ");
  assert.ok(row.includes(`  ${split}  `) || row.endsWith(`  ${split}`), `${row} lacks ${split}`);
  if (s.idle?.deleteAfter) {
    // The same deadline, to the second (its distance from now may differ by a second).
    const shown = when(s.idle.deleteAfter, now).replace(/ \(.*$/, "");
    assert.ok(row.includes(`after ${shown}`), `${row} lacks the deadline ${shown}`);
  }
}

/**
 * The human output states every fact of the JSON document: each service's row, the last run
 * (id, status, report path), the record's run, the lock's state (holder, run, expiry).
 */
export function assertSameFacts(text: string, doc: EnvironmentStatus): void {
  const now = Date.parse(doc.at);
  assert.match(
    text,
    new RegExp(`^${doc.environment}: namespace ${doc.namespace}, ${doc.strategy}`),
  );
  if (doc.deployed) { for (const s of doc.services) assertRow(text, s, now); }
  else assert.match(text, /nothing deployed/);
  const line = (label: string) =>
    text.split("\n").find((l) => l.startsWith(label.padEnd(10))) ?? "";
  const run = doc.lastRun;
  if (run) {
    assert.match(line("last run"), new RegExp(`${run.runId} ${run.pipeline}.*: ${run.status}`));
    if (run.reportPath) assert.ok(text.includes(`report: ${run.reportPath}\n`));
  } else assert.equal(line("last run"), `last run  none in ${doc.runsDir}`);
  const rec = doc.record.run;
  if (rec) {
    assert.match(
      line("record"),
      new RegExp(`run ${rec.runId}: ${esc(rec.version)} by .*${rec.state}`),
    );
  }
  const lock = doc.lock;
  if (lock.state === "free") assert.equal(line("lock"), "lock      free");
  else {
    const l = line("lock");
    assert.ok(l.includes(`${lock.user} for run ${lock.runId}`), l);
    const expires = when(lock.expiresAt!, now).replace(/ \(.*$/, "");
    assert.ok(l.includes(expires), `${l} lacks ${expires}`);
    assert.match(l, lock.state === "held" ? /^lock +held by / : /^lock +free: the hold of /);
  }
}
