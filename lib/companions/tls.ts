/**
 * A certificate authority of a companion's own and a server certificate it signs for
 * a loopback address and `localhost` (ECDSA P-256, 30 days), made with `openssl` (Debian's
 * package `openssl`). A client trusts the CA's PEM only (e.g. `Deno.connectTls({ caCerts })`).
 * @module
 */

/** The files made, and the CA's PEM. */
export interface CompanionCertificates {
  /** The CA certificate (PEM file). */
  readonly caFile: string;
  /** The CA certificate's PEM text (what clients trust). */
  readonly caPem: string;
  /** The server certificate (PEM file). */
  readonly certFile: string;
  /** The server's private key (PEM file, mode 0600). */
  readonly keyFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" ");
    throw new Error(`openssl ${args[0]} failed (exit ${out.code}): ${why}`);
  }
}

/**
 * Makes a CA and a server certificate for 127.0.0.1 in `dir` (replacing earlier ones).
 *
 * @param dir The folder (created).
 * @param commonName The CA's name.
 * @param ip The server's address (default 127.0.0.1).
 * @returns The files and the CA's PEM.
 * @throws {Deno.errors.NotFound} When `openssl` is not installed.
 * @throws {Error} When openssl fails (its last lines).
 *
 * @example
 * ```ts ignore
 * import { makeCertificates } from "./tls.ts";
 * const certs = await makeCertificates(await Deno.makeTempDir(), "companion CA");
 * console.log(certs.caPem);
 * ```
 */
export async function makeCertificates(
  dir: string,
  commonName: string,
  ip = "127.0.0.1",
): Promise<CompanionCertificates> {
  await Deno.mkdir(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "30",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    `/CN=${ip}`,
  ], dir);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    [
      `subjectAltName=IP:${ip},DNS:localhost`,
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "30",
    "-extfile",
    "server.ext",
  ], dir);
  await Deno.chmod(`${dir}/server.key`, 0o600);
  await Deno.chmod(`${dir}/ca.key`, 0o600);
  return {
    caFile: `${dir}/ca.crt`,
    caPem: await Deno.readTextFile(`${dir}/ca.crt`),
    certFile: `${dir}/server.crt`,
    keyFile: `${dir}/server.key`,
  };
}
