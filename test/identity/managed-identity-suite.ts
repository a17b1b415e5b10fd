// Shared cases for managed identity: one protocol per test process, because MSAL picks the endpoint once per process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFakeClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { AadbtError } from '../../src/errors.js';
import { createTokenSource } from '../../src/identity/create-token-source.js';
import { decodeClaims } from '../../src/tokens/token-cache.js';
import { startFakeManagedIdentity, type FakeManagedIdentity } from '../support/fake-managed-identity.js';
import { FABRIC, DATABRICKS } from '../support/harness.js';

const SYSTEM = 'mi-system-vm';
const USER_ASSIGNED = '3f9e0c2a-5b7d-4e21-9a0b-6c1d2e3f4a5b';
const BY_RESOURCE = 'mi-by-resource-id';
const RESOURCE_ID = '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/dbt-runner';

/** Registers the managed-identity tests against the fake speaking `protocol`, then runs them. */
export function managedIdentitySuite(protocol: 'imds' | 'app-service'): void {
  let idp: DevIdp;
  let fake: FakeManagedIdentity;

  test.before(async () => {
    idp = await createDevIdp({ clock: createFakeClock(Date.now()) });
    for (const clientId of [SYSTEM, USER_ASSIGNED, BY_RESOURCE]) idp.registerClient({ clientId });
    fake = await startFakeManagedIdentity({ idp, systemAssigned: SYSTEM, userAssigned: { [USER_ASSIGNED]: USER_ASSIGNED }, byResourceId: { [RESOURCE_ID]: BY_RESOURCE } });
  });
  test.after(async () => {
    await Promise.all([idp.close(), fake.close()]);
  });

  // The endpoint comes only from the environment handed to createTokenSource, never from the test's own process.env.
  const env = () => ({ PATH: process.env.PATH, ...(protocol === 'imds' ? fake.imdsEnv() : fake.appServiceEnv()) });
  const source = (credential: string) => createTokenSource(parseConfig(`
environments:
  runner:
    automation: true
    credential: ${credential}
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }
`, 'mi.yaml').environments.runner, { env: env() });

  const cases: { name: string; credential: string; scope: string; identity: string }[] = [
    { name: 'system-assigned', credential: '{ type: managed-identity }', scope: FABRIC, identity: SYSTEM },
    { name: 'user-assigned by clientId', credential: `{ type: managed-identity, clientId: ${USER_ASSIGNED} }`, scope: FABRIC, identity: USER_ASSIGNED },
    { name: 'user-assigned by resourceId', credential: `{ type: managed-identity, resourceId: "${RESOURCE_ID}" }`, scope: DATABRICKS, identity: BY_RESOURCE },
  ];

  for (const c of cases) {
    test(`managed identity over ${protocol}: ${c.name}`, async () => {
      const before = fake.requests().length;
      const issued = await source(c.credential).getToken(c.scope);
      const claims = decodeClaims(issued.token);
      assert.is(claims.appid, c.identity);
      assert.is(claims.aud, c.scope.replace(/\/\.default$/, '').replace(/^https:\/\/database.windows.net$/, 'https://database.windows.net/'));
      assert.ok(issued.lifetimeMs > 50 * 60_000 && issued.lifetimeMs <= 3600_000, `lifetime ${issued.lifetimeMs}`);
      assert.equal(fake.requests().slice(before), [{ protocol, identity: c.identity, resource: c.scope.replace(/\/\.default$/, '') }]);
      assert.ok(idp.issuedTokens().includes(issued.token), 'the token came from the dev provider through the fake');
    });
  }

  test(`managed identity over ${protocol}: an identity the endpoint does not have is explained without secrets`, async () => {
    try {
      await source('{ type: managed-identity, clientId: 00000000-1111-2222-3333-444444444444 }').getToken(FABRIC);
      assert.unreachable('expected a failure');
    } catch (err) {
      assert.instance(err, AadbtError);
      const e = err as AadbtError;
      assert.match(e.message, /^runner: /);
      assert.is(e.message, 'runner: the managed-identity endpoint refused the request: Identity not found');
      assert.match(e.hint ?? '', /00000000-1111-2222-3333-444444444444 \(credential.clientId \/ resourceId\) is assigned to this machine/);
      assert.ok(e.hint, 'a hint');
      const text = `${e.message} ${e.hint} ${JSON.stringify(e)}`;
      for (const t of [...idp.issuedTokens(), fake.identityHeader]) assert.not.ok(text.includes(t), 'no token or identity header in the error');
    }
  });

  test.run();
}
