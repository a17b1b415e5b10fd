// A PKCS#12 (PFX) decoder on node:crypto: certificates and the private key out of a .pfx, in memory only.

import { createDecipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { rc2CbcDecrypt } from './rc2-cipher.js';

/** What a PFX holds: DER certificates in file order, and its private key (at most the first one). */
export interface Pkcs12Contents {
  certificates: Buffer[];
  privateKey?: KeyObject;
}

/** Why a PFX could not be read; the message never holds key material or the password. */
export class Pkcs12Error extends Error {
  constructor(message: string, readonly reason: 'format' | 'password' | 'algorithm') {
    super(message);
  }
}

interface Asn1Node { tag: number; constructed: boolean; content: Buffer; children: Asn1Node[] }

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
} as const;

const HMAC_PRF: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1', '1.2.840.113549.2.8': 'sha224', '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384', '1.2.840.113549.2.11': 'sha512',
};
const PBES2_CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};
// PKCS#12 v1 password-based encryption (RFC 7292 appendix C), SHA-1 based.
const PKCS12_PBE: Record<string, { name: string; keyLength: number; ivLength: number; rc2Bits?: number }> = {
  '1.2.840.113549.1.12.1.3': { name: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  '1.2.840.113549.1.12.1.4': { name: 'des-ede-cbc', keyLength: 16, ivLength: 8 },
  '1.2.840.113549.1.12.1.5': { name: 'rc2-cbc', keyLength: 16, ivLength: 8, rc2Bits: 128 },
  '1.2.840.113549.1.12.1.6': { name: 'rc2-40-cbc', keyLength: 5, ivLength: 8, rc2Bits: 40 },
};
const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1', '2.16.840.1.101.3.4.2.1': 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512', '2.16.840.1.101.3.4.2.4': 'sha224',
};

function bad(what: string): never {
  throw new Pkcs12Error(`it is not a PKCS#12 (PFX) file: ${what}`, 'format');
}

/** Parses one BER/DER element at `offset` (definite and indefinite lengths, single-byte tags). */
function parseAt(buf: Buffer, offset: number): { node: Asn1Node; end: number } {
  if (offset + 2 > buf.length) bad('truncated element');
  const tag = buf[offset];
  const constructed = (tag & 0x20) !== 0;
  let pos = offset + 1;
  let length = buf[pos++];
  if (length === 0x80) {
    if (!constructed) bad('indefinite length on a primitive element');
    const children: Asn1Node[] = [];
    const start = pos;
    while (!(buf[pos] === 0 && buf[pos + 1] === 0)) {
      const child = parseAt(buf, pos);
      children.push(child.node);
      pos = child.end;
      if (pos + 2 > buf.length) bad('unterminated element');
    }
    return { node: { tag, constructed, content: buf.subarray(start, pos), children }, end: pos + 2 };
  }
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n > 4 || pos + n > buf.length) bad('bad length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++];
  }
  if (pos + length > buf.length) bad('element longer than the file');
  const content = buf.subarray(pos, pos + length);
  const children: Asn1Node[] = [];
  if (constructed) {
    for (let p = 0; p < content.length;) {
      const child = parseAt(content, p);
      children.push(child.node);
      p = child.end;
    }
  }
  return { node: { tag, constructed, content, children }, end: pos + length };
}

function parse(buf: Buffer): Asn1Node {
  return parseAt(buf, 0).node;
}

function child(node: Asn1Node | undefined, index: number, tag?: number): Asn1Node {
  const c = node?.children[index];
  if (!c || (tag !== undefined && c.tag !== tag)) bad(`unexpected structure (element ${index})`);
  return c;
}

function oidOf(node: Asn1Node): string {
  if (node.tag !== 0x06) bad('object identifier expected');
  const b = node.content;
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let value = 0;
  for (let i = 1; i < b.length; i++) {
    value = value * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function integerOf(node: Asn1Node): number {
  if (node.tag !== 0x02 || node.content.length > 6) bad('small integer expected');
  return node.content.reduce((n, byte) => n * 256 + byte, 0);
}

/** The bytes of an OCTET STRING, primitive or constructed (BER), under any tag. */
function octets(node: Asn1Node): Buffer {
  return node.constructed ? Buffer.concat(node.children.map(octets)) : node.content;
}

/** RFC 7292 B.1: the password as a null-terminated big-endian BMPString. */
function bmpPassword(password: string): Buffer {
  const le = Buffer.from(`${password}\0`, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1];
    be[i + 1] = le[i];
  }
  return be;
}

/** RFC 7292 B.2 key derivation (id 1: key, 2: IV, 3: MAC key). */
function pkcs12Kdf(hash: string, password: Buffer, salt: Buffer, iterations: number, id: number, size: number): Buffer {
  const u = createHash(hash).digest().length;
  const v = hash === 'sha384' || hash === 'sha512' ? 128 : 64;
  const fill = (src: Buffer) => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length];
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const out = Buffer.alloc(Math.ceil(size / u) * u);
  for (let block = 0; block * u < size; block++) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash).update(A).digest();
    A.copy(out, block * u);
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        carry += I[j + k] + B[k];
        I[j + k] = carry & 0xff;
        carry >>= 8;
      }
    }
  }
  return out.subarray(0, size);
}

function decipher(name: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  let d;
  try {
    d = createDecipheriv(name, key, iv);
  } catch {
    throw new Pkcs12Error(`it is encrypted with ${name}, which this Node.js build cannot decrypt`, 'algorithm');
  }
  try {
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw new Pkcs12Error('the password does not decrypt it', 'password');
  }
}

/** Decrypts PKCS#7 EncryptedData content (the certificate container). */
function decrypt(algorithm: Asn1Node, data: Buffer, password: string): Buffer {
  const oid = oidOf(child(algorithm, 0));
  const params = algorithm.children[1];
  if (oid === OID.pbes2) {
    const kdf = child(params, 0);
    const scheme = child(params, 1);
    if (oidOf(child(kdf, 0)) !== OID.pbkdf2) throw new Pkcs12Error('it uses a key derivation other than PBKDF2', 'algorithm');
    const kdfParams = child(kdf, 1);
    const salt = octets(child(kdfParams, 0));
    const iterations = integerOf(child(kdfParams, 1));
    const prfNode = kdfParams.children.find((c) => c.tag === 0x30);
    const prf = prfNode ? HMAC_PRF[oidOf(child(prfNode, 0))] : 'sha1';
    const cipher = PBES2_CIPHERS[oidOf(child(scheme, 0))];
    if (!prf || !cipher) throw new Pkcs12Error('it uses an encryption algorithm aadbt does not know', 'algorithm');
    const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.keyLength, prf);
    return decipher(cipher.name, key, octets(child(scheme, 1)), data);
  }
  const pbe = PKCS12_PBE[oid];
  if (!pbe) throw new Pkcs12Error(`it uses an encryption algorithm aadbt does not know (${oid})`, 'algorithm');
  const salt = octets(child(params, 0));
  const iterations = integerOf(child(params, 1));
  const pw = bmpPassword(password);
  if (pbe.rc2Bits !== undefined) {
    // OpenSSL 3 keeps RC2 in its legacy provider, which Node does not load: decrypt it here.
    try {
      return rc2CbcDecrypt(pkcs12Kdf('sha1', pw, salt, iterations, 1, pbe.keyLength), pbe.rc2Bits, pkcs12Kdf('sha1', pw, salt, iterations, 2, pbe.ivLength), data);
    } catch {
      throw new Pkcs12Error('the password does not decrypt it', 'password');
    }
  }
  return decipher(pbe.name, pkcs12Kdf('sha1', pw, salt, iterations, 1, pbe.keyLength), pkcs12Kdf('sha1', pw, salt, iterations, 2, pbe.ivLength), data);
}

/** Checks the PFX's integrity MAC, which is also how a wrong password shows. */
function verifyMac(macData: Asn1Node, authSafe: Buffer, password: string): void {
  const digestInfo = child(macData, 0);
  const hash = DIGESTS[oidOf(child(child(digestInfo, 0), 0))];
  if (!hash) throw new Pkcs12Error('its integrity check uses an algorithm aadbt does not know', 'algorithm');
  const expected = octets(child(digestInfo, 1));
  const salt = octets(child(macData, 1));
  const iterations = macData.children[2] ? integerOf(macData.children[2]) : 1;
  const size = createHash(hash).digest().length;
  // An empty password may have been encoded as no bytes at all (some exporters) or as the BMP terminator.
  for (const pw of password === '' ? [bmpPassword(''), Buffer.alloc(0)] : [bmpPassword(password)]) {
    const actual = createHmac(hash, pkcs12Kdf(hash, pw, salt, iterations, 3, size)).update(authSafe).digest();
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return;
  }
  throw new Pkcs12Error('the password is wrong (the integrity check failed)', 'password');
}

/**
 * Reads a PFX: verifies its MAC, decrypts its containers and returns certificates and key.
 * Throws Pkcs12Error for a wrong password, an unknown algorithm or a file that is not PKCS#12.
 */
export function decodePkcs12(pfx: Buffer, password = ''): Pkcs12Contents {
  let root: Asn1Node;
  try {
    root = parse(pfx);
  } catch (err) {
    if (err instanceof Pkcs12Error) throw err;
    bad('unreadable structure');
  }
  if (root.tag !== 0x30 || integerOf(child(root, 0)) !== 3) bad('no PKCS#12 version 3 header');
  const authSafeInfo = child(root, 1, 0x30);
  if (oidOf(child(authSafeInfo, 0)) !== OID.data) bad('public-key integrity mode is not supported');
  const authSafe = octets(child(child(authSafeInfo, 1, 0xa0), 0));
  if (root.children[2]) verifyMac(root.children[2], authSafe, password);

  const certificates: Buffer[] = [];
  let privateKey: KeyObject | undefined;
  for (const info of parse(authSafe).children) {
    const type = oidOf(child(info, 0));
    let safeContents: Buffer;
    if (type === OID.data) {
      safeContents = octets(child(child(info, 1, 0xa0), 0));
    } else if (type === OID.encryptedData) {
      const encryptedContentInfo = child(child(child(info, 1, 0xa0), 0), 1);
      const encrypted = encryptedContentInfo.children[2];
      if (!encrypted) bad('encrypted container without content');
      safeContents = decrypt(child(encryptedContentInfo, 1), octets(encrypted), password);
    } else {
      throw new Pkcs12Error(`it holds a container of type ${type}, which aadbt does not read`, 'algorithm');
    }
    let bags: Asn1Node;
    try {
      bags = parse(safeContents);
    } catch {
      throw new Pkcs12Error('the password does not decrypt it', 'password');
    }
    for (const bag of bags.children) {
      const bagId = oidOf(child(bag, 0));
      const value = child(child(bag, 1, 0xa0), 0);
      if (bagId === OID.certBag) {
        if (oidOf(child(value, 0)) === OID.x509Certificate) certificates.push(Buffer.from(octets(child(child(value, 1, 0xa0), 0))));
      } else if ((bagId === OID.keyBag || bagId === OID.shroudedKeyBag) && !privateKey) {
        const der = derOf(value);
        try {
          privateKey = bagId === OID.keyBag
            ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
            : createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase: password });
        } catch {
          throw new Pkcs12Error('the password does not decrypt its private key', 'password');
        }
      }
    }
  }
  return { certificates, privateKey };
}

/** The DER bytes of a parsed element (tag, length and content), rebuilt for node:crypto. */
function derOf(node: Asn1Node): Buffer {
  const len = node.content.length;
  const lengthBytes = len < 0x80 ? Buffer.from([len])
    : (() => {
      const bytes: number[] = [];
      for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
      return Buffer.from([0x80 | bytes.length, ...bytes]);
    })();
  return Buffer.concat([Buffer.from([node.tag]), lengthBytes, node.content]);
}
