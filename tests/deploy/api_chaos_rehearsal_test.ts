// The production rehearsal through the real CLI (deno task deploy production <v> --sandbox)
// under a flaky API server: at 5% it succeeds; at 30% it succeeds or rolls back cleanly.
// Either way the end state is whole: every service's traffic 100% on one slot (HTTPRoute
// weights and Service selector agree), that slot's Deployment all Ready, every pod of it
// Ready, and one version across the services — never half switched.
import assert from "node:assert/strict";
import { type Sandbox, startSandbox } from "../../lib/sandbox/mod.ts";
import { Rehearsal } from "./_deploy.ts";

const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
const NS = "tracktion-prod";
/**
 * The CLI's own sandbox on its default virtual clock: a slow answer costs its 20 s timeout
 * of target time, not real time, so stage timeouts (target time) keep their meaning. On a
 * scaled clock each would cost at least 5 real s (×240: 20 target minutes).
 */
const FAST: string[] = [];

interface Json {
  [key: string]: unknown;
}

/** The state the cluster was left in, read by the real kubectl from a sandbox on its state. */
async function endState(r: Rehearsal): Promise<{ version: string; problems: string[] }> {
  const sandbox: Sandbox = await startSandbox({ stateDir: r.sandboxDir, timeScale: 240 });
  try {
    const get = async (...args: string[]) =>
      JSON.parse(await r.kubectl("get", ...args, "-n", NS, "-o", "json")) as { items: Json[] };
    const routes = (await get("httproutes")).items;
    const services = new Map((await get("services")).items.map((s) => [name(s), s]));
    const deployments = new Map((await get("deployments")).items.map((d) => [name(d), d]));
    const pods = (await get("pods")).items;
    const problems: string[] = [];
    const versions = new Set<string>();
    assert.ok(routes.length >= 4, `${routes.length} HTTPRoutes`);
    for (const route of routes) {
      const service = name(route);
      const refs = ((route.spec as Json).rules as Json[])[0]!.backendRefs as {
        name: string;
        weight: number;
      }[];
      const live = refs.filter((b) => b.weight === 100);
      if (live.length !== 1 || refs.some((b) => b.weight !== 100 && b.weight !== 0)) {
        problems.push(`${service}: weights ${JSON.stringify(refs)}`);
        continue;
      }
      const slot = live[0]!.name.endsWith("blue") ? "blue" : "green";
      const selector = ((services.get(service)?.spec as Json)?.selector as Json)?.slot;
      if (selector !== slot) problems.push(`${service}: route on ${slot}, Service on ${selector}`);
      const deployment = deployments.get(live[0]!.name);
      const status = (deployment?.status ?? {}) as Json;
      const want = Number((deployment?.spec as Json)?.replicas ?? -1);
      if (!(want > 0) || status.readyReplicas !== want || status.updatedReplicas !== want) {
        problems.push(`${service}: ${live[0]!.name} ${JSON.stringify(status)}`);
      }
      const labels = ((deployment?.metadata as Json)?.labels ?? {}) as Record<string, string>;
      versions.add(labels.version ?? "?");
      const mine = pods.filter((p) => {
        const l = ((p.metadata as Json).labels ?? {}) as Record<string, string>;
        return l.service === service && l.slot === slot;
      });
      const ready = mine.filter((p) =>
        (((p.status as Json)?.conditions ?? []) as Json[]).some((c) =>
          c.type === "Ready" && c.status === "True"
        )
      );
      if (ready.length !== want || mine.length < want) {
        problems.push(`${service}: ${ready.length} of ${mine.length} pods Ready, want ${want}`);
      }
    }
    if (versions.size !== 1) problems.push(`versions live: ${[...versions].join(", ")}`);
    return { version: [...versions].join(","), problems };
  } finally {
    await sandbox.stop();
  }
}

function name(o: Json): string {
  return String((o.metadata as Json).name);
}

async function chaosStats(
  r: Rehearsal,
): Promise<{ requests: number; faults: Record<string, number> }> {
  return JSON.parse(await Deno.readTextFile(`${r.sandboxDir}/api-chaos.json`));
}

Deno.test({
  name:
    "production rehearsal under api-chaos: 5% succeeds, 30% succeeds or rolls back cleanly; never half switched",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await Rehearsal.create();
    try {
      await t.step("baseline: v1.2.3 live (no chaos)", async () => {
        const d = await r.deploy("production", "v1.2.3", [...CONFIRM, ...FAST]);
        assert.equal(d.code, 0, d.stdout + d.stderr);
        const state = await endState(r);
        assert.deepEqual(state.problems, []);
        assert.equal(state.version, "1.2.3");
      });

      await t.step("api-chaos at 5%: v1.2.4 succeeds, faults met on the way", async () => {
        const d = await r.deploy("production", "v1.2.4", [
          ...CONFIRM,
          ...FAST,
          "--scenario",
          "api-chaos",
        ]);
        assert.equal(d.code, 0, d.stdout + d.stderr);
        assert.equal(d.report.status, "succeeded");
        assert.equal(d.report.target.scenario, "api-chaos");
        const stats = await chaosStats(r);
        const faulted = Object.values(stats.faults).reduce((a, b) => a + b, 0);
        assert.ok(stats.requests > 100 && faulted > 0, JSON.stringify(stats));
        const state = await endState(r);
        assert.deepEqual(state.problems, []);
        assert.equal(state.version, "1.2.4");
      });

      await t.step("api-chaos at 30%: v1.2.5 succeeds or rolls back to v1.2.4, whole", async () => {
        const d = await r.deploy("production", "v1.2.5", [
          ...CONFIRM,
          ...FAST,
          "--scenario",
          "api-chaos:30%",
        ]);
        assert.ok(d.report, `no report: exit ${d.code}\n${d.stdout}\n${d.stderr}`);
        const stats = await chaosStats(r);
        const faulted = Object.values(stats.faults).reduce((a, b) => a + b, 0);
        // binomial: at 30% of over 100 requests, more than 10% is sure (> 5 sd)
        assert.ok(faulted > stats.requests * 0.1, JSON.stringify(stats));
        const state = await endState(r);
        assert.deepEqual(state.problems, [], d.stdout.slice(-3000));
        if (d.code === 0) {
          assert.equal(d.report.status, "succeeded");
          assert.equal(state.version, "1.2.5");
        } else {
          // failed: before any change (v1.2.4 untouched), or rolled back to it, whole
          assert.equal(d.code, 1, d.stdout + d.stderr);
          if (d.report.rollback.performed) {
            assert.equal(d.report.rollback.succeeded, true, d.stdout.slice(-3000));
          }
          assert.equal(state.version, "1.2.4");
        }
        console.log(`api-chaos 30%: exit ${d.code}, ${faulted} faults of ${stats.requests}`);
      });
    } finally {
      await r.remove();
    }
  },
});
