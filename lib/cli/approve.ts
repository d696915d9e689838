/**
 * Approvals: the typed phrase at a terminal, or `--confirm "<phrase>"` when not
 * interactive. Without either, the run is refused before anything happens.
 * @module
 */
import type { ApprovalRecord } from "../report/schema.ts";
import { InputError } from "../runner/errors.ts";

/** How approvals can be given in this invocation. */
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

/** Makes the engine's `approve` function for an invocation. */
export function approver(
  source: ApprovalSource,
): (stageId: string, phrase: string, message?: string) => Promise<ApprovalRecord> {
  return async (stageId, phrase, message) => {
    const at = () => new Date().toISOString();
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
    source.write(
      `\n${message ?? `Stage "${stageId}" needs confirmation.`}\nType "${phrase}" to continue: `,
    );
    const line = await source.readLine();
    return {
      phrase,
      approved: (line ?? "").trim() === phrase,
      by: source.user,
      at: at(),
      method: "tty",
    };
  };
}

/** Reads one line from standard input. */
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
