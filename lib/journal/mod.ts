/**
 * The run's journal and the redactor: `events.jsonl` is append-only, each line
 * carrying the SHA-256 of the line before ({@linkcode Journal},
 * {@linkcode verifyJournal}), and every string bound for a log, an event, a report or
 * the screen passes through a {@linkcode Redactor} holding the run's secret values.
 *
 * ```ts
 * import { Journal, Redactor, verifyJournal } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * const redactor = new Redactor();
 * redactor.add("s3cr3t-token");
 * const journal = await Journal.open(path, { redactor });
 * await journal.append({ type: "stage.log", message: "token s3cr3t-token" });
 * await journal.close();
 * assert.equal((await verifyJournal(path)).ok, true);
 * assert.doesNotMatch(await Deno.readTextFile(path), /s3cr3t-token/);
 * await Deno.remove(path);
 * ```
 * @module
 */
export * from "./journal.ts";
export * from "./redact.ts";
