/**
 * Real self-signed TLS certificates for the sandbox's seeded `kubernetes.io/tls` Secrets,
 * made with the `openssl` binary (so `openssl x509` and TLS checks read them as they would
 * a real one).
 * @module
 */

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
export async function selfSignedCertificate(
  commonName: string,
): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sandbox-cert-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "365",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        `subjectAltName=DNS:${commonName}`,
        "-keyout",
        `${dir}/tls.key`,
        "-out",
        `${dir}/tls.crt`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot generate the sandbox TLS certificate: openssl: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    return {
      cert: await Deno.readTextFile(`${dir}/tls.crt`),
      key: await Deno.readTextFile(`${dir}/tls.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
