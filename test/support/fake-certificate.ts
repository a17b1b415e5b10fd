// Self-signed RSA certificates for client-certificate tests: what an admin uploads to an app registration, plus its key.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface TestCertificate {
  /** The public certificate (what the app registration holds). */
  certPem: string;
  /** PKCS#8 private key PEM. */
  keyPem: string;
  /** Key and certificate in one file, the form ClientCertificateCredential reads. */
  combinedPem: string;
  notAfter: Date;
}

const DAY = 86_400_000;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/** A self-signed RSA-2048 certificate; by default valid from yesterday for a year. */
export async function makeCertificate(options: { cn?: string; notBefore?: Date; notAfter?: Date } = {}): Promise<TestCertificate> {
  const crypto = webcrypto as unknown as Crypto;
  const keys = await crypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * DAY);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${options.cn ?? 'aadbt test app'}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: RSA,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  }, crypto);
  const certPem = cert.toString('pem');
  const keyPem = x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { certPem, keyPem, combinedPem: `${keyPem}\n${certPem}\n`, notAfter };
}

/**
 * PFX encryption styles: OpenSSL 3's default (PBES2, AES-256, SHA-256 MAC), the 3DES/SHA-1 one Windows exports,
 * and OpenSSL 1.x's default (`-legacy`: certificates under RC2-40, key under 3DES).
 */
export type PfxStyle = 'aes' | '3des' | 'rc2';

/**
 * The certificate and key as a PFX, made by the openssl CLI (so the decoder is tested against a real exporter,
 * not against itself); the password goes through the environment, never argv. Undefined when openssl is absent.
 */
export function pfxOf(cert: TestCertificate, password: string, style: PfxStyle = 'aes'): Buffer | undefined {
  const algorithms = style === 'aes' ? ['-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC', '-macalg', 'sha256']
    : style === '3des' ? ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']
    : ['-legacy'];
  const run = spawnSync('openssl', ['pkcs12', '-export', '-passout', 'env:AADBT_TEST_PFX_PASSWORD', ...algorithms], {
    input: cert.combinedPem, env: { ...process.env, AADBT_TEST_PFX_PASSWORD: password }, maxBuffer: 1 << 20,
  });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  // An openssl without its legacy provider cannot write RC2.
  if (style === 'rc2' && run.status !== 0) return undefined;
  if (run.status !== 0) throw new Error(`openssl pkcs12 -export failed: ${run.stderr.toString().slice(0, 300)}`);
  return run.stdout;
}
