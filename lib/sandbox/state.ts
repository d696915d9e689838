/**
 * The sandbox's saved state (`state.json`): its shape, atomic writes, and a reader that
 * refuses a corrupt or over-the-limits state with `SandboxStateError` before anything is written.
 * @module
 */
import type { KObject } from "./resources.ts";
import { stateProblems } from "./limits.ts";

/** What `<stateDir>/state.json` holds. */
export interface SandboxState {
  /** Format version. */
  version: 1;
  /** When it was written (ISO, on the sandbox's clock). */
  savedAt: string;
  /**
   * The sandbox clock's `now()` (epoch ms) when it was written. Timestamps in the store
   * (leases, events, conditions) are no later than this: a sandbox started on this state
   * must start its clock no earlier (a virtual clock may have run ahead of real time).
   * Missing in states written before it existed.
   */
  clockAt?: number;
  /** The store snapshot. */
  store: { resourceVersion: number; objects: { type: string; object: KObject }[] };
  /** Per `namespace|image`: versions in the order they were first deployed. */
  versions: Record<string, string[]>;
}

/**
 * Write a file atomically: write a temporary file beside it, fsync, then rename over it,
 * so a kill at any moment leaves either the old or the new content.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
}

/**
 * A saved sandbox state that cannot be loaded: unreadable, not JSON, of an unknown format,
 * or over the sandbox's limits (`SANDBOX_LIMITS`). The message names the file, says what is
 * wrong and how to start afresh: `--reset` discards the saved state. Nothing was changed.
 *
 * @example
 * ```ts
 * import { SandboxStateError } from "./state.ts";
 * import assert from "node:assert/strict";
 * const error = new SandboxStateError("/tmp/sandbox/state.json", ["unknown format"]);
 * assert.match(error.message, /--reset/);
 * assert.ok(error instanceof SyntaxError);
 * ```
 */
export class SandboxStateError extends SyntaxError {
  /** The state file. */
  readonly path: string;
  /** What is wrong with it. */
  readonly problems: readonly string[];

  /**
   * Builds the error for a state file.
   *
   * @param path The state file.
   * @param problems What is wrong with it (at least one).
   */
  constructor(path: string, problems: readonly string[]) {
    super(
      `Cannot load the sandbox state ${path}: ${problems.join("; ")}. ` +
        "Pass --reset to discard the saved state and start from a freshly seeded cluster",
    );
    this.name = "SandboxStateError";
    this.path = path;
    this.problems = problems;
  }
}

/**
 * Read the state file and check it against the sandbox's limits; undefined when missing.
 * Reads only: nothing is written or removed.
 *
 * @param path The state file (`<stateDir>/state.json`).
 * @returns The state, or undefined when there is no such file.
 * @throws {SandboxStateError} When it cannot be loaded (a `SyntaxError`).
 *
 * @example
 * ```ts ignore
 * import { readState } from "./state.ts";
 * import { SANDBOX_DIR } from "../product/mod.ts";
 * const state = await readState(`${SANDBOX_DIR}/state.json`);
 * console.log(state?.store.objects.length ?? 0);
 * ```
 */
export async function readState(path: string): Promise<SandboxState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new SandboxStateError(path, [`unreadable (${(error as Error).message})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SandboxStateError(path, [`not valid JSON (${(error as Error).message})`]);
  }
  const state = parsed as SandboxState;
  if (
    state?.version !== 1 || !state.store || !Array.isArray(state.store.objects) ||
    !Number.isSafeInteger(state.store.resourceVersion)
  ) {
    throw new SandboxStateError(path, ["unknown format (expected version 1)"]);
  }
  const problems = stateProblems(state.store.objects);
  if (problems.length > 0) throw new SandboxStateError(path, problems);
  state.versions ??= {};
  if (state.clockAt !== undefined && !Number.isFinite(state.clockAt)) {
    throw new SandboxStateError(path, ["clockAt is not a number of milliseconds"]);
  }
  return state;
}

/** Remove leftover temporary files of earlier (killed) writers. */
export async function removeStaleTemporaries(dir: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /^state\.json\.\d+\..*\.tmp$/.test(entry.name)) {
        await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
      }
    }
  } catch {
    // the directory may not exist yet
  }
}
