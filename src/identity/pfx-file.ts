// A PFX (PKCS#12) file opened with node-forge: its certificates and private key, in memory only.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

type Forge = typeof import('node-forge');
type Asn1 = import('node-forge').asn1.Asn1;
type Bag = import('node-forge').pkcs12.Bag;

/** What a PFX holds: DER certificates in file order, and its private key (the first one, if any). */
export interface PfxContents {
  certificates: Buffer[];
  privateKey?: KeyObject;
}

/** Why a PFX could not be read; the message never holds key material or the password. */
export class PfxError extends Error {
  constructor(message: string, readonly reason: 'format' | 'password' | 'algorithm') {
    super(message);
  }
}

let loaded: Forge | undefined;
// Loaded on first use, so an agent with PEM certificates (or none) never loads node-forge.
function forge(): Forge {
  loaded ??= createRequire(import.meta.url)('node-forge') as Forge;
  return loaded;
}

/**
 * Reads a PFX: checks its integrity MAC (how a wrong password shows), decrypts its containers (RC2, 3DES or
 * AES) and returns certificates and key. Throws PfxError for a wrong password, an unknown algorithm or a file
 * that is not PKCS#12.
 */
export function readPfx(pfx: Buffer, password: string | undefined): PfxContents {
  const f = forge();
  let asn1: Asn1;
  try {
    asn1 = f.asn1.fromDer(pfx.toString('binary'));
  } catch {
    throw new PfxError('it is not a PKCS#12 (PFX) file: unreadable structure', 'format');
  }
  let bags: Bag[];
  try {
    bags = open(f, asn1, password ?? '');
  } catch (err) {
    throw explain(err, password ?? '');
  }
  const certificates: Buffer[] = [];
  let privateKey: KeyObject | undefined;
  for (const bag of bags) {
    if (bag.type === f.pki.oids.certBag) certificates.push(certificateDer(f, bag));
    else if (!privateKey && (bag.type === f.pki.oids.pkcs8ShroudedKeyBag || bag.type === f.pki.oids.keyBag)) privateKey = keyObject(f, bag);
  }
  return { certificates, privateKey };
}

function open(f: Forge, asn1: Asn1, password: string): Bag[] {
  let pfx;
  try {
    pfx = f.pkcs12.pkcs12FromAsn1(asn1, true, password);
  } catch (err) {
    if (password !== '' || !isWrongMac(err)) throw err;
    // Some exporters encode an empty password as no bytes at all rather than a lone BMP terminator.
    try {
      pfx = f.pkcs12.pkcs12FromAsn1(asn1, true, null as unknown as string);
    } catch {
      throw err;
    }
  }
  return pfx.safeContents.flatMap((s) => s.safeBags);
}

function isWrongMac(err: unknown): boolean {
  return err instanceof Error && /MAC could not be verified/.test(err.message);
}

/** forge's error → PfxError; forge's own text stays out of the message, only an algorithm OID goes in. */
function explain(err: unknown, password: string): PfxError {
  const message = err instanceof Error ? err.message : '';
  const oid = (err as { oid?: unknown } | undefined)?.oid;
  if (isWrongMac(err)) return new PfxError('the password is wrong (the integrity check failed)', 'password');
  if (/wrong password|Failed to decrypt/i.test(message)) {
    // forge feeds PBKDF2 one byte per character, where exporters use UTF-8, so PBES2 (AES) needs an ASCII password.
    return /[^\x00-\x7f]/.test(password)
      ? new PfxError('its password holds non-ASCII characters, which node-forge cannot use to decrypt AES (PBES2) contents', 'algorithm')
      : new PfxError('the password does not decrypt it', 'password');
  }
  if (/unsupported|not supported|unknown oid/i.test(message)) {
    return new PfxError(`it uses an algorithm or container aadbt does not read${typeof oid === 'string' ? ` (${oid})` : ''}`, 'algorithm');
  }
  return new PfxError('it is not a PKCS#12 (PFX) file: unexpected structure', 'format');
}

function der(f: Forge, asn1: Asn1): Buffer {
  return Buffer.from(f.asn1.toDer(asn1).getBytes(), 'binary');
}

/** The certificate's DER as it was in the file, so its thumbprint is the one the app registration knows. */
function certificateDer(f: Forge, bag: Bag): Buffer {
  if (!bag.cert) return der(f, bag.asn1);
  const cert = f.pki.certificateToAsn1(bag.cert);
  // forge re-creates the outer signature algorithm; RFC 5280 makes it a copy of the one in tbsCertificate,
  // so taking that one keeps the original bytes even where forge would encode it differently.
  const tbs = cert.value[0] as Asn1;
  const inner = (tbs.value as Asn1[]).find((c) => c.tagClass === f.asn1.Class.UNIVERSAL && c.type === f.asn1.Type.SEQUENCE);
  if (inner) (cert.value as Asn1[])[1] = inner;
  return der(f, cert);
}

/** forge keeps RSA keys parsed and hands other key types back as PKCS#8 ASN.1. */
function keyObject(f: Forge, bag: Bag): KeyObject {
  try {
    return bag.key
      ? createPrivateKey({ key: der(f, f.pki.privateKeyToAsn1(bag.key)), format: 'der', type: 'pkcs1' })
      : createPrivateKey({ key: der(f, bag.asn1), format: 'der', type: 'pkcs8' });
  } catch {
    throw new PfxError('its private key is not readable', 'format');
  }
}
