/**
 * `deno task plan`: the graph by levels, each stage's permissions, checks, gates and
 * approvals, as text, JSON or a Mermaid flowchart.
 * @module
 */
import { relative } from "node:path";
import { type Clock, realClock } from "../clock/mod.ts";
import { formatDuration } from "../dsl/duration.ts";
import type { StageDescription as StageSpec } from "../dsl/describe.ts";
import { InputError, type PreparedRun, type StageGrant } from "../runner/mod.ts";
import {
  fileSha256,
  gitCommit,
  imageDigests,
  type ImageLookup,
  PLAN_FORMAT,
  type PlanFile,
  sealPlan,
} from "../approval/plan.ts";

/** A stage as the plan shows it. */
export interface PlannedStage {
  readonly id: string;
  readonly kind: StageSpec["kind"];
  readonly rollback: boolean;
  readonly description?: string;
  readonly level: number | null;
  readonly needs: readonly string[];
  readonly watches: readonly string[];
  readonly when?: { readonly condition: boolean; readonly reason: string };
  readonly permissions: StageGrant;
  readonly checks: readonly { name: string; required: boolean }[];
  readonly gates: readonly string[];
  readonly analysis?: {
    duration: string;
    interval: string;
    window: string;
    initialDelay: string;
    onBreach: string;
  };
  readonly approval?: string;
  readonly timeout?: string;
  readonly retry?: { attempts: number; backoff: string };
}

/** The plan. */
export interface Plan {
  readonly pipeline: string;
  readonly environment: string;
  readonly version: string | null;
  readonly levels: readonly (readonly string[])[];
  readonly handlers: readonly string[];
  readonly stages: readonly PlannedStage[];
}

/**
 * The plan document of a prepared deploy, sealed with its digest: what approvers sign
 * (`deno task plan <env> <version> --out <file>`; a deploy with `--plan` builds it again and
 * compares).
 *
 * @param run The prepared run (it must have a version).
 * @param o The options given (`--option`), where to ask for image digests, who makes it.
 * @returns The plan file's content.
 * @throws {InputError} Without a version.
 *
 * @example
 * ```ts ignore
 * const plan = await planDocumentOf(prepared, { options: {}, lookup: {}, createdBy: "ada@example.com" });
 * ```
 */
export async function planDocumentOf(
  run: PreparedRun,
  o: {
    options: Readonly<Record<string, string>>;
    lookup: ImageLookup;
    createdBy: string;
    clock?: Clock;
  },
): Promise<PlanFile> {
  const clock = o.clock ?? realClock;
  const version = run.version ??
    (() => {
      throw new InputError("A plan is of a version: give one (deno task plan <env> <version>)");
    })();
  const envFile = run.env.file;
  const [pipelineSha, envSha, git, images] = await Promise.all([
    fileSha256(run.pipelineFile, clock),
    fileSha256(envFile, clock),
    gitCommit(clock),
    imageDigests(
      run.env.deployment.image_registry,
      Object.keys(run.env.infrastructure.replicas),
      version.version,
      { ...o.lookup, clock },
    ),
  ]);
  return await sealPlan({
    format: PLAN_FORMAT,
    environment: run.env.name,
    version: version.tag,
    pipeline: { file: relative(Deno.cwd(), run.pipelineFile), sha256: pipelineSha },
    environmentFile: { file: envFile, sha256: envSha },
    options: { ...o.options },
    git,
    images,
    graph: planOf(run),
    createdAt: new Date(clock.now()).toISOString(),
    createdBy: o.createdBy,
  });
}

/** Builds the plan of a prepared run. */
export function planOf(run: PreparedRun): Plan {
  const levelOf = new Map<string, number>();
  run.dag.levels.forEach((ids, i) => ids.forEach((id) => levelOf.set(id, i)));
  const stages = [...run.dag.stages.values()].map((s): PlannedStage => ({
    id: s.id,
    kind: s.kind,
    rollback: s.rollback,
    ...(s.description ? { description: s.description } : {}),
    level: levelOf.get(s.id) ?? null,
    needs: s.needs,
    watches: s.watches,
    ...(s.when ? { when: s.when } : {}),
    permissions: run.grants.get(s.id)!,
    checks: s.checks.map((c) => ({ name: c.name, required: c.required ?? true })),
    gates: s.gates.map((g) =>
      g.decision
        ? `${g.gate.source} (${g.decision.method}, ${+(g.decision.confidence * 100).toFixed(2)}% ` +
          `confidence, a look every ${formatDuration(g.decision.lookMs)})`
        : `${g.gate.source}${g.failureLimit > 0 ? ` (failure limit ${g.failureLimit})` : ""}`
    ),
    ...(s.gates.length > 0
      ? {
        analysis: {
          duration: formatDuration(s.analysis.durationMs),
          interval: formatDuration(s.analysis.intervalMs),
          window: formatDuration(s.analysis.windowMs || s.analysis.intervalMs),
          initialDelay: formatDuration(s.analysis.initialDelayMs),
          onBreach: s.analysis.onBreach,
        },
      }
      : {}),
    ...(s.approval ? { approval: s.approval.phrase } : {}),
    ...(s.timeoutMs !== undefined ? { timeout: formatDuration(s.timeoutMs) } : {}),
    ...(s.retry
      ? { retry: { attempts: s.retry.attempts, backoff: s.retry.backoff ?? "exponential" } }
      : {}),
  }));
  return {
    pipeline: run.definition.name,
    environment: run.env.name,
    version: run.version?.tag ?? null,
    levels: run.dag.levels,
    handlers: run.dag.handlers,
    stages,
  };
}

function permissionLine(g: StageGrant): string {
  const parts: string[] = [];
  for (const k of ["read", "write", "net", "env", "run", "ffi"] as const) {
    if (g[k].length > 0) parts.push(`${k}: ${g[k].join(", ")}`);
  }
  if (g.proxied.length > 0) parts.push(`via runner: ${g.proxied.join(", ")}`);
  if (g.kubernetes) {
    const k = g.kubernetes;
    parts.push(
      `kubernetes: namespace ${k.namespaces.join(", ")}; cluster reads ${
        k.clusterReads.join(", ")
      }; secret values ${k.secrets.length > 0 ? k.secrets.join(", ") : "none"}`,
    );
  }
  const text = parts.length > 0 ? parts.join("; ") : "none";
  if (!g.fullTrust) return text;
  const why = g.fullTrustReason !== undefined
    ? `marked: ${g.fullTrustReason}`
    : g.run.length > 0
    ? "runs programs outside Deno's limits"
    : "loads native code outside Deno's limits";
  return `${text}  [FULL TRUST: ${why}]`;
}

/** The plan as text for people. */
export function formatPlanText(plan: Plan): string {
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const lines = [
    `pipeline ${plan.pipeline} → ${plan.environment}${plan.version ? ` @ ${plan.version}` : ""}`,
    "",
  ];
  const describe = (s: PlannedStage, indent: string) => {
    lines.push(`${indent}${s.id}${s.description ? ` — ${s.description}` : ""}`);
    const sub = `${indent}    `;
    if (s.needs.length > 0) lines.push(`${sub}needs: ${s.needs.join(", ")}`);
    if (s.when && !s.when.condition) lines.push(`${sub}skipped: ${s.when.reason}`);
    if (s.kind !== "normal") {
      lines.push(
        `${sub}runs ${s.kind === "onFailure" ? "when a stage fails" : "always, at the end"}${
          s.watches.length > 0 ? ` (watches ${s.watches.join(", ")})` : ""
        }${s.rollback ? "; this is the rollback" : ""}`,
      );
    }
    lines.push(`${sub}permissions: ${permissionLine(s.permissions)}`);
    if (s.approval) lines.push(`${sub}approval: type "${s.approval}"`);
    if (s.checks.length > 0) {
      lines.push(
        `${sub}checks: ${
          s.checks.map((c) => c.required ? c.name : `${c.name} (non-critical)`).join(", ")
        }`,
      );
    }
    if (s.gates.length > 0 && s.analysis) {
      lines.push(
        `${sub}gates: ${
          s.gates.join(", ")
        }; measured every ${s.analysis.interval} over ${s.analysis.window} for ${s.analysis.duration} (first after ${s.analysis.initialDelay}), on breach: ${s.analysis.onBreach}`,
      );
    }
    if (s.timeout) lines.push(`${sub}timeout: ${s.timeout}`);
    if (s.retry) {
      lines.push(`${sub}retry: ${s.retry.attempts} attempts, ${s.retry.backoff} backoff`);
    }
  };
  plan.levels.forEach((ids, i) => {
    lines.push(`level ${i}${ids.length > 1 ? ` (${ids.length} stages run concurrently)` : ""}`);
    for (const id of ids) describe(byId.get(id)!, "  ");
  });
  if (plan.handlers.length > 0) {
    lines.push("handlers");
    for (const id of plan.handlers) describe(byId.get(id)!, "  ");
  }
  return lines.join("\n");
}

function mermaidId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** The plan as a Mermaid flowchart. */
export function formatPlanMermaid(plan: Plan): string {
  const lines = ["flowchart TD"];
  for (const s of plan.stages) {
    const label = `${s.id}${s.gates.length > 0 ? `<br/>${s.gates.join("<br/>")}` : ""}${
      s.approval ? "<br/>approval" : ""
    }`.replace(/"/g, "'");
    lines.push(
      s.kind === "normal"
        ? `  ${mermaidId(s.id)}["${label}"]`
        : `  ${mermaidId(s.id)}{{"${label}"}}`,
    );
  }
  for (const s of plan.stages) {
    for (const n of s.needs) lines.push(`  ${mermaidId(n)} --> ${mermaidId(s.id)}`);
    if (s.kind !== "normal") {
      const watched = s.watches.length > 0 ? s.watches : plan.levels.at(-1) ?? [];
      const edge = s.kind === "onFailure" ? "-. on failure .->" : "-. finally .->";
      for (const w of watched) lines.push(`  ${mermaidId(w)} ${edge} ${mermaidId(s.id)}`);
    }
  }
  return lines.join("\n");
}
