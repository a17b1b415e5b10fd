// The dev provider's assertion checks, case by case: federated CI tokens and certificate-signed JWTs, answered with Entra's codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { createClientAssertionVerifier, TOKEN_EXCHANGE_AUDIENCE } from '../../src/devidp/client-assertion-verifier.js';
import type { AssertionContext, AssertionVerdict } from '../../src/devidp/token-endpoint.js';
import { makeCertificate, type TestCertificate } from '../support/fake-certificate.js';
import { startFakeIssuer, type FakeIssuer } from '../support/fake-oidc-issuer.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const S = Math.floor(NOW / 1000);
const ENDPOINT = 'https://127.0.0.1:8443/7e57a11d-0000-4000-8000-00000000aadb/oauth2/v2.0/token';
const ctx = (clientId: string, now = NOW): AssertionContext => ({ clientId, tenantId: '7e57a11d-0000-4000-8000-00000000aadb', tokenEndpoint: ENDPOINT, now });
const SUBJECT = 'repo:org/repo:environment:prod';

let ci: FakeIssuer;
let other: FakeIssuer;
let cert: TestCertificate;
let stranger: TestCertificate;
const verifier = createClientAssertionVerifier();

test.before(async () => {
  const clock = { now: () => NOW, setTimeout: () => ({ cancel() {} }) };
  [ci, other, cert, stranger] = await Promise.all([
    startFakeIssuer({ clock, handle: () => ({ status: 404, body: {} }) }),
    startFakeIssuer({ clock, issuerPath: '/other', handle: () => ({ status: 404, body: {} }) }),
    makeCertificate({ notBefore: new Date(NOW - 86_400_000), notAfter: new Date(NOW + 86_400_000) }),
    makeCertificate({ notBefore: new Date(NOW - 86_400_000), notAfter: new Date(NOW + 86_400_000) }),
  ]);
  verifier.addFederatedCredential({ clientId: 'fed-app', issuer: ci.issuer, subject: SUBJECT });
  verifier.addFederatedCredential({ clientId: 'inline-app', issuer: ci.issuer, subject: SUBJECT, jwks: ci.jwks() });
  verifier.registerCertificate('cert-app', cert.certPem);
});
test.after(async () => {
  await Promise.all([ci.close(), other.close()]);
});

const ciToken = (claims: JWTPayload = {}) => ci.sign({ sub: SUBJECT, aud: TOKEN_EXCHANGE_AUDIENCE, exp: S + 300, ...claims });

function tamper(jwt: string, change: JWTPayload): string {
  const [h, p, s] = jwt.split('.');
  return [h, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...change })).toString('base64url'), s].join('.');
}

const codeOf = (v: AssertionVerdict): number | true | false => (typeof v === 'object' ? v.aadsts : v);

const federated: { name: string; clientId?: string; token: () => Promise<string>; now?: number; want: number | true }[] = [
  { name: 'matching issuer, subject and audience (keys via discovery)', token: () => ciToken(), want: true },
  { name: 'matching, keys given inline', clientId: 'inline-app', token: () => ciToken(), want: true },
  { name: 'nbf 4 minutes ahead (within Entra\'s skew allowance)', token: () => ciToken({ nbf: S + 240 }), want: true },
  { name: 'app without federated credentials', clientId: 'plain-app', token: () => ciToken(), want: 70021 },
  { name: 'issuer the app does not trust', token: () => other.sign({ sub: SUBJECT, aud: TOKEN_EXCHANGE_AUDIENCE, exp: S + 300 }), want: 700211 },
  { name: 'another subject (branch instead of environment)', token: () => ciToken({ sub: 'repo:org/repo:ref:refs/heads/main' }), want: 700213 },
  { name: 'another audience', token: () => ciToken({ aud: 'https://github.com/org' }), want: 700212 },
  { name: 'expired', token: () => ciToken({ iat: S - 600, nbf: S - 600, exp: S - 1 }), want: 700024 },
  { name: 'no exp', token: () => ciToken({ exp: undefined }), want: 700024 },
  { name: 'nbf 10 minutes ahead', token: () => ciToken({ nbf: S + 600, exp: S + 900 }), want: 700024 },
  { name: 'claims changed after signing', token: async () => tamper(await ciToken(), { sub: 'repo:evil/repo:environment:prod' }), want: 700027 },
  { name: 'expired but re-dated after signing', token: async () => tamper(await ciToken({ exp: S - 1 }), { exp: S + 300 }), want: 700027 },
  { name: 'not a JWT', token: async () => 'not.a.jwt', want: 700027 },
];

for (const c of federated) {
  test(`federated: ${c.name} → ${c.want === true ? 'accepted' : `AADSTS${c.want}`}`, async () => {
    const token = await c.token();
    const verdict = await verifier.verify(token, ctx(c.clientId ?? 'fed-app', c.now));
    assert.is(codeOf(verdict) === false ? 700027 : codeOf(verdict), c.want);
    if (typeof verdict === 'object') {
      assert.not.ok((verdict.detail ?? '').includes(token), 'the detail never quotes the assertion');
      assert.not.ok((verdict.detail ?? '').includes(token.split('.')[2]), 'nor its signature');
    }
  });
}

test('federated: the detail names what did not match, as Entra does', async () => {
  const sub = await verifier.verify(await ciToken({ sub: 'repo:org/repo:ref:refs/heads/main' }), ctx('fed-app'));
  assert.equal(sub, { aadsts: 700213, detail: '\'repo:org/repo:ref:refs/heads/main\'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.' });
  const expired = await verifier.verify(await ciToken({ iat: S - 600, nbf: S - 600, exp: S - 1 }), ctx('fed-app'));
  assert.match((expired as { detail: string }).detail, /^Current time: 2026-03-01T12:00:00.000Z, assertion valid from 2026-03-01T11:50:00.000Z, expiry time of assertion 2026-03-01T11:59:59.000Z\.$/);
});

function thumbprints(c: TestCertificate) {
  const raw = new X509Certificate(c.certPem).raw;
  return { x5t: createHash('sha1').update(raw).digest('base64url'), 'x5t#S256': createHash('sha256').update(raw).digest('base64url') };
}

/** A client assertion as MSAL builds it for a certificate credential. */
function certAssertion(options: { signer?: TestCertificate; named?: TestCertificate; header?: 'x5t' | 'x5t#S256'; alg?: 'RS256' | 'PS256'; claims?: JWTPayload } = {}) {
  const signer = options.signer ?? cert;
  const named = thumbprints(options.named ?? cert);
  const header = options.header ?? 'x5t#S256';
  return new SignJWT({ iss: 'cert-app', sub: 'cert-app', aud: ENDPOINT, jti: crypto.randomUUID(), nbf: S, iat: S, exp: S + 600, ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'PS256', typ: 'JWT', [header]: named[header] })
    .sign(createPrivateKey(signer.keyPem));
}

const certificates: { name: string; token: () => Promise<string>; now?: number; want: number | true }[] = [
  { name: 'PS256 with x5t#S256 (MSAL\'s default)', token: () => certAssertion(), want: true },
  { name: 'RS256 with the SHA-1 x5t (older MSAL)', token: () => certAssertion({ header: 'x5t', alg: 'RS256' }), want: true },
  { name: 'audience with a tenant alias in the path', token: () => certAssertion({ claims: { aud: ENDPOINT.replace(/\/[0-9a-f-]{36}\//, '/organizations/') } }), want: true },
  { name: 'a certificate the app does not hold', token: () => certAssertion({ signer: stranger, named: stranger }), want: 700027 },
  { name: 'names the registered certificate but signed by another key', token: () => certAssertion({ signer: stranger }), want: 700027 },
  { name: 'another token endpoint as audience', token: () => certAssertion({ claims: { aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' } }), want: 700027 },
  { name: 'expired assertion', token: () => certAssertion({ claims: { nbf: S - 1200, iat: S - 1200, exp: S - 600 } }), want: 700024 },
  { name: 'the certificate itself has expired', token: () => certAssertion(), now: NOW + 2 * 86_400_000, want: 700027 },
];

for (const c of certificates) {
  test(`certificate: ${c.name} → ${c.want === true ? 'accepted' : `AADSTS${c.want}`}`, async () => {
    const verdict = await verifier.verify(await c.token(), ctx('cert-app', c.now));
    assert.is(codeOf(verdict), c.want);
  });
}

test('issuer keys are fetched over HTTP once and reused', async () => {
  const before = ci.keyFetches();
  for (let i = 0; i < 3; i++) assert.is(await verifier.verify(await ciToken(), ctx('fed-app')), true);
  assert.is(ci.keyFetches(), before, 'already cached from the first federated case');
  assert.ok(before >= 2, 'discovery and JWKS were fetched');
});

test.run();
