// Client-certificate credentials (PEM, encrypted PEM, PFX) through the real ClientCertificateCredential against the dev provider.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey } from 'node:crypto';
import { createFakeClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { AadbtError, AuthenticationFailed, CredentialUnavailable } from '../../src/errors.js';
import { createTokenSource } from '../../src/identity/create-token-source.js';
import { decodeClaims } from '../../src/tokens/token-cache.js';
import { makeCertificate, pfxOf, type TestCertificate } from '../support/fake-certificate.js';
import { tempDir, FABRIC, type TempDir } from '../support/harness.js';
import { writeFileSync } from 'node:fs';

const PASSWORD = 'pfx-Pa55word-7f3c91';
const CLIENT = 'cert-app';

let idp: DevIdp;
let dir: TempDir;
let caFile: string;
let good: TestCertificate;
let other: TestCertificate;
const secrets: string[] = [PASSWORD];

test.before(async () => {
  idp = await createDevIdp({ clock: createFakeClock(Date.now()) });
  dir = tempDir();
  caFile = dir.file('ca.pem', idp.caPem, 0o644);
  [good, other] = await Promise.all([makeCertificate({ cn: 'dbt prod' }), makeCertificate({ cn: 'someone else' })]);
  idp.registerCertificate(CLIENT, good.certPem);
  for (const c of [good, other]) secrets.push(c.keyPem, keyBody(c.keyPem));
});
test.after(async () => {
  await idp.close();
  dir.remove();
});

function keyBody(pem: string): string {
  return pem.split('\n').filter((l) => l && !l.startsWith('-----')).slice(1, 2).join('');
}

function sourceFor(file: string, passwordEnv?: string) {
  const config = parseConfig(`
environments:
  prod:
    tenant: ${idp.tenantId}
    authorityHost: ${idp.url}
    authorityCaFile: ${caFile}
    automation: true
    credential: { type: client-certificate, clientId: ${CLIENT}, certificateFile: ${file}${passwordEnv ? `, passwordEnv: ${passwordEnv}` : ''} }
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }
`, 'cert.yaml');
  return createTokenSource(config.environments.prod, { env: { PFX_PASSWORD: PASSWORD, WRONG_PASSWORD: 'not-the-password' } });
}

function encryptedPem(cert: TestCertificate): string {
  const key = createPrivateKey(cert.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSWORD }) as string;
  return `${key}\n${cert.certPem}\n`;
}

function noLeak(text: string, what: string): void {
  for (const s of [...secrets, ...idp.issuedTokens()]) assert.not.ok(text.includes(s), `${what} leaks a secret`);
}

async function failure(run: () => Promise<unknown>): Promise<AadbtError> {
  try {
    await run();
  } catch (err) {
    assert.instance(err, AadbtError);
    const e = err as AadbtError;
    noLeak(`${e.message} ${e.hint ?? ''} ${JSON.stringify(e)}`, 'the error');
    return e;
  }
  assert.unreachable('expected a failure');
  throw new Error('unreachable');
}

const accepted: { name: string; file: () => string | Buffer | undefined; passwordEnv?: string }[] = [
  { name: 'PEM: key and certificate in one file', file: () => good.combinedPem },
  { name: 'PEM: certificate first, then the key', file: () => `${good.certPem}\n${good.keyPem}` },
  { name: 'PEM: encrypted PKCS#8 key with passwordEnv', file: () => encryptedPem(good), passwordEnv: 'PFX_PASSWORD' },
  { name: 'PFX: OpenSSL 3 default (AES-256, PBKDF2, SHA-256 MAC)', file: () => pfxOf(good, PASSWORD, 'aes'), passwordEnv: 'PFX_PASSWORD' },
  { name: 'PFX: legacy 3DES with SHA-1 MAC (Windows export)', file: () => pfxOf(good, PASSWORD, '3des'), passwordEnv: 'PFX_PASSWORD' },
  { name: 'PFX: OpenSSL 1.x default (certificates under RC2-40)', file: () => pfxOf(good, PASSWORD, 'rc2'), passwordEnv: 'PFX_PASSWORD' },
];

for (const c of accepted) {
  test(`client certificate gets a token: ${c.name}`, async () => {
    const content = c.file();
    if (content === undefined) {
      console.log(`skipped "${c.name}": the openssl CLI (Debian package openssl, with its legacy provider for RC2) is not installed`);
      return;
    }
    const file = dir.path + `/${c.name.replace(/\W+/g, '-')}.${Buffer.isBuffer(content) ? 'pfx' : 'pem'}`;
    writeFileSync(file, content, { mode: 0o600 });
    const before = idp.tokenRequests({ clientId: CLIENT });
    const issued = await sourceFor(file, c.passwordEnv).getToken(FABRIC);
    assert.is(idp.tokenRequests({ clientId: CLIENT }), before + 1);
    const claims = decodeClaims(issued.token);
    assert.is(claims.appid, CLIENT);
    assert.match(String(claims.aud), /^https:\/\/database.windows.net\/?$/);
    assert.is(claims.azpacr, '2', 'the provider saw a certificate assertion, not a secret');
    assert.ok(issued.lifetimeMs > 3_000_000);
  });
}

const refused: { name: string; file: () => string | Buffer | undefined; passwordEnv?: string; kind: new (...args: never[]) => AadbtError; message: RegExp; hint: RegExp }[] = [
  {
    name: 'a certificate the app registration does not hold', file: () => other.combinedPem,
    kind: AuthenticationFailed, message: /prod: the client assertion or certificate was not accepted \(AADSTS700027\)/, hint: /certificate uploaded to the app registration matches certificateFile/,
  },
  {
    name: 'PFX with the wrong password', file: () => pfxOf(good, PASSWORD), passwordEnv: 'WRONG_PASSWORD',
    kind: CredentialUnavailable, message: /cannot open the certificate file .*\.pfx: the password is wrong/, hint: /\$WRONG_PASSWORD \(credential.passwordEnv\) holds the password/,
  },
  {
    name: 'RC2 PFX with the wrong password', file: () => pfxOf(good, PASSWORD, 'rc2'), passwordEnv: 'WRONG_PASSWORD',
    kind: CredentialUnavailable, message: /the password is wrong/, hint: /\$WRONG_PASSWORD/,
  },
  {
    name: 'PFX without passwordEnv', file: () => pfxOf(good, PASSWORD),
    kind: CredentialUnavailable, message: /the password is wrong/, hint: /set credential.passwordEnv/,
  },
  {
    name: 'encrypted PEM without a password', file: () => encryptedPem(good),
    kind: CredentialUnavailable, message: /private key in .* is encrypted and no password was given/, hint: /set credential.passwordEnv/,
  },
  {
    name: 'certificate without its private key', file: () => good.certPem,
    kind: CredentialUnavailable, message: /holds no private key/, hint: /both the private key and the certificate/,
  },
  {
    name: 'key with another certificate', file: () => `${good.keyPem}\n${other.certPem}`,
    kind: CredentialUnavailable, message: /no certificate in .* matches its private key/, hint: /same file as its private key/,
  },
  {
    name: 'not a certificate at all', file: () => Buffer.from('this is not a PFX'),
    kind: CredentialUnavailable, message: /is not a PKCS#12 \(PFX\) file/, hint: /PEM file .* or a PFX/,
  },
];

for (const c of refused) {
  test(`client certificate refused clearly: ${c.name}`, async () => {
    const content = c.file();
    if (content === undefined) {
      console.log(`skipped "${c.name}": the openssl CLI (Debian package openssl, with its legacy provider for RC2) is not installed`);
      return;
    }
    const file = dir.path + `/refused-${c.name.replace(/\W+/g, '-')}.${Buffer.isBuffer(content) ? 'pfx' : 'pem'}`;
    writeFileSync(file, content, { mode: 0o600 });
    const e = await failure(() => sourceFor(file, c.passwordEnv).getToken(FABRIC));
    assert.instance(e, c.kind);
    assert.match(e.message, c.message);
    assert.match(e.hint ?? '', c.hint);
    if (e instanceof AuthenticationFailed) {
      assert.equal(e.aadstsCodes, [700027]);
      assert.is(e.transient, false);
    }
  });
}

test('an expired certificate on the app registration is refused (AADSTS700027, the key has expired)', async () => {
  const old = await makeCertificate({ notBefore: new Date(Date.now() - 400 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  secrets.push(old.keyPem);
  idp.registerCertificate('expired-cert-app', old.certPem);
  const file = dir.file('expired.pem', old.combinedPem);
  const config = parseConfig(`
environments:
  prod:
    tenant: ${idp.tenantId}
    authorityHost: ${idp.url}
    authorityCaFile: ${caFile}
    credential: { type: client-certificate, clientId: expired-cert-app, certificateFile: ${file} }
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }
`, 'cert.yaml');
  const e = await failure(() => createTokenSource(config.environments.prod, { env: {} }).getToken(FABRIC));
  assert.instance(e, AuthenticationFailed);
  assert.equal((e as AuthenticationFailed).aadstsCodes, [700027]);
});

test('the certificate file is re-read after rotation (material version changes, new key works)', async () => {
  const file = dir.file('rotating.pem', other.combinedPem);
  const source = sourceFor(file);
  const v1 = source.materialVersion();
  await failure(() => source.getToken(FABRIC));
  writeFileSync(file, good.combinedPem);
  assert.is.not(source.materialVersion(), v1);
  assert.is(decodeClaims((await source.getToken(FABRIC)).token).appid, CLIENT);
});

test.run();
