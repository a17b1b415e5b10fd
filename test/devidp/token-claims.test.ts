// Audience derivation and claim shapes of dev access tokens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stableGuid } from '../../src/devidp/client-registry.js';
import { accessTokenClaims, audienceOfScope } from '../../src/devidp/token-claims.js';

const audiences: [scope: string, aud: string][] = [
  ['https://database.windows.net/.default', 'https://database.windows.net/'],
  ['https://database.windows.net//.default', 'https://database.windows.net/'],
  ['https://storage.azure.com/.default', 'https://storage.azure.com/'],
  ['https://contoso.example/api/.default', 'https://contoso.example/api'],
  ['2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default', '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d'],
  ['api://my-app/.default', 'api://my-app'],
];
for (const [scope, aud] of audiences) {
  test(`aud of ${scope} is ${aud}`, () => assert.is(audienceOfScope(scope), aud));
}

test('stableGuid is a deterministic RFC 4122 GUID', () => {
  const a = stableGuid('t', 'c');
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is(stableGuid('t', 'c'), a);
  assert.is.not(stableGuid('t', 'd'), a);
});

test('claims: times from the input clock, app roles, no user claims', () => {
  const claims = accessTokenClaims({
    client: { clientId: 'c1', idtyp: 'app', oid: 'o-1', upn: undefined, groups: ['g'], groupOverage: false, roles: ['R'] },
    scope: 'https://database.windows.net/.default', issuer: 'https://127.0.0.1:1/t/v2.0', tenantId: 't',
    now: 1_700_000_000_999, lifetimeSeconds: 90, authMethod: 'secret',
  });
  const { uti, ...rest } = claims;
  assert.type(uti, 'string');
  assert.equal(rest, {
    aud: 'https://database.windows.net/', iss: 'https://127.0.0.1:1/t/v2.0', iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_000_090,
    tid: 't', oid: 'o-1', sub: 'o-1', appid: 'c1', azp: 'c1', azpacr: '1', idtyp: 'app', ver: '2.0', groups: ['g'], roles: ['R'],
  });
});

test.run();
