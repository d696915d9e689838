/**
 * `deno task keygen --out <file>`: makes an approver's Ed25519 key pair, writes the private
 * key (PKCS#8 PEM, mode 0600, never over an existing file) and prints the public key line and
 * its fingerprint to paste into the environment file's `deployment.approvals.approvers`.
 * @module
 */
import { parseArgs } from "node:util";
import { generateApproverKeys } from "../approval/signatures.ts";
import { InputError } from "../runner/mod.ts";
import { type CliIo, type Command, EXIT } from "./command.ts";

/**
 * The usage of `keygen`.
 *
 * @example
 * ```ts
 * import { KEYGEN_USAGE } from "./keygen.ts";
 * console.assert(KEYGEN_USAGE.startsWith("usage: deno task keygen"));
 * ```
 */
export const KEYGEN_USAGE = `usage: deno task keygen --out <file>

Makes an approver's Ed25519 key pair: writes the private key to <file> (mode 0600; an
existing file is never overwritten: keep it secret, it signs approvals) and prints the public
key line and its fingerprint, to paste into deployment.approvals.approvers of the environment
file as public_key.
  --out <file>   where the private key goes (must not exist)`;

/**
 * Runs `keygen`.
 *
 * @param args The arguments after `keygen`.
 * @param io Where to write.
 * @returns 0 when the key was written.
 * @throws {InputError} Without `--out`, or when the file exists.
 *
 * @example
 * ```ts
 * import { keygenCommand } from "./keygen.ts";
 * import assert from "node:assert/strict";
 * const io = { stdout: () => {}, stderr: () => {}, tty: false, colour: false };
 * await assert.rejects(() => keygenCommand([], io), /usage: deno task keygen/);
 * ```
 */
export async function keygenCommand(args: string[], io: CliIo): Promise<number> {
  let out: string | undefined;
  try {
    const parsed = parseArgs({ args, options: { out: { type: "string" } }, strict: true });
    out = parsed.values.out;
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${KEYGEN_USAGE}`);
  }
  if (!out) throw new InputError(KEYGEN_USAGE);
  const keys = await generateApproverKeys();
  try {
    await Deno.writeTextFile(out, keys.privateKeyPem, { createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new InputError(
        `${out} exists: keygen never overwrites a key (it may be someone's): choose another --out`,
      );
    }
    throw new InputError(`Cannot write ${out}: ${(err as Error).message}`);
  }
  await Deno.chmod(out, 0o600).catch(() => {});
  io.stdout(
    `private key: ${out} (mode 0600: keep it secret)\n` +
      `public key:  ${keys.publicKey}\n` +
      `fingerprint: ${keys.fingerprint}\n\n` +
      `Add to the environment file, under deployment.approvals.approvers:\n` +
      `  - name: <your name>\n    email: <your e-mail>\n    public_key: ${keys.publicKey}\n`,
  );
  return EXIT.ok;
}

/**
 * The `keygen` command of the CLI.
 *
 * @example
 * ```ts
 * import { KEYGEN_COMMAND } from "./keygen.ts";
 * console.assert(KEYGEN_COMMAND.name === "keygen");
 * ```
 */
export const KEYGEN_COMMAND: Command = {
  name: "keygen",
  summary: "makes an approver's key pair (prints the public key for the environment file)",
  usage: KEYGEN_USAGE,
  run: keygenCommand,
};
