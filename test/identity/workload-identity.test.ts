// Workload identity federation through the real ClientAssertionCredential: CI fakes issue OIDC tokens, the dev provider checks them like Entra.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { createFakeClock, type FakeClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { AadbtError, AuthenticationFailed, CredentialUnavailable } from '../../src/errors.js';
import { createTokenSource } from '../../src/identity/create-token-source.js';
import type { TokenSource } from '../../src/identity/token-source.js';
import { decodeClaims } from '../../src/tokens/token-cache.js';
import { startFakeAzurePipelines, type FakeAzurePipelines } from '../support/fake-azure-pipelines.js';
import { startFakeGitHubActions, type FakeGitHubActions } from '../support/fake-github-actions.js';
import { tempDir, FABRIC, type TempDir } from '../support/harness.js';

const GH_APP = 'gh-federated-app';
const AZP_APP = 'azp-federated-app';
const MINUTE = 60_000;

let clock: FakeClock;
let idp: DevIdp;
let gh: FakeGitHubActions;
let azp: FakeAzurePipelines;
let dir: TempDir;
let caFile: string;

test.before(async () => {
  clock = createFakeClock(Date.now());
  idp = await createDevIdp({ clock });
  [gh, azp] = await Promise.all([startFakeGitHubActions({ clock }), startFakeAzurePipelines({ clock })]);
  dir = tempDir();
  caFile = dir.file('ca.pem', idp.caPem, 0o644);
  // Keys are not given: the provider fetches them over HTTP through each issuer's discovery document.
  idp.addFederatedCredential({ clientId: GH_APP, issuer: gh.issuer, subject: gh.subject });
  idp.addFederatedCredential({ clientId: AZP_APP, issuer: azp.issuer, subject: azp.subject });
  idp.registerClient({ clientId: 'no-federation-app' });
});
test.after(async () => {
  await Promise.all([idp.close(), gh.close(), azp.close()]);
  dir.remove();
});

function source(credential: string, env: NodeJS.ProcessEnv): TokenSource {
  const config = parseConfig(`
environments:
  prod:
    tenant: ${idp.tenantId}
    authorityHost: ${idp.url}
    authorityCaFile: ${caFile}
    automation: true
    credential: ${credential}
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }
`, 'wif.yaml');
  return createTokenSource(config.environments.prod, { env, clock });
}

const github = (extra = '') => source(`{ type: workload-identity, clientId: ${GH_APP}, assertion: github-actions${extra} }`, gh.env());
const fromEnv = (clientId: string, token: string) => source(`{ type: workload-identity, clientId: ${clientId}, assertion: "env:CI_JOB_JWT_V2" }`, { CI_JOB_JWT_V2: token });

/** Everything secret seen so far: CI request tokens, every assertion and every access token. */
function secrets(): string[] {
  return [gh.requestToken, azp.accessToken, ...gh.issued(), ...azp.issued(), ...idp.issuedTokens()];
}

async function failure(run: () => Promise<unknown>): Promise<AadbtError> {
  try {
    await run();
  } catch (err) {
    assert.instance(err, AadbtError);
    const e = err as AadbtError;
    const text = `${e.message} ${e.hint ?? ''} ${JSON.stringify(e)}`;
    for (const s of secrets()) assert.not.ok(text.includes(s), `the error "${e.message}" leaks a secret`);
    return e;
  }
  assert.unreachable('expected a failure');
  throw new Error('unreachable');
}

test('github-actions: a token for the federated app, the signature checked against the fake\'s JWKS', async () => {
  const issued = await github().getToken(FABRIC);
  const claims = decodeClaims(issued.token);
  assert.is(claims.appid, GH_APP);
  assert.is(claims.azpacr, '2');
  assert.is(claims.idtyp, 'app');
  assert.is(gh.count(), 1);
  assert.is(decodeClaims(gh.issued()[0]).aud, 'api://AzureADTokenExchange', 'the source asked GitHub for the token-exchange audience');
  assert.ok(gh.fake.keyFetches() >= 2, 'the provider read discovery and the JWKS from the issuer');
});

test('github-actions: a burst shares one assertion (cached for its own short life)', async () => {
  await clock.advance(2 * MINUTE);
  const before = gh.count();
  const requests = idp.tokenRequests({ clientId: GH_APP });
  const wif = github();
  await Promise.all(Array.from({ length: 12 }, () => wif.getToken(FABRIC)));
  await clock.advance(30_000);
  await wif.getToken(FABRIC);
  assert.is(idp.tokenRequests({ clientId: GH_APP }), requests + 13, 'each getToken reached the provider');
  assert.is(gh.count(), before + 1, 'one GitHub OIDC fetch for the whole burst');
});

test('github-actions: a long job gets a new assertion for each token request (fake clock past the ~5 min life)', async () => {
  const wif = github();
  await clock.advance(2 * MINUTE);
  const start = gh.count();
  for (let i = 1; i <= 5; i++) {
    await clock.advance(6 * MINUTE);
    const issued = await wif.getToken(FABRIC);
    assert.is(decodeClaims(issued.token).appid, GH_APP);
    assert.is(gh.count(), start + i, `request ${i} fetched a fresh assertion`);
  }
  const used = gh.issued().slice(start);
  assert.is(new Set(used).size, 5, 'five different assertions');
  // Reusing the first assertion of the job now fails the way Entra fails it.
  const e = await failure(() => fromEnv(GH_APP, used[0]).getToken(FABRIC));
  assert.instance(e, AuthenticationFailed);
  assert.is(e.message, 'prod: the client assertion (CI token or certificate-signed request) has expired or is not yet valid (AADSTS700024)');
  assert.match(e.hint ?? '', /fresh CI token for each request/);
  assert.equal((e as AuthenticationFailed).aadstsCodes, [700024]);
});

test('github-actions: the fake issues an already expired token → AADSTS700024 as a sentence', async () => {
  gh.issuedAgoSeconds = 600;
  try {
    await clock.advance(2 * MINUTE);
    const e = await failure(() => github().getToken(FABRIC));
    assert.match(e.message, /^prod: the client assertion \(CI token or certificate-signed request\) has expired or is not yet valid \(AADSTS700024\)$/);
  } finally {
    gh.issuedAgoSeconds = 0;
  }
});

const mismatches: { name: string; run: () => TokenSource; code: number; sentence: string; hint: RegExp }[] = [
  {
    name: 'wrong audience', run: () => github(', audience: "api://SomethingElse"'), code: 700212,
    sentence: 'no federated credential on the app matches the CI token\'s audience', hint: /api:\/\/AzureADTokenExchange/,
  },
  {
    name: 'wrong subject', run: () => { gh.subject = 'repo:org/repo:ref:refs/heads/feature'; return github(); }, code: 700213,
    sentence: 'no federated credential on the app matches the CI token\'s subject', hint: /subject match this pipeline/,
  },
  {
    name: 'another CI\'s issuer', run: () => source(`{ type: workload-identity, clientId: ${GH_APP}, assertion: azure-pipelines, serviceConnectionId: ${azp.serviceConnectionId} }`, azp.env()),
    code: 700211, sentence: 'no federated credential on the app matches the CI token\'s issuer', hint: /federated credential for this CI issuer/,
  },
  {
    name: 'an app without federated credentials', run: () => source('{ type: workload-identity, clientId: no-federation-app, assertion: github-actions }', gh.env()),
    code: 70021, sentence: 'no federated credential on the app matches the CI token (issuer, subject or audience)', hint: /repo:ORG\/REPO:environment:prod/,
  },
];

for (const c of mismatches) {
  test(`federation mismatch: ${c.name} → AADSTS${c.code} as a sentence`, async () => {
    await clock.advance(2 * MINUTE); // past the source's reuse window
    try {
      const e = await failure(() => c.run().getToken(FABRIC));
      assert.instance(e, AuthenticationFailed);
      assert.is(e.message, `prod: ${c.sentence} (AADSTS${c.code})`);
      assert.match(e.hint ?? '', c.hint);
      assert.equal((e as AuthenticationFailed).aadstsCodes, [c.code]);
      assert.is((e as AuthenticationFailed).transient, false);
    } finally {
      gh.subject = 'repo:org/repo:environment:prod';
    }
  });
}

test('a tampered assertion (claims changed after signing) → AADSTS700027', async () => {
  await clock.advance(2 * MINUTE);
  await github().getToken(FABRIC);
  const [h, p, s] = gh.issued().at(-1)!.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  const forged = [h, Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 })).toString('base64url'), s].join('.');
  const e = await failure(() => fromEnv(GH_APP, forged).getToken(FABRIC));
  assert.equal((e as AuthenticationFailed).aadstsCodes, [700027]);
  assert.not.ok(e.message.includes(forged));
});

test('github-actions: missing id-token permission and a bad request token are explained', async () => {
  await clock.advance(2 * MINUTE);
  const missing = await failure(() => source(`{ type: workload-identity, clientId: ${GH_APP}, assertion: github-actions }`, {}).getToken(FABRIC));
  assert.instance(missing, CredentialUnavailable);
  assert.match(missing.message, /GitHub Actions did not give this job an OIDC token/);
  assert.match(missing.hint ?? '', /id-token: write/);
  const env = { ...gh.env(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'ghs_wrongwrongwrongwrong' };
  const refused = await failure(() => source(`{ type: workload-identity, clientId: ${GH_APP}, assertion: github-actions }`, env).getToken(FABRIC));
  assert.instance(refused, AuthenticationFailed);
  assert.match(refused.message, /GitHub Actions's OIDC endpoint refused the request \(HTTP 401\)/);
  assert.not.ok(refused.message.includes('ghs_wrongwrongwrongwrong'));
});

test('azure-pipelines: POST ?api-version=7.1&serviceConnectionId with Bearer SYSTEM_ACCESSTOKEN, field oidcToken', async () => {
  const before = azp.requests().length;
  const wif = source(`{ type: workload-identity, clientId: ${AZP_APP}, assertion: azure-pipelines, serviceConnectionId: ${azp.serviceConnectionId} }`, azp.env());
  const claims = decodeClaims((await wif.getToken(FABRIC)).token);
  assert.is(claims.appid, AZP_APP);
  const sent = azp.requests().slice(before);
  assert.equal(sent, [{
    method: 'POST', path: new URL(azp.env().SYSTEM_OIDCREQUESTURI).pathname, apiVersion: '7.1',
    serviceConnectionId: azp.serviceConnectionId, bearerIsAccessToken: true,
  }]);
  assert.is(decodeClaims(azp.issued().at(-1)!).sub, azp.subject);
});

test('azure-pipelines: the service connection may come from AZURESUBSCRIPTION_SERVICE_CONNECTION_ID; a missing token is explained', async () => {
  await clock.advance(2 * MINUTE);
  const wif = source(`{ type: workload-identity, clientId: ${AZP_APP}, assertion: azure-pipelines }`, { ...azp.env(), AZURESUBSCRIPTION_SERVICE_CONNECTION_ID: azp.serviceConnectionId });
  assert.is(decodeClaims((await wif.getToken(FABRIC)).token).appid, AZP_APP);
  const { SYSTEM_ACCESSTOKEN: _dropped, ...noToken } = azp.env();
  const e = await failure(() => source(`{ type: workload-identity, clientId: ${AZP_APP}, assertion: azure-pipelines, serviceConnectionId: x }`, noToken).getToken(FABRIC));
  assert.instance(e, CredentialUnavailable);
  assert.match(e.hint ?? '', /SYSTEM_ACCESSTOKEN: \$\(System.AccessToken\)/);
});

test('env:VAR (GitLab id_tokens): the variable\'s token is used', async () => {
  await clock.advance(2 * MINUTE);
  await github().getToken(FABRIC); // have the GitHub fake mint a current token to put in the variable
  assert.is(decodeClaims((await fromEnv(GH_APP, gh.issued().at(-1)!).getToken(FABRIC)).token).appid, GH_APP);
  const e = await failure(() => source(`{ type: workload-identity, clientId: ${GH_APP}, assertion: "env:CI_JOB_JWT_V2" }`, {}).getToken(FABRIC));
  assert.instance(e, CredentialUnavailable);
  assert.match(e.message, /\$CI_JOB_JWT_V2 \(credential.assertion\) is not set/);
});

test('file:PATH (AZURE_FEDERATED_TOKEN_FILE): re-read when it changes; a stale file fails with 700024', async () => {
  await clock.advance(2 * MINUTE);
  await github().getToken(FABRIC);
  const path = dir.file('federated-token', gh.issued().at(-1)!);
  const wif = source(`{ type: workload-identity, clientId: ${GH_APP}, assertion: "file:${path}" }`, {});
  const v1 = wif.materialVersion();
  assert.is(decodeClaims((await wif.getToken(FABRIC)).token).appid, GH_APP);
  await clock.advance(6 * MINUTE);
  const stale = await failure(() => wif.getToken(FABRIC));
  assert.equal((stale as AuthenticationFailed).aadstsCodes, [700024]);
  // The kubelet (here: the test) rotates the file; the next request reads the new token.
  await github().getToken(FABRIC);
  writeFileSync(path, `${gh.issued().at(-1)!}\n`);
  assert.is.not(wif.materialVersion(), v1);
  assert.is(decodeClaims((await wif.getToken(FABRIC)).token).appid, GH_APP);
});

test.run();
