// Self-signed RSA certificates for client-certificate tests: what an admin uploads to an app registration, plus its key.
import 'reflect-metadata';
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
