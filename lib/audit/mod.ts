/**
 * The audit record beyond one run: signatures (DSSE envelopes), signing keys, the chain of
 * runs across time, and provenance.
 * @module
 */
export * from "./dsse.ts";
export * from "./signing_key.ts";
export * from "./run_statement.ts";
export * from "./signature.ts";
export * from "./run_link.ts";
export * from "./run_signing.ts";
export * from "./provenance.ts";
export type { RunLink } from "../runner/run.ts";
export type {
  AuditSection,
  FromEnvRef,
  FromFileRef,
  SecretKeyRef,
  SecretRef,
  SigningKeyRef,
} from "../config/mod.ts";
export * from "./history.ts";
export * from "./cluster_record.ts";
export * from "./cluster_read.ts";
export * from "./chain.ts";
export * from "./dora.ts";
export * from "./commit_times.ts";
export * from "./audit.ts";
