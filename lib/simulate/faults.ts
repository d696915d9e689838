/**
 * A drawn fault as the sandbox's scenario text (`parseScenario`'s forms: size and onset
 * after the version is first deployed, e.g. `high-error-rate:3.00%@240s`), and the fault
 * that text amounts to (recorded beside the one drawn, so the metrics count what ran). The
 * sandbox has no end to a metrics outage yet: a drawn gap becomes metrics down from its
 * onset to the end of the run.
 * @module
 */
import type { Fault } from "./schedule.ts";

/**
 * The fault injected for a drawn one: the sandbox scenario, and the fault it amounts to.
 *
 * @example
 * ```ts
 * import type { InjectedFault } from "./faults.ts";
 * const i: InjectedFault = { scenario: undefined, fault: { kind: "healthy" } };
 * ```
 */
export interface InjectedFault {
  /** The sandbox scenario text (undefined: none). */
  readonly scenario: string | undefined;
  /** What that scenario amounts to. */
  readonly fault: Fault;
}

const seconds = (ms: number | undefined) => `${Math.round((ms ?? 0) / 1000)}s`;

/**
 * The scenario that injects a drawn fault.
 *
 * @param drawn The fault drawn for the run.
 * @returns The scenario text and the fault it amounts to.
 *
 * @example
 * ```ts
 * import { inject } from "./faults.ts";
 * console.assert(inject({ kind: "crash", onsetMs: 0 }).scenario === "crashloop");
 * console.assert(inject({ kind: "errors", errorRate: 0.03, onsetMs: 240_000 }).scenario === "high-error-rate:3.00%@240s");
 * ```
 */
export function inject(drawn: Fault): InjectedFault {
  const onsetMs = Math.round((drawn.onsetMs ?? 0) / 1000) * 1000;
  switch (drawn.kind) {
    case "errors": {
      const pct = ((drawn.errorRate ?? 0) * 100).toFixed(2);
      return {
        scenario: `high-error-rate:${pct}%@${seconds(onsetMs)}`,
        fault: { kind: "errors", errorRate: Number(pct) / 100, onsetMs },
      };
    }
    case "latency":
      return {
        scenario: `latency:${Math.round(drawn.latencyMs ?? 0)}ms@${seconds(onsetMs)}`,
        fault: { kind: "latency", latencyMs: Math.round(drawn.latencyMs ?? 0), onsetMs },
      };
    case "metrics-gap":
      return {
        scenario: `metrics-down@${seconds(onsetMs)}`,
        fault: { kind: "metrics-gap", onsetMs }, // no duration: down from its onset
      };
    case "crash":
      return { scenario: "crashloop", fault: { kind: "crash", onsetMs: 0 } };
    default:
      return { scenario: undefined, fault: { kind: "healthy" } };
  }
}

/**
 * The whole scenario of a run: its version's fault and, when its API is flaky, the
 * `api-chaos` part (`parseApiChaos`'s form), joined as the sandbox reads them.
 *
 * @param injected The version's fault, as injected.
 * @param apiChaos The share of API requests that fail (null: none).
 * @returns The scenario text (undefined: nothing).
 *
 * @example
 * ```ts
 * import { inject, runScenario } from "./faults.ts";
 * console.assert(runScenario(inject({ kind: "crash", onsetMs: 0 }), 0.025) === "crashloop,api-chaos:2.5%");
 * console.assert(runScenario(inject({ kind: "healthy" }), null) === undefined);
 * ```
 */
export function runScenario(injected: InjectedFault, apiChaos: number | null): string | undefined {
  const chaos = apiChaos === null ? undefined : `api-chaos:${Number((apiChaos * 100).toFixed(2))}%`;
  const parts = [injected.scenario, chaos].filter((x): x is string => x !== undefined);
  return parts.length ? parts.join(",") : undefined;
}
