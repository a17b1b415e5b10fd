// Every non-interactive credential through the broker, good and bad: no secret, key, assertion or token in any log line, audit event or error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createFakeClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp } from '../../src/devidp/dev-idp.js';
import { AadbtError } from '../../src/errors.js';
import { createTokenSource } from '../../src/identity/create-token-source.js';
import type { TokenSource } from '../../src/identity/token-source.js';
import { createLogger } from '../../src/log.js';
import { createTokenBroker } from '../../src/tokens/token-broker.js';
import { makeCertificate, pfxOf } from '../support/fake-certificate.js';
import { startFakeAzurePipelines } from '../support/fake-azure-pipelines.js';
import { startFakeGitHubActions } from '../support/fake-github-actions.js';
import { startFakeManagedIdentity } from '../support/fake-managed-identity.js';
import { FABRIC, tempDir } from '../support/harness.js';

const PFX_PASSWORD = 'leak-check-Pfx-Passw0rd-91ab';

test('no secret, private key, assertion or token in logs, audit events or errors, across every credential type', async () => {
  const clock = createFakeClock(Date.now());
  const idp = await createDevIdp({ clock });
  const [gh, azp] = await Promise.all([startFakeGitHubActions({ clock }), startFakeAzurePipelines({ clock })]);
  const dir = tempDir();
  const closeLater: (() => Promise<void>)[] = [];
  try {
    const [cert, wrong] = await Promise.all([makeCertificate(), makeCertificate()]);
    idp.registerCertificate('leak-cert', cert.certPem);
    idp.addFederatedCredential({ clientId: 'leak-gh', issuer: gh.issuer, subject: gh.subject });
    idp.addFederatedCredential({ clientId: 'leak-azp', issuer: azp.issuer, subject: azp.subject });
    idp.registerClient({ clientId: 'leak-mi' });
    const clientSecret = idp.registerClient({ clientId: 'leak-secret' });
    const mi = await startFakeManagedIdentity({ idp, systemAssigned: 'leak-mi' });
    closeLater.push(() => mi.close());
    const pfx = pfxOf(cert, PFX_PASSWORD);
    const files = {
      ca: dir.file('ca.pem', idp.caPem, 0o644),
      cert: dir.file('cert.pem', cert.combinedPem),
      wrong: dir.file('wrong.pem', wrong.combinedPem),
      encrypted: dir.file('encrypted.pem', `${createPrivateKey(cert.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PFX_PASSWORD })}\n${cert.certPem}`),
      pfx: dir.path + '/cert.pfx',
      secret: dir.file('app.secret', clientSecret),
    };
    if (pfx) writeFileSync(files.pfx, pfx, { mode: 0o600 });
    else console.log('PFX case skipped: the openssl CLI (Debian package openssl) is not installed');

    const credentials: Record<string, string> = {
      'gh-ok': '{ type: workload-identity, clientId: leak-gh, assertion: github-actions }',
      'gh-wrong-audience': '{ type: workload-identity, clientId: leak-gh, assertion: github-actions, audience: "api://Other" }',
      'azp-ok': `{ type: workload-identity, clientId: leak-azp, assertion: azure-pipelines, serviceConnectionId: ${azp.serviceConnectionId} }`,
      'azp-wrong-app': `{ type: workload-identity, clientId: leak-gh, assertion: azure-pipelines, serviceConnectionId: ${azp.serviceConnectionId} }`,
      'cert-ok': `{ type: client-certificate, clientId: leak-cert, certificateFile: ${files.cert} }`,
      'cert-wrong': `{ type: client-certificate, clientId: leak-cert, certificateFile: ${files.wrong} }`,
      'cert-encrypted-bad-password': `{ type: client-certificate, clientId: leak-cert, certificateFile: ${files.encrypted}, passwordEnv: WRONG }`,
      ...(pfx ? {
        'pfx-ok': `{ type: client-certificate, clientId: leak-cert, certificateFile: ${files.pfx}, passwordEnv: PFX_PASSWORD }`,
        'pfx-bad-password': `{ type: client-certificate, clientId: leak-cert, certificateFile: ${files.pfx}, passwordEnv: WRONG }`,
      } : {}),
      'mi-ok': '{ type: managed-identity }',
      'mi-unknown': '{ type: managed-identity, clientId: 9d7c1b2a-0000-4000-8000-000000000001 }',
      'secret-ok': `{ type: client-secret, clientId: leak-secret, secretFile: ${files.secret} }`,
      'secret-env-wrong': '{ type: client-secret, clientId: leak-secret, secretEnv: WRONG }',
    };
    const yaml = ['environments:', ...Object.entries(credentials).map(([name, credential]) => [
      `  ${name}:`, `    tenant: ${idp.tenantId}`, `    authorityHost: ${idp.url}`, `    authorityCaFile: ${files.ca}`,
      `    credential: ${credential}`, `    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }`,
    ].join('\n'))].join('\n');
    const config = parseConfig(yaml, 'leak.yaml');
    const env = { ...gh.env(), ...azp.env(), ...mi.appServiceEnv(), PFX_PASSWORD, WRONG: `${PFX_PASSWORD}-nope-${clientSecret}` };
    const sources = new Map<string, TokenSource>();
    const logs: string[] = [];
    const audit: string[] = [];
    const broker = createTokenBroker({
      clock, random: () => 0.5,
      log: createLogger({ write: (l) => logs.push(l), level: 'debug' }),
      audit: async (event) => { audit.push(JSON.stringify(event)); },
      policy: (name) => {
        if (!sources.has(name)) sources.set(name, createTokenSource(config.environments[name], { env, clock }));
        return { source: sources.get(name)!, refreshAheadMs: 15 * 60_000 };
      },
    });

    const errors: string[] = [];
    const outcomes: Record<string, 'ok' | 'error'> = {};
    // No time passes: MSAL signs certificate assertions with the wall clock, which the provider's clock must match.
    for (const name of Object.keys(credentials)) {
      try {
        await broker.get({ env: name, scope: FABRIC });
        outcomes[name] = 'ok';
      } catch (err) {
        outcomes[name] = 'error';
        assert.instance(err, AadbtError, `${name}: ${String(err)}`);
        const e = err as AadbtError;
        if (name.endsWith('-ok')) console.log(`${name} failed: ${e.message}`);
        errors.push(`${e.message}\n${e.hint ?? ''}\n${JSON.stringify(e)}\n${e.stack ?? ''}`);
      }
    }
    broker.close();
    for (const [name, outcome] of Object.entries(outcomes)) assert.is(outcome, name.endsWith('-ok') ? 'ok' : 'error', name);

    const secrets: [string, string][] = [
      ['client secret', clientSecret],
      ['PFX / key password', PFX_PASSWORD],
      ['GitHub request token', gh.requestToken],
      ['Azure Pipelines access token', azp.accessToken],
      ['App Service identity header', mi.identityHeader],
      ...[cert, wrong].flatMap((c, i) => c.keyPem.split('\n').filter((l) => l.length === 64).map((l): [string, string] => [`private key ${i} line`, l])),
      ...gh.issued().map((t): [string, string] => ['GitHub assertion', t]),
      ...azp.issued().map((t): [string, string] => ['Azure Pipelines assertion', t]),
      ...idp.issuedTokens().map((t): [string, string] => ['access token', t]),
      // Each JWT's signature alone is enough to recognise a leaked (even truncated-at-the-front) token.
      ...[...gh.issued(), ...idp.issuedTokens()].map((t): [string, string] => ['JWT signature', t.split('.')[2]]),
    ];
    assert.ok(idp.issuedTokens().length >= 4 && gh.issued().length >= 2 && azp.issued().length >= 2, 'the run produced tokens and assertions to look for');
    assert.ok(logs.length > 0 && audit.length > 0 && errors.length >= 6, 'the run produced logs, audit events and errors');
    for (const [where, lines] of [['log', logs], ['audit event', audit], ['error', errors]] as const) {
      for (const line of lines) {
        for (const [what, value] of secrets) assert.not.ok(line.includes(value), `a ${where} holds the ${what}: ${line.slice(0, 200)}`);
        assert.not.match(line, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, `a ${where} holds something JWT-shaped`);
        assert.not.match(line, /-----BEGIN [A-Z ]*PRIVATE KEY/, `a ${where} holds a PEM key`);
      }
    }
  } finally {
    await Promise.all([idp.close(), gh.close(), azp.close(), ...closeLater.map((c) => c())]);
    dir.remove();
  }
});

test.run();
