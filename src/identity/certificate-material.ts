// A client certificate file (PEM or PFX) → the one PEM string ClientCertificateCredential takes, built in memory.

import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CredentialUnavailable } from '../errors.js';
import { PfxError, readPfx } from './pfx-file.js';

/** A certificate credential ready for the SDK: never written to disk, never logged. */
export interface CertificateMaterial {
  /** Unencrypted PKCS#8 key, then the certificate that matches it, then the rest of the chain. */
  pem: string;
  /** Of the key's certificate. */
  notAfter: Date;
  subject: string;
  /** Hex SHA-1 thumbprint, as the Azure portal shows it. */
  thumbprint: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Reads `path` as PEM (key and certificate in one file, the key optionally encrypted) or PFX, opening
 * either with `password`. Throws CredentialUnavailable naming the file and the fix; no message holds
 * the password or key material.
 */
export function readCertificateMaterial(path: string, password: string | undefined, passwordEnv?: string): CertificateMaterial {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new CredentialUnavailable(`cannot read the certificate file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      'check credential.certificateFile and that the agent can read it');
  }
  const passwordHint = passwordEnv
    ? `check that $${passwordEnv} (credential.passwordEnv) holds the password the file was exported with`
    : 'set credential.passwordEnv to the name of a variable that holds the file\'s password';
  const text = raw.toString('utf8');
  let certificates: X509Certificate[];
  let key: KeyObject | undefined;
  if (text.includes('-----BEGIN ')) {
    const blocks = [...text.matchAll(PEM_BLOCK)];
    certificates = blocks.filter((b) => b[1] === 'CERTIFICATE').map((b) => parseCertificate(b[0], path));
    const keyBlock = blocks.find((b) => /PRIVATE KEY$/.test(b[1]));
    if (keyBlock) {
      const encrypted = keyBlock[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(keyBlock[0]);
      if (encrypted && password === undefined) {
        throw new CredentialUnavailable(`the private key in ${path} is encrypted and no password was given`, passwordHint);
      }
      try {
        key = createPrivateKey(encrypted ? { key: keyBlock[0], passphrase: password } : keyBlock[0]);
      } catch {
        throw new CredentialUnavailable(encrypted ? `the password does not open the private key in ${path}` : `the private key in ${path} is not readable`,
          encrypted ? passwordHint : 'export the key again as PEM (PKCS#8 or PKCS#1)');
      }
    }
  } else {
    try {
      const contents = readPfx(raw, password);
      certificates = contents.certificates.map((der) => parseCertificate(der, path));
      key = contents.privateKey;
    } catch (err) {
      if (!(err instanceof PfxError)) throw err;
      const fix = err.reason === 'password' ? passwordHint
        : err.reason === 'algorithm' ? 'export it again as PEM, or as a PFX with AES and an ASCII password (openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256)'
        : 'use a PEM file (private key and certificate) or a PFX/PKCS#12 file';
      throw new CredentialUnavailable(`cannot open the certificate file ${path}: ${err.message}`, fix);
    }
  }
  if (!key) {
    throw new CredentialUnavailable(`the certificate file ${path} holds no private key`,
      'use a file with both the private key and the certificate (PEM), or a PFX exported with its private key');
  }
  const publicDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const leaf = certificates.find((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(publicDer));
  if (!leaf) {
    throw new CredentialUnavailable(certificates.length ? `no certificate in ${path} matches its private key` : `the certificate file ${path} holds no certificate`,
      'put the certificate uploaded to the app registration in the same file as its private key');
  }
  // The SDK takes the first certificate as the one whose thumbprint names the key.
  const chain = [leaf, ...certificates.filter((c) => c !== leaf)];
  return {
    pem: [key.export({ type: 'pkcs8', format: 'pem' }) as string, ...chain.map((c) => c.toString())].join('\n'),
    notAfter: new Date(leaf.validTo),
    subject: leaf.subject,
    thumbprint: leaf.fingerprint.replace(/:/g, ''),
  };
}

function parseCertificate(data: string | Buffer, path: string): X509Certificate {
  try {
    return new X509Certificate(data);
  } catch {
    throw new CredentialUnavailable(`a certificate in ${path} is not readable`, 'export the certificate again (PEM or PFX)');
  }
}
