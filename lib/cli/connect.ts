/**
 * Moved to `lib/targets/connect.ts` (the composition root); this re-export goes.
 * @module
 */
export * from "../targets/connect.ts";
