// recentBackupJob against a real sandbox: the backup CronJob's Jobs are the backup history, read
// as a cluster holds them (Complete/Failed conditions, completionTime), aged on the run's clock.
import assert from "node:assert/strict";
import { recentBackupJob } from "../../checks/backup.ts";
import type { CheckOutcome, StageContext } from "../../lib/dsl/types.ts";
import { type Cluster, stageContext, withCluster } from "../kubernetes/_helpers.ts";

const NS = "tracktion-staging";
const HOUR = 3_600_000;

async function kubectl(c: Cluster, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", c.sandbox.kubeconfigPath, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${d.decode(out.stderr)}`);
  return d.decode(out.stdout);
}

/** A Job labelled `type=<type>` that ended (or not) `hoursAgo` before the sandbox's now. */
async function job(
  c: Cluster,
  name: string,
  o: { type?: string; hoursAgo: number; state: "Complete" | "Failed" | "running" },
) {
  const type = o.type ?? "backup";
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: NS, labels: { type } },
      spec: {
        suspend: true,
        template: {
          metadata: { labels: { type } },
          spec: { restartPolicy: "Never", containers: [{ name: type, image: "backup:1" }] },
        },
      },
    }),
  );
  await kubectl(c, "create", "-f", file);
  if (o.state === "running") return;
  const at = new Date(c.sandbox.clock.now() - o.hoursAgo * HOUR).toISOString();
  const status = o.state === "Complete"
    ? {
      completionTime: at,
      succeeded: 1,
      conditions: [{ type: "Complete", status: "True", lastTransitionTime: at }],
    }
    : {
      failed: 2,
      conditions: [{
        type: "Failed",
        status: "True",
        reason: "BackoffLimitExceeded",
        lastTransitionTime: at,
      }],
    };
  await kubectl(
    c,
    "patch",
    "job",
    name,
    "-n",
    NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  );
}

function context(c: Cluster): StageContext {
  return { ...stageContext(c.k), now: () => c.sandbox.clock.now() } as StageContext;
}

async function outcome(
  c: Cluster,
  ...args: Parameters<typeof recentBackupJob>
): Promise<CheckOutcome> {
  const check = recentBackupJob(...args);
  assert.equal(check.required, true);
  return await check.run(context(c));
}

Deno.test({
  name: "recentBackupJob: no backup, a fresh one, an old one, a failure since, a verification",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(async (c) => {
      const none = await outcome(c, NS, { cronjob: "database-backup" });
      assert.equal(none.ok, false);
      assert.match(
        none.message,
        /^No successful backup in tracktion-staging: no Jobs labelled type=backup; run one \(kubectl create job --from=cronjob\/database-backup -n tracktion-staging <name>\)/,
      );

      await job(c, "backup-running", { hoursAgo: 0, state: "running" });
      const running = await outcome(c, NS);
      assert.equal(running.ok, false);
      assert.match(running.message, /1 Job\(s\), none Complete/);

      await job(c, "backup-2h", { hoursAgo: 2, state: "Complete" });
      const fresh = await outcome(c, NS, { maxAge: "24h" });
      assert.equal(fresh.ok, true, fresh.message);
      assert.match(fresh.message, /backup-2h completed 2 h ago/);
      assert.equal((fresh.evidence!.newest as { job: string }).job, "backup-2h");

      const strict = await outcome(c, NS, { maxAge: "1h", cronjob: "database-backup" });
      assert.equal(strict.ok, false);
      assert.match(
        strict.message,
        /^The newest backup \(Job backup-2h\) is 2 h old \(limit 1 h\): run a fresh backup/,
      );
      assert.equal(strict.evidence!.maxAgeHours, 1);

      // An older failure does not count; a failure after the newest success does.
      await job(c, "backup-5h-failed", { hoursAgo: 5, state: "Failed" });
      assert.equal((await outcome(c, NS)).ok, true);
      await job(c, "backup-1h-failed", { hoursAgo: 1, state: "Failed" });
      const failed = await outcome(c, NS);
      assert.equal(failed.ok, false);
      assert.match(
        failed.message,
        /^The latest backup failed: Job backup-1h-failed \(BackoffLimitExceeded\) after backup-2h/,
      );

      // The verification Jobs are their own history.
      const noVerify = await outcome(c, NS, {
        selector: "type=backup-verification",
        what: "backup verification",
      });
      assert.equal(noVerify.ok, false);
      assert.match(noVerify.message, /No successful backup verification in tracktion-staging/);
      await job(c, "verify-1h", { type: "backup-verification", hoursAgo: 1, state: "Complete" });
      const verified = await outcome(c, NS, {
        selector: "type=backup-verification",
        what: "backup verification",
      });
      assert.equal(verified.ok, true, verified.message);

      // Another namespace's backups are not this one's.
      assert.equal((await outcome(c, "tracktion-prod")).ok, false);
    }),
});
