/**
 * Approvals: the typed phrase at a terminal, or `--confirm "<phrase>"` when not
 * interactive. Without either, the run is refused before anything happens.
 * @module
 */
import { type Clock, realClock } from "../clock/mod.ts";
import type { ApprovalRecord } from "../report/schema.ts";
import { InputError } from "../runner/mod.ts";

/**
 * How approvals can be given in this invocation.
 *
 * @example
 * ```ts
 * import type { ApprovalSource } from "./approve.ts";
 * const source: ApprovalSource = {
 *   confirm: "DEPLOY",
 *   interactive: false,
 *   user: "ada@example.com",
 *   readLine: () => Promise.resolve(null),
 *   write: () => {},
 * };
 * console.assert(source.confirm === "DEPLOY");
 * ```
 */
export interface ApprovalSource {
  /** The `--confirm` value, if given. */
  readonly confirm?: string | undefined;
  /** Whether a person is at a terminal. */
  readonly interactive: boolean;
  /** Who is running. */
  readonly user: string;
  /** Reads one line typed at the terminal. */
  readonly readLine: () => Promise<string | null>;
  /** Writes the prompt. */
  readonly write: (text: string) => void;
}

/**
 * Refuses, before anything runs, a run whose approvals cannot be given.
 *
 * @example
 * ```ts
 * import { precheckApprovals } from "./approve.ts";
 * import assert from "node:assert/strict";
 * const approvals = [{ stage: "confirm", phrase: "DEPLOY" }];
 * assert.throws(() => precheckApprovals(approvals, { confirm: "yes", interactive: false }));
 * precheckApprovals(approvals, { confirm: "DEPLOY", interactive: false });
 * ```
 *
 * @throws {InputError} When `--confirm` does not match, or no terminal and no `--confirm`.
 */
export function precheckApprovals(
  approvals: readonly { stage: string; phrase: string }[],
  source: Pick<ApprovalSource, "confirm" | "interactive">,
): void {
  for (const a of approvals) {
    if (source.confirm !== undefined && source.confirm !== a.phrase) {
      throw new InputError(
        `--confirm "${source.confirm}" does not match what stage "${a.stage}" requires: pass --confirm "${a.phrase}" exactly`,
      );
    }
    if (source.confirm === undefined && !source.interactive) {
      throw new InputError(
        `Stage "${a.stage}" needs the confirmation "${a.phrase}": run at a terminal to type it, or pass --confirm "${a.phrase}"`,
      );
    }
  }
}

/**
 * The prompt at a terminal: what the stage asks, and the exact phrase to type.
 *
 * @example
 * ```ts
 * import { confirmationPrompt } from "./approve.ts";
 * const prompt = confirmationPrompt("confirm", "DEPLOY TO PRODUCTION");
 * console.assert(prompt.includes('Type "DEPLOY TO PRODUCTION" to continue: '));
 * ```
 */
export function confirmationPrompt(stageId: string, phrase: string, message?: string): string {
  return `\n${message ?? `Stage "${stageId}" needs confirmation.`}\n` +
    `Type "${phrase}" to continue: `;
}

/**
 * What a wrong phrase typed at the terminal is told: what was typed, what was expected.
 *
 * @example
 * ```ts
 * import { wrongPhrase } from "./approve.ts";
 * const text = wrongPhrase("confirm", "DEPLOY TO PRODUCTION", "yes");
 * console.assert(text.includes('expected "DEPLOY TO PRODUCTION"'));
 * ```
 */
export function wrongPhrase(stageId: string, phrase: string, typed: string): string {
  return `${
    typed === "" ? "Nothing was typed" : `"${typed}" is not the phrase`
  }: expected "${phrase}" ` +
    `exactly (case and spaces count); stage "${stageId}" is not approved`;
}

/**
 * Makes the engine's `approve` function for an invocation: `--confirm` when given, else the
 * phrase typed at the terminal (a wrong one is told what was expected).
 *
 * @example
 * ```ts
 * import { approver } from "./approve.ts";
 * const written: string[] = [];
 * const approve = approver({
 *   interactive: true,
 *   user: "ada@example.com",
 *   readLine: () => Promise.resolve("deploy"),
 *   write: (t) => written.push(t),
 * });
 * const record = await approve("confirm", "DEPLOY");
 * console.assert(!record.approved && written.join("").includes('expected "DEPLOY"'));
 * ```
 */
export function approver(
  source: ApprovalSource,
  clock: Clock = realClock,
): (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord> {
  // A person answers in real time: the run's clock is held meanwhile (a virtual one must
  // not run ahead while the prompt waits), and the approval is stamped by it.
  return (stageId, phrase, message) =>
    clock.track("waiting for an approval", ask(source, clock, stageId, phrase, message));
}

async function ask(
  source: ApprovalSource,
  clock: Clock,
  stageId: string,
  phrase: string,
  message?: string,
): Promise<ApprovalRecord> {
  const at = () => new Date(clock.now()).toISOString();
  if (source.confirm !== undefined) {
    return {
      phrase,
      approved: source.confirm === phrase,
      by: source.user,
      at: at(),
      method: "flag",
    };
  }
  if (!source.interactive) {
    throw new Error(`stage "${stageId}" needs "${phrase}" and no one can type it here`);
  }
  source.write(`${confirmationPrompt(stageId, phrase, message)}`);
  const typed = (await source.readLine() ?? "").trim();
  const approved = typed === phrase;
  if (!approved) source.write(`${wrongPhrase(stageId, phrase, typed)}\n`);
  return { phrase, approved, by: source.user, at: at(), method: "tty" };
}

/**
 * Reads one line from standard input (null at its end with nothing read).
 *
 * @example
 * ```ts ignore
 * import { readStdinLine } from "./approve.ts";
 * const line = await readStdinLine();
 * ```
 */
export async function readStdinLine(): Promise<string | null> {
  const buf = new Uint8Array(1);
  const bytes: number[] = [];
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) {
      return bytes.length > 0 ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    }
    if (buf[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes));
    bytes.push(buf[0]!);
  }
}
