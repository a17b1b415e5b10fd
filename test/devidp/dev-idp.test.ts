// The dev identity provider against the real @azure/identity credentials, over real HTTPS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClientAssertionCredential, ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { createFakeClock } from '../../src/clock.js';
import { createDevCa } from '../../src/devidp/dev-ca.js';
import { DEV_TENANT_DOMAIN, createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { fetchTrusting, httpsRequest, postForm } from './https-client.js';

const SQL = 'https://database.windows.net/.default';
const DATABRICKS = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const clock = createFakeClock();
let idp: DevIdp;
let appSecret: string;
let tokenUrl: string;

function credential(clientId: string, secret: string, extra: ClientSecretCredentialOptions = {}, tenant = idp.tenantId): ClientSecretCredential {
  // maxRetries 0: the pipeline's own retries would wait real time; every test counts single attempts.
  return new ClientSecretCredential(tenant, clientId, secret, {
    authorityHost: idp.url, disableInstanceDiscovery: true, tlsOptions: { ca: idp.caPem }, retryOptions: { maxRetries: 0 }, ...extra,
  });
}

async function verify(token: string): Promise<{ payload: JWTPayload; kid: string | undefined }> {
  const discovery = JSON.parse((await httpsRequest(`${idp.url}/${idp.tenantId}/v2.0/.well-known/openid-configuration`, { ca: idp.caPem })).text);
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { [customFetch]: fetchTrusting(idp.caPem) });
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: discovery.issuer, algorithms: ['RS256'], currentDate: new Date(clock.now()),
  });
  return { payload, kid: protectedHeader.kid };
}

/** Awaits a rejection and returns the error (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
    assert.unreachable('should throw');
  } catch (e) {
    if (e instanceof Error && e.name === 'Assertion') throw e;
    assert.instance(e, Error);
    return e as Error;
  }
  throw new Error('unreachable');
}

test.before(async () => {
  idp = await createDevIdp({ clock, clients: [{ clientId: 'app-ci', groups: ['g-readers', 'g-writers'], roles: ['Data.Read'] }] });
  appSecret = idp.registerClient({ clientId: 'app-dev', groups: ['g-dev'] });
  tokenUrl = `${idp.url}/${idp.tenantId}/oauth2/v2.0/token`;
});
test.after(async () => {
  await idp.close();
});
test.before.each(() => {
  idp.clearFaults();
  idp.setTokenLifetime(3600);
  idp.setAssertionVerifier(undefined);
});

test('listens on HTTPS at 127.0.0.1 and serves a discovery document on its own origin', async () => {
  assert.match(idp.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(idp.tenantId, GUID);
  assert.match(idp.caPem, /^-----BEGIN CERTIFICATE-----/);
  const res = await httpsRequest(`${idp.url}/${idp.tenantId}/v2.0/.well-known/openid-configuration`, { ca: idp.caPem });
  assert.is(res.status, 200);
  const doc = JSON.parse(res.text);
  assert.is(doc.issuer, `${idp.url}/${idp.tenantId}/v2.0`);
  assert.is(doc.issuer, idp.issuer);
  for (const key of ['token_endpoint', 'jwks_uri', 'authorization_endpoint', 'device_authorization_endpoint', 'end_session_endpoint']) {
    assert.ok(String(doc[key]).startsWith(`${idp.url}/${idp.tenantId}/`), key);
  }
  assert.is(doc.token_endpoint, tokenUrl);
});

test('ClientSecretCredential gets a token whose RS256 signature verifies against the JWKS, with Entra claims', async () => {
  const token = await credential('app-ci', idp.registerClient({ clientId: 'app-ci', groups: ['g-readers', 'g-writers'], roles: ['Data.Read'] })).getToken(SQL);
  assert.ok(token);
  assert.is(token.tokenType, 'Bearer');
  const { payload, kid } = await verify(token.token);
  const jwks = JSON.parse((await httpsRequest(`${idp.url}/${idp.tenantId}/discovery/v2.0/keys`, { ca: idp.caPem })).text);
  assert.is(kid, jwks.keys[0].kid);
  assert.is(decodeProtectedHeader(token.token).alg, 'RS256');
  const iat = Math.floor(clock.now() / 1000);
  assert.equal(
    { aud: payload.aud, iss: payload.iss, tid: payload.tid, appid: payload.appid, azp: payload.azp, idtyp: payload.idtyp, ver: payload.ver, iat: payload.iat, nbf: payload.nbf, exp: payload.exp, groups: payload.groups, roles: payload.roles, azpacr: payload.azpacr },
    { aud: 'https://database.windows.net/', iss: idp.issuer, tid: idp.tenantId, appid: 'app-ci', azp: 'app-ci', idtyp: 'app', ver: '2.0', iat, nbf: iat, exp: iat + 3600, groups: ['g-readers', 'g-writers'], roles: ['Data.Read'], azpacr: '1' },
  );
  assert.match(String(payload.oid), GUID);
  assert.type(payload.uti, 'string');
  assert.is(payload.upn, undefined);
  assert.is(payload.scp, undefined);
  assert.ok(idp.issuedTokens().includes(token.token));
});

test('oid is stable per client; uti differs per token; a GUID resource becomes the audience', async () => {
  const a = decodeJwt((await credential('app-dev', appSecret).getToken(SQL))!.token);
  const b = decodeJwt((await credential('app-dev', appSecret).getToken(DATABRICKS))!.token);
  assert.is(a.oid, b.oid);
  assert.is.not(a.uti, b.uti);
  assert.is(b.aud, '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d');
  const other = decodeJwt((await credential('app-ci', idp.registerClient({ clientId: 'app-ci' })).getToken(SQL))!.token);
  assert.is.not(other.oid, a.oid);
});

test('user-typed clients get upn and scp; group overage replaces groups with _claim_names', async () => {
  const secret = idp.registerClient({ clientId: 'user-like', idtyp: 'user', upn: 'ada@dev.aadbt.local', groups: ['g1'], groupOverage: true, roles: ['ignored'] });
  const { payload } = await verify((await credential('user-like', secret).getToken(SQL))!.token);
  assert.is(payload.idtyp, 'user');
  assert.is(payload.upn, 'ada@dev.aadbt.local');
  assert.is(payload.scp, 'user_impersonation');
  assert.is(payload.roles, undefined);
  assert.is(payload.groups, undefined);
  assert.equal(payload._claim_names, { groups: 'src1' });
  assert.is(payload.hasgroups, true);
  assert.match(JSON.stringify(payload._claim_sources), /getMemberObjects/);
});

test('the tenant domain alias is accepted as the tenant, and tokens name the GUID', async () => {
  const token = await credential('app-dev', appSecret, {}, DEV_TENANT_DOMAIN).getToken(SQL);
  assert.is(decodeJwt(token!.token).tid, idp.tenantId);
});

test('setTokenLifetime changes exp; two hours or more adds refresh_in', async () => {
  idp.setTokenLifetime(7200);
  const token = await credential('app-dev', appSecret).getToken(SQL);
  const claims = decodeJwt(token!.token);
  assert.is(claims.exp! - claims.iat!, 7200);
  assert.type(token!.refreshAfterTimestamp, 'number'); // MSAL read refresh_in
  const raw = await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL });
  const body = JSON.parse(raw.text);
  assert.equal([body.token_type, body.expires_in, body.ext_expires_in, body.refresh_in], ['Bearer', 7200, 7200, 3600]);
  idp.setTokenLifetime(600);
  const short = JSON.parse((await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL })).text);
  assert.is(short.expires_in, 600);
  assert.is(short.refresh_in, undefined);
  const c = decodeJwt(short.access_token);
  assert.is(c.exp! - c.iat!, 600);
});

const errorCases: { name: string; form: Record<string, string>; path?: string; status: number; error: string; code: number; secretInForm?: string }[] = [
  { name: 'wrong secret', form: { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: 'wrong-secret-value-123', scope: SQL }, status: 401, error: 'invalid_client', code: 7000215, secretInForm: 'wrong-secret-value-123' },
  { name: 'unknown client', form: { grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x-secret-x', scope: SQL }, status: 400, error: 'unauthorized_client', code: 700016, secretInForm: 'x-secret-x' },
  { name: 'denied resource', form: { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: '@SECRET', scope: 'https://unknown.example/.default' }, status: 400, error: 'invalid_resource', code: 500011 },
  { name: 'scope without /.default', form: { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: '@SECRET', scope: 'https://database.windows.net/user_impersonation' }, status: 400, error: 'invalid_scope', code: 1002012 },
  { name: 'neither secret nor assertion', form: { grant_type: 'client_credentials', client_id: 'app-dev', scope: SQL }, status: 401, error: 'invalid_client', code: 7000218 },
  { name: 'assertion without a verifier', form: { grant_type: 'client_credentials', client_id: 'app-dev', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'eyJhbGciOi.assertion-body.sig', scope: SQL }, status: 401, error: 'invalid_client', code: 700027, secretInForm: 'eyJhbGciOi.assertion-body.sig' },
  { name: 'unsupported grant', form: { grant_type: 'password', client_id: 'app-dev', client_secret: '@SECRET', scope: SQL }, status: 400, error: 'unsupported_grant_type', code: 70003 },
  { name: 'missing grant_type', form: { client_id: 'app-dev', client_secret: '@SECRET', scope: SQL }, status: 400, error: 'invalid_request', code: 900144 },
  { name: 'unknown tenant', path: '/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token', form: { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: '@SECRET', scope: SQL }, status: 400, error: 'invalid_request', code: 90002 },
];

for (const c of errorCases) {
  test(`error in Entra's shape: ${c.name} → ${c.status} ${c.error} AADSTS${c.code}`, async () => {
    const form = Object.fromEntries(Object.entries(c.form).map(([k, v]) => [k, v === '@SECRET' ? appSecret : v]));
    const correlationId = '0b7c6a2e-7f3d-4c1e-9a55-1234567890ab';
    const res = await postForm(c.path ? `${idp.url}${c.path}` : tokenUrl, idp.caPem, form, { 'client-request-id': correlationId });
    assert.is(res.status, c.status);
    const body = JSON.parse(res.text);
    assert.is(body.error, c.error);
    assert.equal(body.error_codes, [c.code]);
    assert.ok(String(body.error_description).startsWith(`AADSTS${c.code}: `), body.error_description);
    assert.match(body.error_description, `\r\nTrace ID: ${body.trace_id}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${body.timestamp}`);
    assert.is(body.correlation_id, correlationId);
    assert.match(body.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.not.match(res.text, appSecret);
    if (c.secretInForm) assert.not.match(res.text, c.secretInForm);
  });
}

const credentialErrors: { name: string; run: () => Promise<unknown>; code: number; error: string }[] = [
  { name: 'wrong secret', run: () => credential('app-dev', 'not-the-secret').getToken(SQL), code: 7000215, error: 'invalid_client' },
  { name: 'unknown client', run: () => credential('ghost-app', 'whatever').getToken(SQL), code: 700016, error: 'unauthorized_client' },
  { name: 'denied resource', run: () => credential('app-dev', appSecret).getToken('https://unknown.example/.default'), code: 500011, error: 'invalid_resource' },
];

for (const c of credentialErrors) {
  // @azure/identity 4.13 (MSAL node 5) wraps token-endpoint errors in AuthenticationRequiredError with
  // only a message: "<error>: Error(s): <codes> - Timestamp: … - Description: AADSTS<code>: …". No status.
  test(`@azure/identity surfaces ${c.name} as AuthenticationRequiredError naming AADSTS${c.code}`, async () => {
    const e = await rejection(c.run());
    assert.is(e.name, 'AuthenticationRequiredError');
    assert.ok(e.message.startsWith(`${c.error}: Error(s): ${c.code} - `), e.message);
    assert.match(e.message, `AADSTS${c.code}: `);
    assert.not.match(e.message, appSecret);
  });
}

test('secret rotation: an added secret works, a revoked one fails with AADSTS7000215', async () => {
  const old = idp.registerClient({ clientId: 'rotating', secret: 'old-secret-1' });
  idp.addSecret('rotating', 'new-secret-2');
  assert.ok(await credential('rotating', old).getToken(SQL));
  assert.ok(await credential('rotating', 'new-secret-2').getToken(SQL));
  idp.revokeSecret('rotating', old);
  assert.match((await rejection(credential('rotating', old).getToken(SQL))).message, 'AADSTS7000215');
  assert.ok(await credential('rotating', 'new-secret-2').getToken(SQL));
  assert.throws(() => idp.revokeSecret('rotating', old), (e: Error) => e.name === 'NotFoundError' && !e.message.includes(old));
});

test('client assertions: default rejects (700027); the verifier hook accepts or picks the AADSTS code', async () => {
  const assertionCredential = (assertion: string) => new ClientAssertionCredential(idp.tenantId, 'app-dev', async () => assertion, {
    authorityHost: idp.url, disableInstanceDiscovery: true, tlsOptions: { ca: idp.caPem }, retryOptions: { maxRetries: 0 },
  });
  assert.match((await rejection(assertionCredential('any.jwt.here').getToken(SQL))).message, 'AADSTS700027');
  const seen: string[] = [];
  idp.setAssertionVerifier((assertion, ctx) => {
    seen.push(`${ctx.clientId} ${ctx.tenantId} ${ctx.tokenEndpoint}`);
    return assertion === 'good.assertion.jwt' ? true : { aadsts: 70021 };
  });
  const token = await assertionCredential('good.assertion.jwt').getToken(SQL);
  assert.is(decodeJwt(token!.token).azpacr, '2');
  assert.equal(seen, [`app-dev ${idp.tenantId} ${tokenUrl}`]);
  const e = await rejection(assertionCredential('bad.assertion.jwt').getToken(SQL));
  assert.match(e.message, 'AADSTS70021');
  assert.not.match(e.message, 'bad.assertion.jwt');
  idp.setAssertionVerifier(() => {
    throw new Error('verifier exploded on good.assertion.jwt');
  });
  const thrown = await rejection(assertionCredential('good.assertion.jwt').getToken(SQL));
  assert.match(thrown.message, 'AADSTS700027');
  assert.not.match(thrown.message, 'exploded');
});

test('throttle fault: 429 with Retry-After, Entra-shaped; the credential reports AADSTS90055', async () => {
  idp.injectFault({ kind: 'throttle', retryAfterSeconds: 7, count: 2 });
  const res = await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL });
  assert.is(res.status, 429);
  assert.is(res.headers['retry-after'], '7');
  assert.equal(JSON.parse(res.text).error_codes, [90055]);
  assert.match((await rejection(credential('app-dev', appSecret).getToken(SQL))).message, 'AADSTS90055');
  assert.ok(await credential('app-dev', appSecret).getToken(SQL), 'count exhausted: issues again');
});

test('status fault: 503 twice, then success; every attempt is counted', async () => {
  const scope = 'https://management.azure.com/.default';
  const before = idp.tokenRequests({ clientId: 'app-dev', scope });
  idp.injectFault({ kind: 'status', status: 503, count: 2 });
  const raw = await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope });
  assert.is(raw.status, 503);
  const body = JSON.parse(raw.text);
  assert.is(body.error, 'temporarily_unavailable');
  assert.ok(body.error_description.startsWith('AADSTS90033: '));
  // A fresh credential per attempt: MSAL remembers 5xx/429 answers per instance and refuses locally.
  assert.match((await rejection(credential('app-dev', appSecret).getToken(scope))).message, 'AADSTS90033');
  const token = await credential('app-dev', appSecret).getToken(scope);
  assert.is(decodeJwt(token!.token).aud, 'https://management.azure.com/');
  assert.is(idp.tokenRequests({ clientId: 'app-dev', scope }) - before, 3);
});

test('status 500 and AADSTS faults answer with Entra status and error', async () => {
  const cases: { fault: Parameters<DevIdp['injectFault']>[0]; status: number; error: string; code: number }[] = [
    { fault: { kind: 'status', status: 500, count: 1 }, status: 500, error: 'server_error', code: 50000 },
    { fault: { kind: 'aadsts', code: 53003, count: 1 }, status: 400, error: 'invalid_grant', code: 53003 },
    { fault: { kind: 'aadsts', code: 7000222, count: 1 }, status: 401, error: 'invalid_client', code: 7000222 },
  ];
  for (const c of cases) {
    idp.injectFault(c.fault);
    const res = await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL });
    const body = JSON.parse(res.text);
    assert.equal([res.status, body.error, body.error_codes], [c.status, c.error, [c.code]], JSON.stringify(c.fault));
  }
  assert.is((await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL })).status, 200);
});

test('latency fault delays the answer on the injected clock, not the wall clock', async () => {
  idp.injectFault({ kind: 'latency', ms: 5000 });
  const before = idp.tokenRequests();
  let settled = false;
  const pending = credential('app-dev', appSecret).getToken(SQL).finally(() => {
    settled = true;
  });
  // Wait (on I/O, not on time) until the request has reached the provider and parked on the fake clock.
  const deadline = Date.now() + 10_000;
  while (clock.pending() === 0 && Date.now() < deadline) await new Promise<void>((r) => setImmediate(r));
  assert.is(clock.pending(), 1);
  assert.is(idp.tokenRequests(), before + 1);
  await clock.advance(4999);
  assert.is(settled, false);
  assert.is(clock.pending(), 1);
  await clock.advance(1);
  const token = await pending;
  assert.is(decodeJwt(token!.token).iat, Math.floor(clock.now() / 1000)); // issued after the delay
});

test('tokenRequests counts every attempt, filtered by clientId and scope', async () => {
  const secret = idp.registerClient({ clientId: 'counter' });
  const c = (s: string) => credential('counter', secret).getToken(s);
  await c(SQL);
  await c(SQL);
  await c(DATABRICKS);
  await rejection(credential('counter', 'bad').getToken(SQL));
  assert.is(idp.tokenRequests({ clientId: 'counter' }), 4);
  assert.is(idp.tokenRequests({ clientId: 'counter', scope: SQL }), 3);
  assert.is(idp.tokenRequests({ clientId: 'counter', scope: DATABRICKS }), 1);
  assert.is(idp.tokenRequests({ scope: 'https://never.example/.default' }), 0);
  assert.ok(idp.tokenRequests() >= 4);
});

test('admin API over HTTPS: faults, lifetime and stats; never a token', async () => {
  const admin = (method: string, path: string, body?: unknown) => httpsRequest(`${idp.url}/_dev/${path}`, {
    ca: idp.caPem, method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' },
  });
  assert.is((await admin('POST', 'faults', { kind: 'aadsts', code: 7000222, count: 1 })).status, 204);
  const faulted = await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL });
  assert.equal(JSON.parse(faulted.text).error_codes, [7000222]);

  assert.is((await admin('POST', 'faults', { kind: 'status', status: 503 })).status, 204);
  assert.is((await admin('DELETE', 'faults')).status, 204);
  assert.is((await admin('PUT', 'lifetime', { seconds: 120 })).status, 204);
  const ok = JSON.parse((await postForm(tokenUrl, idp.caPem, { grant_type: 'client_credentials', client_id: 'app-dev', client_secret: appSecret, scope: SQL })).text);
  assert.is(ok.expires_in, 120);

  const stats = await admin('GET', 'stats');
  assert.is(stats.status, 200);
  assert.equal(JSON.parse(stats.text), { tokenRequests: idp.tokenRequests() });
  const filtered = await admin('GET', `stats?clientId=app-dev&scope=${encodeURIComponent(SQL)}`);
  assert.equal(JSON.parse(filtered.text), { tokenRequests: idp.tokenRequests({ clientId: 'app-dev', scope: SQL }) });

  const invalid = [
    await admin('POST', 'faults', { kind: 'status', status: 200 }),
    await admin('POST', 'faults', { kind: 'nope' }),
    await admin('PUT', 'lifetime', { seconds: -5 }),
    await httpsRequest(`${idp.url}/_dev/faults`, { ca: idp.caPem, method: 'POST', body: '{not json' }),
  ];
  for (const res of invalid) {
    assert.is(res.status, 400, res.text);
    assert.is(JSON.parse(res.text).error.code, 'BAD_REQUEST');
  }
  const all = [stats, filtered, ...invalid, await admin('GET', 'faults')].map((r) => r.text).join('\n');
  for (const t of idp.issuedTokens()) assert.not.ok(all.includes(t), 'a token leaked through the admin API');
});

test('routing: tenant aliases, unknown paths, wrong methods and oversized bodies', async () => {
  const get = (path: string, method = 'GET', body?: string) => httpsRequest(`${idp.url}${path}`, { ca: idp.caPem, method, body });
  for (const tenant of [DEV_TENANT_DOMAIN, 'organizations', idp.tenantId.toUpperCase()]) {
    const res = await get(`/${tenant}/discovery/v2.0/keys`);
    assert.is(res.status, 200, tenant);
    assert.is(JSON.parse(res.text).keys[0].kty, 'RSA');
  }
  assert.is((await get('/nowhere')).status, 404);
  assert.is((await get(`/${idp.tenantId}/oauth2/v2.0/token`)).status, 404);
  assert.is((await get('/_dev/stats', 'POST')).status, 405);
  const before = idp.tokenRequests();
  assert.is((await get(`/${idp.tenantId}/oauth2/v2.0/token`, 'POST', 'x='.padEnd(70_000, 'a'))).status, 413);
  assert.is(idp.tokenRequests(), before);
});

test('trust is real: a foreign CA or the system roots fail TLS, and nothing reaches the token endpoint', async () => {
  const foreign = await createDevCa();
  const before = idp.tokenRequests();
  const e = await rejection(new ClientSecretCredential(idp.tenantId, 'app-dev', appSecret, {
    authorityHost: idp.url, disableInstanceDiscovery: true, tlsOptions: { ca: foreign.caPem }, retryOptions: { maxRetries: 0 },
  }).getToken(SQL));
  // @azure/identity reports an unreachable or untrusted authority as CredentialUnavailableError (discovery failed).
  assert.is(e.name, 'CredentialUnavailableError');
  assert.not.match(e.message, appSecret);
  const raw = await rejection(httpsRequest(tokenUrl, { ca: foreign.caPem, method: 'POST' }));
  assert.match((raw as NodeJS.ErrnoException).code ?? '', /CERT|SIGNATURE|ISSUER/);
  const system = await rejection(new Promise((resolve, reject) => {
    // no `ca`: Node's bundled roots, which must not trust the dev CA
    import('node:https').then(({ get }) => get(`${idp.url}/`, { agent: false }, resolve).on('error', reject), reject);
  }));
  assert.match((system as NodeJS.ErrnoException).code ?? '', /CERT|SIGNATURE|ISSUER/);
  assert.is(idp.tokenRequests(), before);
});

test('createDevIdp: validates options and closes cleanly (twice is fine)', async () => {
  for (const bad of [{ tenantId: 'not-a-guid' }, { tokenLifetimeSeconds: 0 }]) {
    const e = await rejection(createDevIdp(bad));
    assert.is(e.name, 'UsageError');
  }
  const other = await createDevIdp({ tenantId: '11111111-2222-4333-8444-555555555555', tokenLifetimeSeconds: 60 });
  assert.is.not(other.caPem, idp.caPem);
  const secret = other.registerClient({ clientId: 'x' });
  assert.match(secret, /^\S{20,}$/);
  const res = await postForm(`${other.url}/${other.tenantId}/oauth2/v2.0/token`, other.caPem, { grant_type: 'client_credentials', client_id: 'x', client_secret: secret, scope: SQL });
  assert.is(JSON.parse(res.text).expires_in, 60);
  assert.throws(() => other.setTokenLifetime(1.5), (e: Error) => e.name === 'UsageError');
  assert.throws(() => other.injectFault({ kind: 'status', status: 404 }), (e: Error) => e.name === 'UsageError');
  await other.close();
  await other.close();
  await rejection(postForm(`${other.url}/${other.tenantId}/oauth2/v2.0/token`, other.caPem, {}));
});

test.run();
