/**
 * The conformance suite's one scenario list: each scenario's name, what it does, and the
 * observation a conformant API server gives (the same for every client). A client's test
 * file implements every scenario as a function that drives that client and returns its
 * observation, normalised to this shape; {@linkcode runConformance} compares the two.
 * @module
 */
import assert from "node:assert/strict";
import { type TestSandbox, withSandbox } from "../sandbox/_helpers.ts";

/** The namespace every scenario works in (seeded by the sandbox). */
export const NS = "tracktion-dev";

/** An API error as a client sees it: the HTTP code and the Status reason. */
export interface Refusal {
  /** The HTTP status code (the Status object's `code`). */
  code: number;
  /** The Status object's `reason` (`NotFound`, `Conflict`, ...). */
  reason: string;
}

/**
 * The scenarios, in the order they run (later ones use objects earlier ones made): what each
 * does, and the observation every client must return for it.
 *
 * @example
 * ```ts ignore
 * import { SCENARIOS } from "./_scenarios.ts";
 * console.log(SCENARIOS["get"].expect.missing); // { code: 404, reason: "NotFound" }
 * ```
 */
export const SCENARIOS = {
  "create": {
    does: "create ConfigMap conf-a {a: 1}; create it again",
    expect: {
      data: { a: "1" },
      uid: true,
      resourceVersion: true,
      again: ref(409, "AlreadyExists"),
    },
  },
  "get": {
    does: "get conf-a; get conf-missing",
    expect: { data: { a: "1" }, missing: ref(404, "NotFound") },
  },
  "list with label and field selectors": {
    does: "conf-l1, conf-l2 (tier=web), conf-l3 (tier=db), all suite=list; list by selectors",
    expect: {
      equality: ["conf-l1", "conf-l2"],
      inequality: ["conf-l3"],
      set: ["conf-l3"],
      field: ["conf-l2", "conf-l3"],
    },
  },
  "watch from now": {
    does: "conf-w {n: 0} (suite=watch); watch without a resourceVersion; patch n=1 after ADDED",
    expect: { events: [["ADDED", "conf-w", "0"], ["MODIFIED", "conf-w", "1"]] },
  },
  "watch from a resourceVersion": {
    does: "list's resourceVersion; patch conf-w n=2; create conf-w2 n=9; watch from it",
    expect: { events: [["MODIFIED", "conf-w", "2"], ["ADDED", "conf-w2", "9"]] },
  },
  "watch from an expired resourceVersion": {
    does: "watch from resourceVersion 1 (compacted: the sandbox was restarted since)",
    expect: { error: ref(410, "Expired") },
  },
  "JSON patch": {
    does: "conf-p {a: 1, b: 2}: test /data/a, replace /data/b, add /data/c; a failing test op",
    expect: { data: { a: "1", b: "3", c: "4" }, failedTest: ref(422, "Invalid") },
  },
  "merge patch": {
    does: "conf-p: merge {data: {a: null, d: 5}, metadata.labels.merged: yes}",
    expect: { data: { b: "3", c: "4", d: "5" }, labels: { merged: "yes" } },
  },
  "strategic merge patch": {
    does: "Deployment web (env A=1): containers [{name: app, env: [B=2]}] merge by name",
    expect: { image: "registry.local/web:1.0.0", env: ["A=1", "B=2"] },
  },
  "apply": {
    does: "server-side apply ConfigMap conf-s {x: 1} as field manager alpha",
    expect: { data: { x: "1" }, managers: [["alpha", "Apply"]] },
  },
  "apply with a conflict, then forced": {
    does: "apply conf-s {x: 2} as beta: a conflict with alpha on .data.x; again with force",
    expect: {
      conflict: { code: 409, manager: "alpha", fields: [".data.x"] },
      forced: { x: "2" },
      ownerOfX: ["beta"],
    },
  },
  "stale update": {
    does: "read conf-a; update a=2; update again from the first read (its resourceVersion)",
    expect: { stale: ref(409, "Conflict"), kept: { a: "2" } },
  },
  "status subresource": {
    does: "Service svc-s: /status merge sets an ingress and a spec field; main patch sets status",
    expect: { ingress: "10.9.9.9", specIgnoredByStatus: false, statusIgnoredByMain: "10.9.9.9" },
  },
  "scale subresource": {
    does: "Deployment web: read /scale; scale to 3 through it; read the Deployment",
    expect: { replicas: 1, selector: "app=web", after: 3 },
  },
  "delete with foreground propagation": {
    does: "Deployment del-fg with its ReplicaSet and pod; delete propagationPolicy=Foreground",
    expect: { owner: 404, replicaSets: 0, pods: 0, ownerRefsLeft: 0 },
  },
  "delete with background propagation": {
    does: "Deployment del-bg with its ReplicaSet and pod; delete propagationPolicy=Background",
    expect: { owner: 404, replicaSets: 0, pods: 0, ownerRefsLeft: 0 },
  },
  "delete with orphan propagation": {
    does: "Deployment del-or with its ReplicaSet and pod; delete propagationPolicy=Orphan",
    expect: { owner: 404, replicaSets: 1, pods: 1, ownerRefsLeft: 0 },
  },
  "delete's answer by propagation policy": {
    does: "ConfigMaps conf-d-{fg,or,bg} deleted Foreground, Orphan, Background: the answer's kind",
    // Foreground and Orphan add the garbage collector's finalizer, so the object is not
    // deleted at once and the answer is the object itself (deletionTimestamp and finalizer
    // set); Background deletes it and answers a Status. All three are gone after.
    expect: {
      answers: { Foreground: "ConfigMap", Orphan: "ConfigMap", Background: "Status" },
      gone: true,
    },
  },
  "logs": {
    does: "pod logger, Ready: its log (JSON lines), tailLines=1, container nope",
    expect: {
      messages: ["starting app version 1.0.0", "listening, version 1.0.0 ready"],
      tail: ["listening, version 1.0.0 ready"],
      badContainer: ref(400, "BadRequest"),
    },
  },
  "exec": {
    does: "pod logger: cat /etc/hostname; curl -s localhost:8000/health; ls (not simulated)",
    expect: { hostname: "logger", health: "healthy", other: { exit: 126, notAvailable: true } },
  },
  "port-forward": {
    does: "pod logger port 8000 forwarded; GET /health through it",
    expect: { status: 200, health: "healthy" },
  },
} as const satisfies Record<string, { does: string; expect: unknown }>;

function ref(code: number, reason: string): Refusal {
  return { code, reason };
}

/**
 * A scenario's name.
 *
 * @example
 * ```ts
 * import type { ScenarioName } from "./_scenarios.ts";
 * const name: ScenarioName = "port-forward";
 * ```
 */
export type ScenarioName = keyof typeof SCENARIOS;

/** What a scenario function gets: the sandbox and its kubeconfig. */
export interface ScenarioContext {
  /** The sandbox's kubeconfig path. */
  kubeconfig: string;
  /** The arguments that point kubectl at it (kubeconfig and a cache dir of its own). */
  kubectlArgs: readonly string[];
}

/** One client's implementation of a scenario; `ignore` names a feature not landed yet. */
export interface ScenarioImpl {
  /** Drive the client; resolve to the observation (compared with the scenario's `expect`). */
  run(ctx: ScenarioContext): Promise<unknown>;
  /** Why the scenario is skipped for now: a feature not landed, or a named sandbox bug. */
  ignore?: string;
}

/** A client's implementations: one per scenario, checked by the compiler and a test. */
export type Implementations = Record<ScenarioName, ScenarioImpl | ScenarioImpl["run"]>;

/**
 * A sandbox whose watch history no longer reaches its first resourceVersions: started,
 * stopped and started again on the same state directory (a restored store keeps objects,
 * not history, as an API server's watch cache after a restart).
 */
async function compactedSandbox(): Promise<TestSandbox & { dispose(): Promise<void> }> {
  const stateDir = await Deno.makeTempDir({ prefix: "conformance-" });
  const first = await withSandbox({ trafficRate: 0, stateDir });
  await first.close();
  const t = await withSandbox({ trafficRate: 0, stateDir });
  return {
    ...t,
    async dispose() {
      await t.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Register `<client> conformance` with one step per scenario, in order, on one sandbox; only
 * when `moduleUrl` is the module under test (a file importing it to read its
 * implementations registers nothing).
 *
 * @param client The client's name, for the test's name and messages.
 * @param impls Its implementation of every scenario.
 * @param moduleUrl The calling test file's `import.meta.url`.
 *
 * @example
 * ```ts ignore
 * import { type Implementations, runConformance } from "./_scenarios.ts";
 * declare const MINE: Implementations;
 * runConformance("my client", MINE, import.meta.url);
 * ```
 */
export function runConformance(client: string, impls: Implementations, moduleUrl: string): void {
  if (Deno.mainModule !== moduleUrl) return;
  Deno.test(`${client} conformance: every scenario of tests/conformance/_scenarios.ts`, async (t) => {
    const sandbox = await compactedSandbox();
    try {
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        const impl = impls[name as ScenarioName];
        const run = typeof impl === "function" ? impl : impl.run;
        const ignore = typeof impl === "function" ? undefined : impl.ignore;
        await t.step({
          name: ignore ? `${name} (ignored: ${ignore})` : name,
          ignore: ignore !== undefined,
          async fn() {
            const observed = await run({
              kubeconfig: sandbox.sandbox.kubeconfigPath,
              kubectlArgs: sandbox.kubectlArgs,
            });
            assert.deepEqual(observed, scenario.expect, `${client}: ${name}: ${scenario.does}`);
          },
        });
      }
    } finally {
      await sandbox.dispose();
    }
  });
}

/**
 * Read `read()` until `done` holds or `timeoutMs` passes; returns the last reading (which a
 * scenario's comparison then shows when the condition never held).
 *
 * @param read Reads the current state.
 * @param done Whether that state is the one waited for.
 * @param timeoutMs The bound on the wait.
 * @returns The last reading.
 *
 * @example
 * ```ts
 * import { settle } from "./_scenarios.ts";
 * let n = 0;
 * const value = await settle(() => Promise.resolve(++n), (v) => v >= 3);
 * if (value !== 3) throw new Error("settle() stops at the first reading that is done");
 * ```
 */
export async function settle<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let value = await read();
  while (!done(value) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

/**
 * The sorted names of a list's items.
 *
 * @param items A list's items.
 * @returns Their `metadata.name`s, sorted.
 *
 * @example
 * ```ts
 * import { names } from "./_scenarios.ts";
 * const sorted = names([{ metadata: { name: "b" } }, { metadata: { name: "a" } }]);
 * if (sorted.join() !== "a,b") throw new Error("sorted by name");
 * ```
 */
export function names(items: readonly { metadata?: { name?: string } }[]): string[] {
  return items.map((i) => String(i.metadata?.name)).sort();
}

/**
 * A Deployment manifest the scenarios create (one container `app`, env A=1, port 8000), as a
 * JSON object any client can send.
 *
 * @param name Its name (also its `app` label and its image's name).
 * @param replicas Its replicas (default 1).
 * @returns The manifest.
 *
 * @example
 * ```ts
 * import { deployment } from "./_scenarios.ts";
 * const d = deployment("web") as { metadata: { labels: { app: string } } };
 * if (d.metadata.labels.app !== "web") throw new Error("labelled app=<name>");
 * ```
 */
export function deployment(name: string, replicas = 1): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{
            name: "app",
            image: `registry.local/${name}:1.0.0`,
            ports: [{ containerPort: 8000 }],
            env: [{ name: "A", value: "1" }],
          }],
        },
      },
    },
  };
}
