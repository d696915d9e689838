/**
 * The invariants every rehearsal must keep, checked from what the sandbox showed (not from
 * what the pipeline says): a version whose gates breached never reaches 100% of traffic;
 * traffic always sums to 100% and ends on one version whose pods are Ready; the lock is
 * released; the report validates and verifies against its journal; no secret value is in
 * any artefact of the run folder.
 * @module
 */
import { join } from "node:path";
import { verifyJournal } from "../journal/journal.ts";
import { reportSchema } from "../report/schema.ts";
import type { Report } from "../report/types.ts";
import type { Observation, ServiceTraffic, TrafficState } from "./observe.ts";

/**
 * The invariants, by name.
 *
 * @example
 * ```ts
 * import { INVARIANTS } from "./invariants.ts";
 * console.assert(INVARIANTS.includes("lock-released"));
 * ```
 */
export const INVARIANTS = [
  "breach-not-promoted",
  "traffic-sums-to-100",
  "ends-on-one-ready-version",
  "lock-released",
  "report-verifies",
  "no-secret-in-artefacts",
  "rehearsal-completes",
] as const;

/**
 * One of {@linkcode INVARIANTS}.
 *
 * @example
 * ```ts
 * import type { InvariantName } from "./invariants.ts";
 * const name: InvariantName = "report-verifies";
 * ```
 */
export type InvariantName = typeof INVARIANTS[number];

/**
 * An invariant a run broke, and how.
 *
 * @example
 * ```ts
 * import type { Violation } from "./invariants.ts";
 * const v: Violation = { invariant: "lock-released", message: "Lease lock is held by x" };
 * ```
 */
export interface Violation {
  /** Which invariant. */
  readonly invariant: InvariantName;
  /** What was seen, secrets never quoted. */
  readonly message: string;
}

/**
 * What the checks read of one run.
 *
 * @example
 * ```ts
 * import type { RunEvidence } from "./invariants.ts";
 * const f = (e: RunEvidence) => e.version;
 * ```
 */
export interface RunEvidence {
  /** The version deployed (the `version` label, e.g. `1.1.0`). */
  readonly version: string;
  /** The run folder. */
  readonly runDir: string;
  /** The report as the run returned it. */
  readonly report: Report;
  /** What the sandbox showed. */
  readonly observation: Observation;
}

/** The slot of each service that runs `version` at the end (null: none). */
export function newSlots(e: RunEvidence): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const s of e.observation.slots) {
    out[s.service] ??= null;
    if (s.version === e.version) out[s.service] = s.slot;
  }
  return out;
}

/** The share of a service's traffic on `slot`: the route's weight, else the selector's. */
export function shareOn(t: ServiceTraffic | undefined, slot: string | null): number {
  if (!t || slot === null) return 0;
  if (t.weights) {
    const total = Object.values(t.weights).reduce((a, b) => a + b, 0);
    return total > 0 ? Math.round(((t.weights[slot] ?? 0) / total) * 100) : 0;
  }
  return t.selector === slot ? 100 : 0;
}

/**
 * Whether every service has the whole of its traffic on its new slot in `state`.
 *
 * @example
 * ```ts
 * import { allOnNew } from "./invariants.ts";
 * const state = { atMs: 0, services: { web: { weights: { green: 100, blue: 0 }, selector: "green" } } };
 * console.assert(allOnNew(state, { web: "green" }));
 * ```
 */
export function allOnNew(state: TrafficState, slots: Record<string, string | null>): boolean {
  const services = Object.keys(slots);
  return services.length > 0 &&
    services.every((s) => shareOn(state.services[s], slots[s] ?? null) === 100);
}

/** When the first gate breached (the end of its stage), or undefined. */
export function breachedAt(report: Report): number | undefined {
  const times = report.stages
    .filter((s) => (s.gates ?? []).some((g) => g.verdict === "failed"))
    .map((s) => Date.parse(s.finishedAt ?? report.finishedAt));
  return times.length ? Math.min(...times) : undefined;
}

function breachNotPromoted(e: RunEvidence): Violation[] {
  const at = breachedAt(e.report);
  if (at === undefined) return [];
  const slots = newSlots(e);
  const h = e.observation.history;
  // Traffic moving to all on the new version after the breach (a version that had all of it
  // already, and breached in the last step, is being rolled back from there).
  const bad = h.find((s, i) =>
    s.atMs >= at && allOnNew(s, slots) && !(i > 0 && allOnNew(h[i - 1]!, slots))
  );
  if (!bad) return [];
  return [{
    invariant: "breach-not-promoted",
    message: `a gate breached at ${new Date(at).toISOString()}, yet ${e.version} was given ` +
      `100% of traffic at ${new Date(bad.atMs).toISOString()}`,
  }];
}

function trafficSums(e: RunEvidence): Violation[] {
  for (const state of e.observation.history) {
    for (const [service, t] of Object.entries(state.services)) {
      if (!t.weights) continue;
      const total = Object.values(t.weights).reduce((a, b) => a + b, 0);
      if (total !== 100) {
        return [{
          invariant: "traffic-sums-to-100",
          message: `${service}'s route weights sum to ${total}% at ${
            new Date(state.atMs).toISOString()
          } (${JSON.stringify(t.weights)})`,
        }];
      }
    }
  }
  return [];
}

function endsOnOneReadyVersion(e: RunEvidence): Violation[] {
  const last = e.observation.history.at(-1);
  const problems: string[] = [];
  const versions = new Set<string>();
  for (const [service, t] of Object.entries(last?.services ?? {})) {
    const slots = e.observation.slots.filter((s) => s.service === service);
    const live = slots.filter((s) => shareOn(t, s.slot) === 100);
    if (live.length !== 1) {
      problems.push(`${service}'s traffic is split (${JSON.stringify(t.weights ?? t.selector)})`);
      continue;
    }
    const slot = live[0]!;
    if (t.weights && t.selector !== null && t.selector !== slot.slot) {
      problems.push(
        `${service}'s route sends all to ${slot.slot}, its Service selects ${t.selector}`,
      );
    }
    versions.add(slot.version ?? "unknown");
    if (!(slot.replicas > 0 && slot.ready >= slot.replicas)) {
      problems.push(`${service}-${slot.slot} has ${slot.ready} of ${slot.replicas} pods Ready`);
    }
  }
  if (versions.size > 1) problems.push(`services end on versions ${[...versions].join(", ")}`);
  return problems.map((p) => ({ invariant: "ends-on-one-ready-version", message: p }));
}

function lockReleased(e: RunEvidence): Violation[] {
  return e.observation.leases.filter((l) => l.holder !== "").map((l) => ({
    invariant: "lock-released" as const,
    message: `Lease ${l.name} is still held by "${l.holder}" after the run`,
  }));
}

async function reportVerifies(e: RunEvidence): Promise<Violation[]> {
  const path = join(e.runDir, "report.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    return [{ invariant: "report-verifies", message: `${path}: ${(err as Error).message}` }];
  }
  const parsed = reportSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return [{
      invariant: "report-verifies",
      message: `${path} does not match the schema: ${first?.path.join(".")}: ${first?.message}`,
    }];
  }
  const chain = await verifyJournal(join(e.runDir, parsed.data.events.file), {
    digest: parsed.data.events.digest,
  });
  return chain.ok ? [] : [{
    invariant: "report-verifies",
    message:
      `the journal does not verify against the report: line ${chain.brokenAt}: ${chain.reason}`,
  }];
}

async function* files(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* files(path);
    else if (entry.isFile) yield path;
  }
}

/** Secrets shorter than this are not searched for (they would match by chance). */
const MIN_SECRET = 8;

/** A secret as it may be written: as is, base64 (both alphabets), hex, URL-encoded. */
function forms(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const b64 = btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return [
    ...new Set([
      secret,
      b64,
      b64.replaceAll("+", "-").replaceAll("/", "_"),
      hex,
      hex.toUpperCase(),
      encodeURIComponent(secret),
    ]),
  ];
}

async function noSecret(e: RunEvidence): Promise<Violation[]> {
  const needles = e.observation.secrets.filter((s) => s.length >= MIN_SECRET).flatMap(forms);
  const found: Violation[] = [];
  for await (const path of files(e.runDir)) {
    const text = await Deno.readTextFile(path);
    const hits = needles.filter((n) => text.includes(n)).length;
    if (hits > 0) {
      // Never the value itself: where, and how many.
      found.push({
        invariant: "no-secret-in-artefacts",
        message: `${path} contains ${hits} seeded secret value(s)`,
      });
    }
  }
  return found;
}

/**
 * Checks every invariant on one run.
 *
 * @param e The version, run folder, report and observation.
 * @returns The violations (empty: the run kept every invariant).
 *
 * @example
 * ```ts ignore
 * import { checkInvariants } from "./invariants.ts";
 * const violations = await checkInvariants({ version: "1.1.0", runDir, report, observation });
 * ```
 */
export async function checkInvariants(e: RunEvidence): Promise<Violation[]> {
  return [
    ...breachNotPromoted(e),
    ...trafficSums(e),
    ...endsOnOneReadyVersion(e),
    ...lockReleased(e),
    ...await reportVerifies(e),
    ...await noSecret(e),
  ];
}
