/**
 * The audit record beyond one run: signatures (DSSE envelopes), signing keys, the chain of
 * runs across time, and provenance.
 * @module
 */
export * from "./dsse.ts";
