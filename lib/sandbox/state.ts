import type { KObject } from "./resources.ts";

/** What `<stateDir>/state.json` holds. */
export interface SandboxState {
  /** Format version. */
  version: 1;
  /** When it was written (ISO). */
  savedAt: string;
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

/** Read the state file; undefined when missing. Throws SyntaxError when unreadable. */
export async function readState(path: string): Promise<SandboxState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot read sandbox state "${path}": ${(error as Error).message}`);
  }
  const state = parsed as SandboxState;
  if (state?.version !== 1 || !state.store || !Array.isArray(state.store.objects)) {
    throw new SyntaxError(`Cannot read sandbox state "${path}": unknown format`);
  }
  state.versions ??= {};
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
