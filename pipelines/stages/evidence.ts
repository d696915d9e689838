/**
 * The evidence a failed slot leaves before its pods go: each pod's state and last log
 * lines, and the Events about its pods, ReplicaSets and Deployment — what `kubectl logs
 * --tail` and `kubectl describe` would have shown — bounded in size so it fits the
 * report, secret-looking values masked (the runner redacts every known secret from stage
 * outputs and logs as well).
 *
 * Bounds: at most {@linkcode EVIDENCE_LIMITS}`.lines` lines a pod (each cut to `lineChars`),
 * `eventsPerObject` Events an object (the latest), and all of it within a byte budget
 * shared by the slots of one rollback (`budgetBytes`, split evenly between pods): a stage's
 * output over the runner's limit (64 KiB, `MAX_REPORTED_OUTPUT`) would be summarised away,
 * so the older lines give way first. The whole last lines (up to `lines` and
 * `bytesPerPod`) also go to the stage's log.
 * @module
 */
import type { StageContext } from "../../mod.ts";
import type { KubeObject, KubernetesCapability } from "../../lib/kubernetes/capability.ts";

/**
 * The bounds of the evidence.
 *
 * @example
 * ```ts
 * import { EVIDENCE_LIMITS } from "./evidence.ts";
 * console.assert(EVIDENCE_LIMITS.lines === 50);
 * ```
 */
export const EVIDENCE_LIMITS = {
  /** Last log lines read per pod. */
  lines: 50,
  /** Bytes of log per pod, at most (the stage's log; the report gets its share of the budget). */
  bytesPerPod: 16_384,
  /** Characters per log line or event message. */
  lineChars: 400,
  /** Events per object (the latest). */
  eventsPerObject: 20,
  /**
   * The byte budget of one rollback's evidence in the report, all slots together: the
   * runner keeps a stage's output whole up to 64 KiB, and the rest of the rollback's output
   * (its services, messages and slots) takes about 3 KiB for four services.
   */
  budgetBytes: 56_000,
} as const;

/**
 * One Event about an object, as `kubectl describe` lists it.
 *
 * @example
 * ```ts
 * import type { EventEvidence } from "./evidence.ts";
 * const e: EventEvidence = { type: "Warning", reason: "BackOff", message: "Back-off restarting failed container", count: 3, last: "2026-01-01T00:00:00Z" };
 * ```
 */
export interface EventEvidence {
  /** `Normal` or `Warning`. */
  type: string;
  /** e.g. `BackOff`, `Unhealthy`, `Killing`, `ScalingReplicaSet`. */
  reason: string;
  /** What it said (cut, masked). */
  message: string;
  /** How many times it happened. */
  count: number;
  /** When it last happened. */
  last?: string | undefined;
}

/**
 * One pod's evidence.
 *
 * @example
 * ```ts
 * import type { PodEvidence } from "./evidence.ts";
 * const p: PodEvidence = { pod: "web-green-abc", phase: "Running", ready: false, restarts: 4, state: "CrashLoopBackOff", logs: ["fatal: ..."], logsCut: 0, events: [] };
 * ```
 */
export interface PodEvidence {
  /** The pod's name. */
  pod: string;
  /** `status.phase`. */
  phase: string;
  /** Whether its Ready condition was True. */
  ready: boolean;
  /** Restarts of its containers. */
  restarts: number;
  /** Its first container's waiting or terminated reason (e.g. `CrashLoopBackOff`), if any. */
  state?: string | undefined;
  /** Its last log lines, oldest first. */
  logs: string[];
  /** How many of the last lines read were left out of the report for its size. */
  logsCut: number;
  /** Why its log could not be read, when it could not. */
  logError?: string | undefined;
  /** The Events about it, latest first. */
  events: EventEvidence[];
}

/**
 * A slot's evidence.
 *
 * @example
 * ```ts
 * import type { SlotEvidence } from "./evidence.ts";
 * const s: SlotEvidence = { deployment: "web-green", pods: [], objects: [] };
 * ```
 */
export interface SlotEvidence {
  /** The Deployment. */
  deployment: string;
  /** Its pods when it was scaled down. */
  pods: PodEvidence[];
  /** The Events about the Deployment and its ReplicaSets, by object (`ReplicaSet/<name>`). */
  objects: { object: string; events: EventEvidence[] }[];
  /** Why some evidence is missing, when it is. */
  error?: string | undefined;
}

/** `password=...`, `token: ...`, `Bearer ...`, `user:pass@` in a URL: masked. */
const SECRET_LIKE: [RegExp, string][] = [
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***"],
  [/(\/\/[^/\s:@]+:)[^@\s/]+@/g, "$1***@"],
  [
    /\b((?:[a-z_]*_)?(?:password|passwd|secret|token|api[_-]?key|authorization)["']?\s*[:=]\s*["']?)[^\s"',}&]+/gi,
    "$1***",
  ],
];

/**
 * Masks secret-looking values in a line and cuts it to `max` characters.
 *
 * @param line The text.
 * @param max Characters kept (default {@linkcode EVIDENCE_LIMITS}`.lineChars`).
 * @returns The masked, cut text.
 *
 * @example
 * ```ts
 * import { maskLine } from "./evidence.ts";
 * import assert from "node:assert/strict";
 * assert.equal(maskLine("connecting with password=hunter22 to db"), "connecting with password=*** to db");
 * assert.equal(maskLine("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
 * ```
 */
export function maskLine(line: string, max: number = EVIDENCE_LIMITS.lineChars): string {
  let out = line;
  for (const [pattern, replacement] of SECRET_LIKE) out = out.replace(pattern, replacement);
  return out.length <= max ? out : `${out.slice(0, max - 1)}…`;
}

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s).length;
/** What a value takes in the report's JSON. */
const jsonBytes = (v: unknown) => bytes(JSON.stringify(v));

/**
 * The last lines of a log (at most {@linkcode EVIDENCE_LIMITS}`.lines`, each masked and cut)
 * that fit `budget` bytes, and how many of those did not fit.
 *
 * @param text The log.
 * @param budget Bytes.
 * @returns The lines kept (oldest first) and the count left out.
 *
 * @example
 * ```ts
 * import { lastLines } from "./evidence.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(lastLines("a\nb\nc\n", 8), { lines: ["b", "c"], cut: 1 });
 * ```
 */
export function lastLines(text: string, budget: number): { lines: string[]; cut: number } {
  const all = text.split("\n").filter((l) => l.trim() !== "").slice(-EVIDENCE_LIMITS.lines)
    .map((l) => maskLine(l));
  const lines: string[] = [];
  let used = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    const size = jsonBytes(all[i]!) + 1; // as the report's JSON holds it, with its comma
    if (used + size > budget) break;
    used += size;
    lines.unshift(all[i]!);
  }
  return { lines, cut: all.length - lines.length };
}

/** The Events about one object, Warnings first, then latest first; at most `eventsPerObject`. */
function eventsOf(all: readonly KubeObject[], kind: string, name: string): EventEvidence[] {
  return all.filter((e) => {
    const o = (e.involvedObject ?? {}) as { kind?: string; name?: string };
    return o.kind === kind && o.name === name;
  }).map((e): EventEvidence => {
    const last = String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? "") || undefined;
    return {
      type: String(e.type ?? "Normal"),
      reason: String(e.reason ?? ""),
      message: maskLine(String(e.message ?? ""), 160),
      count: Number(e.count ?? 1) || 1,
      ...(last ? { last } : {}),
    };
  }).sort((a, b) =>
    Number(b.type === "Warning") - Number(a.type === "Warning") ||
    String(b.last ?? "").localeCompare(String(a.last ?? ""))
  ).slice(0, EVIDENCE_LIMITS.eventsPerObject);
}

/** The first events that fit `budget` bytes, and the bytes they take. */
function within(events: EventEvidence[], budget: number): [EventEvidence[], number] {
  const kept: EventEvidence[] = [];
  let used = 0;
  for (const e of events) {
    const size = jsonBytes(e) + 1;
    if (used + size > budget) break;
    used += size;
    kept.push(e);
  }
  return [kept, used];
}

interface PodStatus {
  phase?: string;
  conditions?: { type?: string; status?: string }[];
  containerStatuses?: {
    restartCount?: number;
    state?: Record<string, { reason?: string }>;
  }[];
}

function podState(pod: KubeObject) {
  const status = (pod.status ?? {}) as PodStatus;
  const first = status.containerStatuses?.[0];
  const state = Object.values(first?.state ?? {}).find((s) => s?.reason)?.reason;
  return {
    phase: status.phase ?? "Unknown",
    ready: status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    restarts: (status.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    ...(state ? { state } : {}),
  };
}

/**
 * Options of {@linkcode slotEvidence}.
 *
 * @example
 * ```ts
 * import type { EvidenceOptions } from "./evidence.ts";
 * const o: EvidenceOptions = { namespace: "shop", deployment: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web-green" } }, podBytes: 800 };
 * ```
 */
export interface EvidenceOptions {
  /** The slot's namespace. */
  namespace: string;
  /** The slot's Deployment (its selector finds the pods and ReplicaSets). */
  deployment: KubeObject;
  /**
   * Each pod's share of the report's budget, in bytes (half of it at most for its Events,
   * the rest for its last lines); the Deployment's and ReplicaSets' Events share one more.
   */
  podBytes: number;
  /** The namespace's Events, when already listed (one list for all slots of a rollback). */
  events?: () => Promise<KubeObject[]>;
}

/**
 * Reads a slot's evidence before it is scaled down: its pods (state, last log lines, their
 * Events) and the Events about its Deployment and ReplicaSets. Never throws: what cannot be
 * read is said in `error` / `logError`. The whole last lines go to the stage's log too.
 *
 * @param ctx The stage (it must declare `uses("kubernetes")`).
 * @param o The namespace, the Deployment and the budget.
 * @returns The evidence, within the budget.
 *
 * @example
 * ```ts ignore
 * const evidence = await slotEvidence(ctx, { namespace, deployment: d, podBytes: 800 });
 * ```
 */
export async function slotEvidence(ctx: StageContext, o: EvidenceOptions): Promise<SlotEvidence> {
  const k = ctx.use<KubernetesCapability>("kubernetes");
  const name = o.deployment.metadata.name;
  const out: SlotEvidence = { deployment: name, pods: [], objects: [] };
  try {
    const match = ((o.deployment.spec ?? {}) as { selector?: { matchLabels?: object } })
      .selector?.matchLabels as Record<string, string> | undefined;
    const labelSelector = Object.entries(match ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    if (!labelSelector) throw new Error(`${name} has no selector.matchLabels`);
    const [pods, sets, events] = await Promise.all([
      k.list({ apiVersion: "v1", kind: "Pod" }, o.namespace, { labelSelector }),
      k.list({ apiVersion: "apps/v1", kind: "ReplicaSet" }, o.namespace, { labelSelector }),
      o.events ? o.events() : k.list({ apiVersion: "v1", kind: "Event" }, o.namespace),
    ]);
    for (const pod of pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      out.pods.push(await podEvidence(ctx, k, o.namespace, pod, events, o.podBytes));
    }
    let left = o.podBytes;
    const objects = [["Deployment", name], ...sets.map((s) => ["ReplicaSet", s.metadata.name])];
    for (const [kind, objName] of objects) {
      const [list, used] = within(eventsOf(events, kind!, objName!), left);
      left -= used;
      if (list.length > 0) out.objects.push({ object: `${kind}/${objName}`, events: list });
    }
  } catch (error) {
    out.error = `evidence of ${name} not read: ${maskLine((error as Error).message)}`;
    ctx.warn(out.error);
  }
  return out;
}

async function podEvidence(
  ctx: StageContext,
  k: KubernetesCapability,
  namespace: string,
  pod: KubeObject,
  events: readonly KubeObject[],
  share: number,
): Promise<PodEvidence> {
  const name = pod.metadata.name;
  const [mine, used] = within(eventsOf(events, "Pod", name), Math.floor(share / 2));
  const entry: PodEvidence = { pod: name, ...podState(pod), logs: [], logsCut: 0, events: mine };
  try {
    const text = await k.podLogs(namespace, name, { tailLines: EVIDENCE_LIMITS.lines });
    const whole = lastLines(text, EVIDENCE_LIMITS.bytesPerPod);
    ctx.log(`evidence: ${name}: last ${whole.lines.length} log line(s):`);
    for (const line of whole.lines) ctx.log(`  ${line}`);
    const kept = lastLines(text, share - used);
    entry.logs = kept.lines;
    entry.logsCut = kept.cut;
  } catch (error) {
    entry.logError = maskLine((error as Error).message, 200);
  }
  return entry;
}

/** The next thing to leave out of a pod or object, least telling first; false: nothing. */
function shed(slot: SlotEvidence): boolean {
  const pods = [...slot.pods].sort((a, b) => jsonBytes(b) - jsonBytes(a));
  const objects = [...slot.objects].sort((a, b) => jsonBytes(b) - jsonBytes(a));
  const steps: (() => boolean)[] = [
    // the older lines of the largest pod, while each keeps its last one
    () => cutLine(pods.find((p) => p.logs.length > 1)),
    // all but the latest Event of the Deployment and its ReplicaSets
    () => popEvent(objects.find((o) => o.events.length > 1)),
    // the pods' other Events (Warnings are first: they stay)
    () => popEvent(pods.find((p) => p.events.length > 1)),
    // the ReplicaSets' last Events, then the Deployment's
    () => dropObject(slot, objects.find((o) => o.object.startsWith("ReplicaSet/"))),
    () => dropObject(slot, objects[0]),
    // at last, each pod's last line and Event
    () => cutLine(pods.find((p) => p.logs.length > 0)),
    () => popEvent(pods.find((p) => p.events.length > 0)),
  ];
  return steps.some((step) => step());
}

function cutLine(p: PodEvidence | undefined): boolean {
  if (!p) return false;
  p.logs.shift();
  p.logsCut++;
  return true;
}

function popEvent(o: { events: EventEvidence[] } | undefined): boolean {
  return o ? o.events.pop() !== undefined : false;
}

function dropObject(slot: SlotEvidence, o: SlotEvidence["objects"][number] | undefined): boolean {
  if (!o) return false;
  slot.objects.splice(slot.objects.indexOf(o), 1);
  return true;
}

/**
 * Trims slots' evidence, in place, until all of it takes at most `budget` bytes of JSON,
 * least telling first, from the largest slot and pod: the older log lines (each pod keeps
 * its last one as long as anything else can go), the Deployment's and ReplicaSets' Events
 * but their latest, the pods' other Events (Warnings are listed first, so they stay), the
 * ReplicaSets' and then the Deployment's last Event, and only then a pod's last line.
 *
 * @param slots The evidence, one entry a slot.
 * @param budget Bytes (default {@linkcode EVIDENCE_LIMITS}`.budgetBytes`).
 * @returns The bytes it takes now.
 *
 * @example
 * ```ts
 * import { fitEvidence, type SlotEvidence } from "./evidence.ts";
 * import assert from "node:assert/strict";
 * const slot: SlotEvidence = {
 *   deployment: "web-green",
 *   pods: [{ pod: "web-green-1", phase: "Running", ready: false, restarts: 1, logs: ["a".repeat(300), "b".repeat(300)], logsCut: 0, events: [] }],
 *   objects: [],
 * };
 * assert.ok(fitEvidence([slot], 500) <= 500);
 * assert.deepEqual(slot.pods[0]!.logs, ["b".repeat(300)]);
 * ```
 */
export function fitEvidence(
  slots: SlotEvidence[],
  budget: number = EVIDENCE_LIMITS.budgetBytes,
): number {
  let size = jsonBytes(slots);
  while (size > budget) {
    const largest = [...slots].sort((a, b) => jsonBytes(b) - jsonBytes(a));
    if (!largest.some((slot) => shed(slot))) break;
    size = jsonBytes(slots);
  }
  return size;
}
