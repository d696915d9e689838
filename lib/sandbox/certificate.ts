/**
 * Real TLS certificates for the sandbox's seeded `kubernetes.io/tls` Secrets, made with the
 * `openssl` binary (so `openssl x509` and TLS checks read them as they would a real one): a
 * certificate authority the sandbox makes once per seed, and leaf certificates it signs for
 * the names a Secret must cover (its common name and the hosts its gateway serves), so a
 * client that trusts the sandbox's CA verifies them exactly as it would a public one.
 * @module
 */

/** A PEM certificate and its PEM private key. */
export interface CertificateAndKey {
  /** The certificate (PEM). */
  readonly cert: string;
  /** Its private key (PEM, unencrypted). */
  readonly key: string;
}

/** What a leaf certificate covers and how long it is valid. */
export interface LeafCertificateRequest {
  /** The certificate's CN (also one of its DNS subject alternative names). */
  readonly commonName: string;
  /** Further DNS names it is valid for (e.g. the public API's host). */
  readonly dnsNames?: readonly string[];
  /** Days of validity from now (default 365). */
  readonly days?: number;
}

async function openssl(args: string[], cwd: string, what: string): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output().catch((error: Error) => {
    throw new Error(
      `Cannot make ${what}: openssl could not be run (${error.message}); install openssl`,
    );
  });
  if (!out.success) {
    throw new Error(`Cannot make ${what}: openssl: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "sandbox-cert-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function checkNames(names: readonly string[]): void {
  for (const name of names) {
    if (!/^[A-Za-z0-9*]([-A-Za-z0-9.*]*[A-Za-z0-9])?$/.test(name)) {
      throw new RangeError(`Cannot make a certificate for ${JSON.stringify(name)}: not a DNS name`);
    }
  }
}

/**
 * Generate a real self-signed certificate (365 days) and key with the `openssl` binary.
 *
 * @param commonName The certificate's CN (also its one DNS subject alternative name).
 * @returns The PEM certificate and key.
 * @throws {Error} When openssl fails (its message is included).
 *
 * @example
 * ```ts ignore
 * import { selfSignedCertificate } from "./certificate.ts";
 * const { cert } = await selfSignedCertificate("shop.local");
 * console.assert(cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 */
export function selfSignedCertificate(commonName: string): Promise<CertificateAndKey> {
  checkNames([commonName]);
  return inTempDir(async (dir) => {
    await openssl(
      [
        "req",
        "-x509",
        ...EC_KEY,
        "-sha256",
        "-days",
        "365",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        `subjectAltName=DNS:${commonName}`,
        "-keyout",
        "tls.key",
        "-out",
        "tls.crt",
      ],
      dir,
      "the sandbox TLS certificate",
    );
    return {
      cert: await Deno.readTextFile(`${dir}/tls.crt`),
      key: await Deno.readTextFile(`${dir}/tls.key`),
    };
  });
}

/**
 * Make a certificate authority (10 years, P-256) for the sandbox to sign its certificates
 * with: clients trust its certificate in place of the public roots.
 *
 * @param name The CA's common name.
 * @returns The CA's PEM certificate and key.
 * @throws {Error} When openssl fails (its message is included).
 *
 * @example
 * ```ts ignore
 * import { certificateAuthority } from "./certificate.ts";
 * const ca = await certificateAuthority("Sandbox CA");
 * console.assert(ca.cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 */
export function certificateAuthority(name: string): Promise<CertificateAndKey> {
  return inTempDir(async (dir) => {
    await openssl(
      [
        "req",
        "-x509",
        ...EC_KEY,
        "-sha256",
        "-days",
        "3650",
        "-subj",
        `/CN=${name.replaceAll("/", " ")}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
      ],
      dir,
      "the sandbox certificate authority",
    );
    return {
      cert: await Deno.readTextFile(`${dir}/ca.crt`),
      key: await Deno.readTextFile(`${dir}/ca.key`),
    };
  });
}

/**
 * Make a leaf certificate signed by `ca`, valid for its common name and `dnsNames` (as
 * subject alternative names, which is what clients verify), for a server to present.
 *
 * @param ca The signing CA (from {@linkcode certificateAuthority}).
 * @param request The names and the days of validity.
 * @returns The PEM certificate and key.
 * @throws {RangeError} For a name that is not a DNS name.
 * @throws {Error} When openssl fails (its message is included).
 *
 * @example
 * ```ts ignore
 * import { certificateAuthority, signedCertificate } from "./certificate.ts";
 * const ca = await certificateAuthority("Sandbox CA");
 * const leaf = await signedCertificate(ca, { commonName: "shop.local", dnsNames: ["api.shop.example"] });
 * console.assert(leaf.key.includes("PRIVATE KEY"));
 * ```
 */
export function signedCertificate(
  ca: CertificateAndKey,
  request: LeafCertificateRequest,
): Promise<CertificateAndKey> {
  const names = [...new Set([request.commonName, ...(request.dnsNames ?? [])])];
  checkNames(names);
  const days = request.days ?? 365;
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(`Cannot make a certificate valid for ${days} days: must be 1 or more`);
  }
  return inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.crt`, ca.cert);
    await Deno.writeTextFile(`${dir}/ca.key`, ca.key, { mode: 0o600 });
    await Deno.writeTextFile(
      `${dir}/ext`,
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n` +
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    const what = `a certificate for ${names.join(", ")}`;
    await openssl(
      [
        "req",
        ...EC_KEY,
        "-subj",
        `/CN=${request.commonName}`,
        "-keyout",
        "tls.key",
        "-out",
        "tls.csr",
      ],
      dir,
      what,
    );
    await openssl(
      [
        "x509",
        "-req",
        "-sha256",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        `0x${crypto.randomUUID().replaceAll("-", "").slice(0, 30)}`,
        "-days",
        String(days),
        "-extfile",
        "ext",
        "-out",
        "tls.crt",
      ],
      dir,
      what,
    );
    return {
      cert: await Deno.readTextFile(`${dir}/tls.crt`),
      key: await Deno.readTextFile(`${dir}/tls.key`),
    };
  });
}
