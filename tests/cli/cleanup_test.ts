/**
 * The old slot is really cleaned up after its rollback window, on the sandbox's virtual
 * clock: a deploy marks the slot traffic left, `deno task cleanup` keeps it inside the window
 * and scales it to zero once the window has passed (the sandbox's saved clock moved on a day,
 * as if it had been stopped meanwhile), never touching the live slot; the deploy's own
 * schedule-cleanup does the same sweep.
 */
import assert from "node:assert/strict";
import { Rehearsal } from "../deploy/_deploy.ts";
import { CLEANUP_LOCK } from "../../lib/cli/cleanup.ts";
// The gate metrics are declared by the pipeline (rollout.ts, under finish.ts, gates on them).
import "../../pipelines/metrics.ts";
import { LOCK_NAME } from "../../pipelines/stages/finish.ts";
import { DELETE_AFTER_ANNOTATION } from "../../lib/kubernetes/strategies/cleanup.ts";

const NS = "tracktion-staging";
const DAY_MS = 24 * 3_600_000;

interface Run {
  code: number;
  stdout: string;
  report: { status: string; stages: { id: string; output?: unknown }[] } | undefined;
}

async function cli(r: Rehearsal, command: string, env: string, extra: string[] = []): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: r.args(command, env, undefined, extra),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const last = stdout.trimEnd().split("\n").find((l) => l.startsWith("report: "));
  const report = last ? JSON.parse(await Deno.readTextFile(last.slice(8))) : undefined;
  return { code: out.code, stdout, report };
}

/** The slot Deployments of the namespace in the saved state: replicas and delete-after. */
async function slots(r: Rehearsal) {
  const state = JSON.parse(await Deno.readTextFile(`${r.sandboxDir}/state.json`)) as {
    clockAt: number;
    store: {
      objects: {
        object: {
          kind: string;
          metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
          spec: { replicas?: number };
        };
      }[];
    };
  };
  return Object.fromEntries(
    state.store.objects.map((o) => o.object)
      .filter((o) => o.kind === "Deployment" && o.metadata.namespace === NS)
      .map((o) => [o.metadata.name, {
        replicas: o.spec.replicas,
        deleteAfter: o.metadata.annotations?.[DELETE_AFTER_ANNOTATION],
      }]),
  );
}

/** Moves the saved sandbox's clock on, as if it had been stopped for `ms`. */
async function laterBy(r: Rehearsal, ms: number): Promise<void> {
  const path = `${r.sandboxDir}/state.json`;
  const state = JSON.parse(await Deno.readTextFile(path));
  state.clockAt += ms;
  await Deno.writeTextFile(path, JSON.stringify(state));
}

Deno.test("the clean-up takes the deploy's lock", () => {
  assert.equal(CLEANUP_LOCK, LOCK_NAME);
});

Deno.test({
  name: "cleanup: an idle slot is kept for its window, then scaled to 0; the live one never",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    try {
      await t.step("two deploys: blue, then green live with blue marked for 24 h", async () => {
        for (const version of ["v1.0.0", "v1.0.1"]) {
          const d = await r.deploy("staging", version);
          assert.equal(d.code, 0, d.stdout + d.stderr);
        }
        const s = await slots(r);
        assert.equal(s["analysis-service-green"]?.deleteAfter, undefined);
        assert.ok(s["analysis-service-blue"]?.deleteAfter, JSON.stringify(s));
        assert.ok((s["analysis-service-blue"]?.replicas ?? 0) > 0);
      });

      await t.step("inside the window: cleanup keeps it and says until when", async () => {
        await laterBy(r, DAY_MS - 3_600_000);
        const run = await cli(r, "cleanup", "staging");
        assert.equal(run.code, 0, run.stdout);
        assert.match(run.stdout, /analysis-service-blue: kept for rollback until 20\d\d-/);
        const out = run.report!.stages.find((s) => s.id === "cleanup")!.output as {
          scaledDown: string[];
        };
        assert.deepEqual(out.scaledDown, []);
        assert.ok(((await slots(r))["analysis-service-blue"]?.replicas ?? 0) > 0);
      });

      await t.step(
        "past the window: every idle slot scaled to 0, the live ones untouched",
        async () => {
          await laterBy(r, 2 * 3_600_000);
          const run = await cli(r, "cleanup", "staging");
          assert.equal(run.code, 0, run.stdout);
          const out = run.report!.stages.find((s) => s.id === "cleanup")!.output as {
            scaledDown: string[];
          };
          assert.deepEqual(out.scaledDown.sort(), [
            "analysis-service-blue",
            "file-watcher-blue",
            "notification-service-blue",
            "tracklist-service-blue",
          ]);
          const s = await slots(r);
          for (const service of ["analysis-service", "file-watcher"]) {
            assert.equal(s[`${service}-blue`]?.replicas, 0);
            assert.equal(s[`${service}-blue`]?.deleteAfter, undefined);
            assert.ok((s[`${service}-green`]?.replicas ?? 0) > 0, `${service}-green stays`);
          }
          // Nothing left to do: a second run changes nothing.
          const again = await cli(r, "cleanup", "staging");
          assert.equal(again.code, 0, again.stdout);
          assert.match(again.stdout, /no slot of tracktion-staging is scheduled for clean-up/);
        },
      );

      await t.step("bad input: an unknown environment exits 2, nothing run", async () => {
        const run = await cli(r, "cleanup", "nowhere");
        assert.equal(run.code, 2, run.stdout);
        assert.equal(run.report, undefined);
      });
    } finally {
      await r.remove();
    }
  },
});
