/**
 * Kubernetes resource quantities (`"500m"`, `"2Gi"`, `"1"`) and storage sizes (`"20GB"`).
 * @module
 */

const SUFFIXES: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * Parses a Kubernetes quantity (the `resource.Quantity` syntax) into a plain number:
 * cores for CPU (`"500m"` is 0.5), bytes for memory (`"2Gi"` is 2147483648).
 *
 * @param text The quantity, e.g. `"500m"`, `"2Gi"`, `"1.5"`, `"1e3"`.
 * @returns The value as a number, or `undefined` when the text is not a quantity.
 *
 * @example
 * ```ts
 * import { parseQuantity } from "./quantity.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseQuantity("500m"), 0.5);
 * assert.equal(parseQuantity("1Gi"), 1073741824);
 * assert.equal(parseQuantity("512MB"), undefined);
 * ```
 */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const suffix = match[2] ?? "";
  const factor = /^[eE][+-]?\d+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIXES[suffix];
  if (factor === undefined) return undefined;
  return Number(match[1]) * factor;
}

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

const SIZE = /^(\d+(?:\.\d+)?)\s?([A-Za-z]+)$/;

/**
 * Parses a storage size as cloud providers write them (`"20GB"`, `"500 GiB"`, `"2Ti"`).
 *
 * @param text The size text.
 * @returns The size in bytes, or `undefined` when the text is not a size.
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./quantity.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseByteSize("20GB"), 20e9);
 * assert.equal(parseByteSize("20 parsecs"), undefined);
 * ```
 */
export function parseByteSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!];
  return unit === undefined ? undefined : Number(match[1]) * unit;
}
