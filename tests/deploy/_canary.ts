// A deploy started in the background and stopped mid-canary (killed, or interrupted), and
// what the cluster holds, read either live (kubectl against a running sandbox) or from the
// sandbox's persisted state (state.json, written with write-then-rename), so a test can
// wait for an observed state instead of sleeping.
import { readState } from "../../lib/sandbox/state.ts";
import type { Rehearsal } from "./_deploy.ts";

export const NS = "tracktion-prod";
export const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION"];
export const SERVICES = [
  "analysis-service",
  "file-watcher",
  "tracklist-service",
  "notification-service",
];

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** One service as the cluster holds it. */
export interface ServiceView {
  selector: string | undefined;
  weights: { blue: number; green: number } | undefined;
  versions: { blue?: string | undefined; green?: string | undefined };
  replicas: { blue?: number | undefined; green?: number | undefined };
}

/** The environment's traffic, Deployments and deployment record. */
export interface ClusterView {
  services: Record<string, ServiceView>;
  record: Record<string, string> | undefined;
}

function view(objects: Obj[]): ClusterView {
  const inNs = objects.filter((o) => o.metadata.namespace === NS);
  const services: Record<string, ServiceView> = {};
  for (const service of SERVICES) {
    const svc = inNs.find((o) => o.kind === "Service" && o.metadata.name === service);
    const route = inNs.find((o) => o.kind === "HTTPRoute" && o.metadata.name === service);
    const refs = ((route?.spec?.rules as { backendRefs: { name: string; weight: number }[] }[])
      ?.[0]?.backendRefs) ?? [];
    const weight = (slot: string) => refs.find((b) => b.name === `${service}-${slot}`)?.weight ?? 0;
    const v: ServiceView = {
      selector: (svc?.spec?.selector as Record<string, string> | undefined)?.slot,
      weights: route ? { blue: weight("blue"), green: weight("green") } : undefined,
      versions: {},
      replicas: {},
    };
    for (const slot of ["blue", "green"] as const) {
      const d = inNs.find((o) =>
        o.kind === "Deployment" && o.metadata.name === `${service}-${slot}`
      );
      if (d) {
        v.versions[slot] = d.metadata.labels?.version;
        v.replicas[slot] = Number(d.spec?.replicas ?? 0);
      }
    }
    services[service] = v;
  }
  const cm = inNs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "deployment-info");
  return { services, record: cm?.data };
}

/** The cluster through the real kubectl (the sandbox must be running). */
export async function liveView(r: Rehearsal): Promise<ClusterView> {
  const list = JSON.parse(
    await r.kubectl(
      "get",
      "services,httproutes,deployments,configmaps",
      "-n",
      NS,
      "-o",
      "json",
    ),
  ) as { items: Obj[] };
  return view(list.items.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: NS } })));
}

/** The cluster as the sandbox last saved it (no sandbox needs to run). */
export async function persistedView(r: Rehearsal): Promise<ClusterView | undefined> {
  const state = await readState(`${r.sandboxDir}/state.json`).catch(() => undefined);
  return state ? view(state.store.objects.map((o) => o.object as unknown as Obj)) : undefined;
}

/** Every service's traffic, e.g. `blue=95,green=5 selector=blue`, for assertions. */
export function traffic(v: ClusterView): Record<string, string> {
  return Object.fromEntries(
    Object.entries(v.services).map(([s, x]) => [
      s,
      `blue=${x.weights?.blue},green=${x.weights?.green} selector=${x.selector}`,
    ]),
  );
}

/** The same traffic on every service. */
export function everywhere(text: string): Record<string, string> {
  return Object.fromEntries(SERVICES.map((s) => [s, text]));
}

/** The record's `run` entry (JSON), when there is one. */
export function runEntry(v: ClusterView): { runId: string; state: string } | undefined {
  const text = v.record?.run;
  return text ? JSON.parse(text) : undefined;
}

/** A deploy running in the background: its output so far, its run id, its exit. */
export class Background {
  readonly child: Deno.ChildProcess;
  out = "";
  status: Deno.CommandStatus | undefined;
  readonly done: Promise<void>;

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this.out += text;
    };
    this.done = Promise.all([drain(this.child.stdout), drain(this.child.stderr)])
      .then(async () => {
        this.status = await this.child.status;
      });
  }

  get runId(): string | undefined {
    return /^run (\S+)$/m.exec(this.out)?.[1];
  }

  /** The report the run wrote (its last stdout line names it). */
  async report(): Promise<Record<string, unknown> & { status: string }> {
    const path = /^report: (.+)$/m.exec(this.out)?.[1];
    if (!path) throw new Error(`no report line in:\n${this.out}`);
    return JSON.parse(await Deno.readTextFile(path));
  }

  /** The run's journal lines so far. */
  async events(r: Rehearsal): Promise<{ type: string; stage?: string }[]> {
    if (!this.runId) return [];
    const text = await Deno.readTextFile(`${r.dir}/runs/${this.runId}/events.jsonl`)
      .catch(() => "");
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  /**
   * Polls `condition` until it holds; fails if the process exits first. No time bound of
   * its own: the process's exit ends the wait.
   */
  async until(what: string, condition: () => Promise<boolean>): Promise<void> {
    while (!(await condition())) {
      if (this.status) throw new Error(`exited (${this.status.code}) before ${what}:\n${this.out}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

/** Whether every service sends 5% to `slot` (and 95% to the other). */
export function atFivePercent(v: ClusterView | undefined, slot: "blue" | "green"): boolean {
  const old = slot === "blue" ? "green" : "blue";
  return !!v &&
    SERVICES.every((s) =>
      v.services[s]?.weights?.[slot] === 5 && v.services[s]?.weights?.[old] === 95
    );
}

/**
 * Starts `deploy production <version>` in the background and waits until the canary's 5%
 * step is active: the journal says `canary-5` started (and did not finish) and the cluster
 * — live, or as persisted — sends 5% of every service to the new slot.
 */
export async function halfShifted(
  r: Rehearsal,
  version: string,
  o: { newSlot: "blue" | "green"; persisted: boolean; extra?: string[] },
): Promise<Background> {
  const run = new Background(
    r.args("deploy", "production", version, [...CONFIRM, ...o.extra ?? []]),
  );
  await run.until("the 5% step was active", async () => {
    const events = await run.events(r);
    const started = events.some((e) => e.type === "stage.started" && e.stage === "canary-5");
    const finished = events.some((e) => e.type === "stage.finished" && e.stage === "canary-5");
    if (!started || finished) return false;
    return atFivePercent(o.persisted ? await persistedView(r) : await liveView(r), o.newSlot);
  });
  return run;
}
