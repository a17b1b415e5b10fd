// The dev identity provider's ephemeral certificate authority and its loopback server certificate.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';

/** The CA certificate is public; the keys live only in this object, in memory, never on disk. */
export interface DevCa {
  /** PEM of the self-signed CA, for clients to trust (tlsOptions.ca). */
  readonly caPem: string;
  /** PEM chain for the TLS server: the leaf certificate. */
  readonly certPem: string;
  /** PKCS#8 PEM of the leaf's private key, only for `https.createServer`. */
  readonly keyPem: string;
}

let x509Module: Promise<typeof X509> | undefined;
/** @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill loaded first. */
function loadX509(): Promise<typeof X509> {
  return x509Module ??= import('reflect-metadata').then(() => import('@peculiar/x509'));
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // a positive INTEGER, as RFC 5280 asks
  return Buffer.from(bytes).toString('hex');
}

function subjectAltNames(host: string): X509.JsonGeneralNames {
  const names: X509.JsonGeneralNames = [
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
    { type: 'dns', value: 'localhost' },
  ];
  if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
    names.push({ type: isIP(host) ? 'ip' : 'dns', value: host });
  }
  return names;
}

/**
 * Makes a fresh ECDSA P-256 CA and a server certificate for `host` (plus 127.0.0.1, ::1 and localhost),
 * valid from a day ago for a week, so small clock skew never breaks a dev run. Wall-clock time is right
 * here: TLS peers check validity against their own system clock, not an injected one.
 */
export async function createDevCa(host = '127.0.0.1'): Promise<DevCa> {
  const x509 = await loadX509();
  const crypto = webcrypto as unknown as Crypto;
  const now = Date.now();
  const notBefore = new Date(now - DAY_MS);
  const notAfter = new Date(now + 7 * DAY_MS);
  const [caKeys, leafKeys] = await Promise.all([
    crypto.subtle.generateKey(EC_P256, false, ['sign', 'verify']),
    crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']),
  ]);

  const caName = `CN=aadbt dev identity provider CA ${randomSerial().slice(0, 8)}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
    ],
  }, crypto);

  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${host}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(host), false),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, crypto),
    ],
  }, crypto);

  const pkcs8 = await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    caPem: ca.toString('pem'),
    certPem: leaf.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}
