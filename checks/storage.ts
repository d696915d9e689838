/**
 * Storage check: the filesystem holding a path is below a usage percentage (the seed's
 * `df -h /var/lib/docker` under 80%). Uses `node:fs` statfs where it may (it needs `read` on
 * the path and Deno's `sys` permission, which stage Workers are not granted), else `df -Pk`
 * (a stage declares `permissions({ run: ["df"] })`, and is then full trust).
 * @module
 */
import type { Check } from "../lib/dsl/types.ts";
import { describeError } from "../lib/probes/timeout.ts";
import { type CommonCheckOptions, fail, pass } from "./_outcome.ts";

/** A filesystem's sizes in bytes and its used percentage (one decimal). */
export interface DiskUsage {
  /** Its size. */
  totalBytes: number;
  /** Available to unprivileged users. */
  availableBytes: number;
  /** Used. */
  usedBytes: number;
  /** used / (used + available), as `df` shows it. */
  usedPercent: number;
}

/** `df -Pk <path>`: when statfs is not allowed (no `sys`), the same numbers from `df`. */
async function dfUsage(path: string, denied: Error): Promise<DiskUsage> {
  let out;
  try {
    out = await new Deno.Command("df", {
      args: ["-Pk", "--", path],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) {
      throw new Deno.errors.NotCapable(
        `${denied.message}; and no permission to run df: declare permissions({ run: ["df"] })`,
      );
    }
    throw err;
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`df ${path} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  // Filesystem 1024-blocks Used Available Capacity Mounted-on
  const fields = text.trim().split("\n").at(-1)?.trim().split(/\s+/) ?? [];
  const [total, used, available] = fields.slice(1, 4).map((f) => Number(f) * 1024);
  if (![total, used, available].every((n) => Number.isFinite(n))) {
    throw new Error(`Cannot read df's output for ${path}: ${JSON.stringify(text.trim())}`);
  }
  const denominator = used! + available!;
  return {
    totalBytes: total!,
    availableBytes: available!,
    usedBytes: used!,
    usedPercent: denominator === 0 ? 0 : Math.round((used! / denominator) * 1000) / 10,
  };
}

/**
 * Computes a filesystem's usage the way `df` does: used / (used + available to
 * unprivileged users).
 *
 * @param path Any path on the filesystem.
 * @returns Sizes in bytes and the used percentage (one decimal).
 *
 * @example
 * ```ts
 * import { diskUsage } from "./storage.ts";
 * import assert from "node:assert/strict";
 * const usage = await diskUsage("/");
 * assert.ok(usage.usedPercent >= 0 && usage.usedPercent <= 100);
 * ```
 */
export async function diskUsage(path: string): Promise<DiskUsage> {
  let s;
  try {
    // Loaded when used: every stage Worker loads this module, few measure a disk.
    const { statfs } = await import("node:fs/promises");
    s = await statfs(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) return await dfUsage(path, err);
    throw err;
  }
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  const denominator = used + available;
  return {
    totalBytes: s.blocks * s.bsize,
    availableBytes: available,
    usedBytes: used,
    usedPercent: denominator === 0 ? 0 : Math.round((used / denominator) * 1000) / 10,
  };
}

/**
 * The filesystem holding `path` is less than `maxUsedPercent` full (default 80), and
 * optionally has at least `minFreeBytes` available.
 *
 * @param path A path on the filesystem to check.
 * @param options `maxUsedPercent`, `minFreeBytes`, name, required.
 * @returns The check; evidence: path, usedPercent, availableBytes, totalBytes.
 *
 * @example
 * ```ts
 * import { storageCapacity } from "./storage.ts";
 * import assert from "node:assert/strict";
 * assert.equal(storageCapacity("/var/lib").name, "Storage capacity: /var/lib");
 * ```
 */
export function storageCapacity(
  path: string,
  options: CommonCheckOptions & {
    readonly maxUsedPercent?: number;
    readonly minFreeBytes?: number;
  } = {},
): Check {
  const maxUsedPercent = options.maxUsedPercent ?? 80;
  return {
    name: options.name ?? `Storage capacity: ${path}`,
    required: options.required ?? true,
    run: async () => {
      let usage;
      try {
        usage = await diskUsage(path);
      } catch (err) {
        const reason = err instanceof Deno.errors.NotCapable
          ? `no permission: ${err.message}`
          : describeError(err);
        return fail(`Cannot measure storage at ${path}: ${reason}`, { path, error: reason });
      }
      const evidence = { path, ...usage, maxUsedPercent, minFreeBytes: options.minFreeBytes };
      if (usage.usedPercent >= maxUsedPercent) {
        return fail(
          `${path} is ${usage.usedPercent}% full (limit below ${maxUsedPercent}%)`,
          evidence,
        );
      }
      if (options.minFreeBytes !== undefined && usage.availableBytes < options.minFreeBytes) {
        return fail(
          `${path} has ${usage.availableBytes} bytes free (need ${options.minFreeBytes})`,
          evidence,
        );
      }
      return pass(`${path} is ${usage.usedPercent}% full`, evidence);
    },
  };
}
