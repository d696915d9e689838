/**
 * `deno task report export <run-id> --in-toto [--out <file>]`: a run's provenance — an
 * in-toto Statement v1 with a SLSA Provenance v1 predicate (the images deployed with their
 * digests; the pipeline, environment and version; the git commit; this runner) — in a DSSE
 * envelope signed with the run's key. The run's own signature is checked first: provenance
 * is not made from a record that does not verify.
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../config/config_error.ts";
import { type Environment, loadEnvironment } from "../config/mod.ts";
import { InputError } from "../runner/mod.ts";
import { RUNS_DIR, SANDBOX_DIR } from "../product/mod.ts";
import { reportSchema } from "../report/schema.ts";
import { provenanceOf, signProvenance } from "../audit/provenance.ts";
import { checkRunSignature } from "../audit/signature.ts";
import {
  existingSandboxKey,
  resolveSigningKey,
  type RunSigningKey,
  SigningKeyError,
} from "../audit/signing_key.ts";
import { EXIT } from "./command.ts";
import type { ReportIo } from "./report_verify.ts";

/**
 * The usage of `report export`.
 *
 * @example
 * ```ts
 * import { EXPORT_USAGE } from "./report_export.ts";
 * console.assert(EXPORT_USAGE.startsWith("usage: deno task report export"));
 * ```
 */
export const EXPORT_USAGE =
  `usage: deno task report export <run-id|run-dir> --in-toto [--out <file>] [--runs-dir <dir>]
         [--signing-key <file>] [--sandbox-dir <dir>] [--environments-dir <dir>]

Writes the run's provenance: an in-toto Statement v1 (predicate SLSA Provenance v1: the images
the run deployed with their sha256 digests as subjects; the pipeline, environment and version;
the git commit and image digests it resolved; this runner as the builder) in a DSSE envelope
(application/vnd.in-toto+json) signed with the run's key: --signing-key, else for a sandbox run
the sandbox's own key, else the environment file's deployment.audit.signing_key. The run's
signature is checked first: a run whose record does not verify is not exported (exit 1).
  --in-toto              the format (the only one)
  --out <file>           where the envelope goes (default: standard output)
  --runs-dir <dir>       where the run folders are (default ${RUNS_DIR})
  --signing-key <file>   the key (an Ed25519 PKCS#8 PEM): the one that signed the run
  --sandbox-dir <dir>    the sandbox's folder, for a sandbox run's key (default ${SANDBOX_DIR})
  --environments-dir <dir>  where the environment files are`;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        "in-toto": { type: "boolean" },
        out: { type: "string" },
        "runs-dir": { type: "string" },
        "signing-key": { type: "string" },
        "sandbox-dir": { type: "string" },
        "environments-dir": { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${EXPORT_USAGE}`);
  }
}

async function runDirOf(which: string, runsDir: string): Promise<string> {
  const candidates = [which, `${runsDir}/${which}`];
  for (const c of candidates) {
    const info = await Deno.stat(`${c}/report.json`).catch(() => null);
    if (info?.isFile) return c;
  }
  throw new InputError(`No run "${which}": no report.json in ${candidates.join(" or ")}`);
}

/** The key that signs the provenance: the flag's, a sandbox run's, the environment file's. */
async function keyOf(
  o: { file: string | undefined; sandboxDir: string; sandboxRun: boolean; env: Environment },
): Promise<RunSigningKey> {
  try {
    if (o.file !== undefined) {
      const key = await resolveSigningKey(o.env, { file: o.file });
      if (key && key !== "deferred") return key;
    }
    if (o.sandboxRun) {
      const key = await existingSandboxKey(o.sandboxDir);
      if (key) return key;
    }
    const key = await resolveSigningKey(o.env, {});
    if (key === "deferred") {
      throw new InputError(
        `${o.env.file}: deployment.audit.signing_key is a Kubernetes Secret, which export does ` +
          "not read: pass --signing-key <file>",
      );
    }
    if (key) return key;
  } catch (err) {
    if (err instanceof SigningKeyError) throw new InputError(err.message);
    throw err;
  }
  throw new InputError(
    `No key to sign the provenance with: pass --signing-key <file> (the key that signed the ` +
      `run)${
        o.sandboxRun ? `, or --sandbox-dir <dir> (the sandbox ${o.sandboxDir} has no key)` : ""
      }, or set deployment.audit.signing_key in ${o.env.file}`,
  );
}

/**
 * Runs `report export`.
 *
 * @param args The arguments after `report export`.
 * @param io Where to write.
 * @returns 0 when the envelope was written; 1 when the run's record does not verify.
 * @throws {InputError} On bad usage, an unknown run, no key or the wrong one, a run that
 *   names no image (exit 2, nothing written).
 *
 * @example
 * ```ts
 * import { exportCommand } from "./report_export.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => exportCommand([], { stdout: () => {}, stderr: () => {} }));
 * ```
 */
export async function exportCommand(args: string[], io: ReportIo): Promise<number> {
  const { values: v, positionals } = parse(args);
  const [which] = positionals;
  if (!which || positionals.length > 1) throw new InputError(EXPORT_USAGE);
  if (!v["in-toto"]) {
    throw new InputError(
      `report export writes --in-toto provenance (the only format)\n${EXPORT_USAGE}`,
    );
  }
  if (v.out !== undefined && v.out.trim() === "") {
    throw new InputError('--out takes a file, got ""');
  }
  const runDir = await runDirOf(which, v["runs-dir"] ?? RUNS_DIR);
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(`${runDir}/report.json`));
  } catch {
    io.stderr(`error: ${runDir}/report.json is not JSON: not exported\n`);
    return EXIT.failed;
  }
  const parsed = reportSchema.safeParse(raw);
  if (!parsed.success) {
    io.stderr(`error: ${runDir}/report.json does not match the report schema: not exported\n`);
    return EXIT.failed;
  }
  const report = parsed.data;
  let env: Environment;
  try {
    env = await loadEnvironment(
      report.environment,
      v["environments-dir"] ? { dir: v["environments-dir"] } : {},
    );
  } catch (err) {
    if (err instanceof ConfigError) throw new InputError(err.message);
    throw err;
  }
  const sandboxDir = v["sandbox-dir"] ?? SANDBOX_DIR;
  const sandboxRun = report.target.kind === "sandbox";
  const signature = await checkRunSignature(runDir, report, { env, sandboxDir });
  if (!signature.ok) {
    io.stderr(`error: run ${report.runId}: ${signature.message}: its provenance is not exported\n`);
    return EXIT.failed;
  }
  const key = await keyOf({ file: v["signing-key"], sandboxDir, sandboxRun, env });
  if (signature.state === "signed" && signature.keyid !== key.fingerprint) {
    throw new InputError(
      `The key ${key.fingerprint} (${key.where}) is not the one that signed run ` +
        `${report.runId} (${signature.keyid}): sign its provenance with the run's key`,
    );
  }
  let statement;
  try {
    statement = await provenanceOf(runDir, report, { repository: env.github.repository });
  } catch (err) {
    if (err instanceof RangeError) throw new InputError(err.message);
    throw err;
  }
  const text = JSON.stringify(await signProvenance(statement, key), null, 2) + "\n";
  if (v.out === undefined) {
    io.stdout(text);
    return EXIT.ok;
  }
  const tmp = `${v.out}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, v.out);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new InputError(`Cannot write ${v.out}: ${(err as Error).message}`);
  }
  io.stdout(
    `wrote ${v.out}: in-toto Statement v1, SLSA provenance v1 of run ${report.runId} ` +
      `(${statement.subject.length} image(s)), signed by ${key.fingerprint}` +
      `${signature.state === "unsigned" ? " (the run itself is unsigned)" : ""}\n`,
  );
  return EXIT.ok;
}
