// The access gate at unit level: groups claim, overage through the dev provider's fake Graph, the membership cache on a fake clock, and the automation guard.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAccessGate, type AccessGate } from '../../src/access/access-gate.js';
import { createGraphMembership, GRAPH_SCOPE } from '../../src/access/graph-membership.js';
import { createFakeClock, type FakeClock } from '../../src/clock.js';
import type { EnvironmentConfig } from '../../src/config/config-schema.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { JWT_GROUPS_LIMIT } from '../../src/devidp/token-claims.js';
import { AccessDenied, EXIT } from '../../src/errors.js';
import { decodeClaims, fingerprintOf, principalOf, tokenClaimsOf, type CachedToken } from '../../src/tokens/token-cache.js';
import { FABRIC } from '../support/harness.js';

const TEAM = '5a1e0000-0000-4000-8000-0000000000aa';
const OTHER = '5a1e0000-0000-4000-8000-0000000000bb';

let clock: FakeClock;
let idp: DevIdp;

test.before(async () => {
  clock = createFakeClock(Date.now());
  idp = await createDevIdp({ clock });
});
test.after(async () => { await idp?.close(); });

/** One environment from real config text, so defaults (cacheFor 5m) come from the schema. */
function environment(name: string, extra: string): EnvironmentConfig {
  const yaml = `environments:\n  ${name}:\n    tenant: ${idp.tenantId}\n    credential: { type: client-secret, clientId: x, secretEnv: S }\n    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }\n${extra}\n`;
  return parseConfig(yaml, 'test.yaml').environments[name];
}

function cached(env: string, token: string): CachedToken {
  const claims = decodeClaims(token);
  return {
    env, scope: FABRIC, token, obtainedAt: clock.now(), expiresOn: clock.now() + 3_600_000,
    fingerprint: fingerprintOf(token), principal: principalOf(claims), claims: tokenClaimsOf(claims),
  };
}

async function tokenOf(clientId: string, env = 'team'): Promise<CachedToken> {
  return cached(env, (await idp.mintToken(clientId, FABRIC)).accessToken);
}

/** A gate whose Graph check goes to the dev provider's fake Graph with a Graph token of the same client. */
function gateFor(clientId: string): AccessGate {
  return createAccessGate({
    checkMemberGroups: createGraphMembership({
      clock,
      endpoint: () => ({ url: `${idp.url}/graph`, ca: idp.caPem }),
      graphToken: async () => (await idp.mintToken(clientId, GRAPH_SCOPE)).accessToken,
    }),
  });
}

async function denial(p: Promise<unknown>): Promise<AccessDenied> {
  try {
    await p;
    assert.unreachable('expected AccessDenied');
  } catch (err) {
    assert.instance(err, AccessDenied);
    return err as AccessDenied;
  }
  throw new Error('unreachable');
}

test('groups claim: a member is served, a non-member is refused with 403 / exit 3 naming the environment and the groups', async () => {
  idp.registerClient({ clientId: 'claim-member', groups: [OTHER, TEAM] });
  idp.registerClient({ clientId: 'claim-outsider', groups: [OTHER] });
  const env = environment('team', `    access: { groups: [${TEAM}] }`);
  const before = idp.graphRequests();
  await gateFor('claim-member').check(env, await tokenOf('claim-member'));
  const err = await denial(gateFor('claim-outsider').check(env, await tokenOf('claim-outsider')));
  assert.is(err.status, 403);
  assert.is(err.exitCode, EXIT.denied);
  assert.match(err.message, /environment 'team'/);
  assert.ok(err.message.includes(TEAM), err.message);
  assert.match(err.hint ?? '', /add you/);
  assert.is(idp.graphRequests(), before, 'the claim decides; Graph is not asked');
});

test(`overage (more than ${JWT_GROUPS_LIMIT} groups): the token has no groups claim and Graph checkMemberGroups decides`, async () => {
  const many = Array.from({ length: JWT_GROUPS_LIMIT + 1 }, (_, i) => `9000${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`);
  idp.registerClient({ clientId: 'over-member', groups: [...many, TEAM] });
  idp.registerClient({ clientId: 'over-outsider', groups: many });
  const member = await tokenOf('over-member');
  assert.is(member.claims.hasGroupOverage, true);
  assert.is(member.claims.groups, undefined);
  const claims = decodeClaims(member.token) as { _claim_names?: { groups?: string }; hasgroups?: boolean };
  assert.is(claims._claim_names?.groups, 'src1');
  assert.is(claims.hasgroups, true);

  const env = environment('team', `    access: { groups: [${TEAM}] }`);
  const before = idp.graphRequests();
  await gateFor('over-member').check(env, member);
  assert.is(idp.graphRequests(), before + 1);
  const err = await denial(gateFor('over-outsider').check(env, await tokenOf('over-outsider')));
  assert.ok(err.message.includes(TEAM));
  assert.is(idp.graphRequests(), before + 2);
});

test('a removal at Graph takes effect when the membership cache lapses: 5 minutes by default, access.cacheFor when set', async () => {
  const cases = [
    { name: 'default', extra: `    access: { groups: [${TEAM}] }`, window: 5 * 60_000 },
    { name: 'configured', extra: `    access: { groups: [${TEAM}], cacheFor: 30s }`, window: 30_000 },
  ];
  for (const c of cases) {
    const clientId = `removed-${c.name}`;
    idp.registerClient({ clientId, groups: [TEAM], groupOverage: true });
    const env = environment('team', c.extra);
    const gate = gateFor(clientId);
    const token = await tokenOf(clientId);
    await gate.check(env, token);
    const asked = idp.graphRequests();
    idp.setGroups(clientId, [OTHER]);
    await clock.advance(c.window - 1000);
    await gate.check(env, token); // still inside the window: the cached answer
    assert.is(idp.graphRequests(), asked, `${c.name}: answered from the cache`);
    await clock.advance(1000);
    const err = await denial(gate.check(env, token));
    assert.ok(err.message.includes(TEAM), `${c.name}: ${err.message}`);
    assert.is(idp.graphRequests(), asked + 1, `${c.name}: asked Graph again`);
  }
});

test('overage without a way to ask Graph, and Graph refusing the token: denied with a fix, never served', async () => {
  idp.registerClient({ clientId: 'no-graph', groups: [TEAM], groupOverage: true });
  const env = environment('team', `    access: { groups: [${TEAM}] }`);
  const token = await tokenOf('no-graph');
  const blind = await denial(createAccessGate().check(env, token));
  assert.match(blind.message, /cannot tell whether/);
  assert.match(blind.hint ?? '', /GroupMember\.Read\.All/);

  const wrongAudience = createAccessGate({
    checkMemberGroups: createGraphMembership({
      clock, endpoint: () => ({ url: `${idp.url}/graph`, ca: idp.caPem }),
      graphToken: async () => (await idp.mintToken('no-graph', FABRIC)).accessToken, // a database token is not a Graph token
    }),
  });
  const refused = await denial(wrongAudience.check(env, token));
  assert.match(refused.message, /Graph refused the group membership check \(HTTP 401\)/);
  assert.not.match(refused.message + (refused.hint ?? ''), /eyJ/);
});

test('automation guard: a user token, or one with scp and no roles, is refused for automation: true; apps pass', async () => {
  idp.registerClient({ clientId: 'ada', idtyp: 'user', upn: 'ada@dev.aadbt.local' });
  idp.registerClient({ clientId: 'robot', roles: ['Data.Read'] });
  const automation = environment('prod', '    automation: true');
  const people = environment('dev', '');
  const user = await tokenOf('ada', 'prod');
  const app = await tokenOf('robot', 'prod');
  // v1-style delegated token: no idtyp claim, scp present, no roles.
  const delegated: CachedToken = { ...app, principal: { ...app.principal, idtyp: 'app' }, claims: { hasGroupOverage: false, scp: 'user_impersonation' } };
  const gate = createAccessGate();
  const rows: [string, CachedToken, boolean][] = [
    ['user token', user, false],
    ['scp without roles', delegated, false],
    ['app token', app, true],
  ];
  for (const [what, token, allowed] of rows) {
    if (allowed) await gate.check(automation, token);
    else {
      const err = await denial(gate.check(automation, token));
      assert.match(err.message, /environment 'prod' is for automation/, what);
      assert.match(err.hint ?? '', /workload identity/, what);
    }
    await gate.check(people, token); // a non-automation environment takes both
  }
});

test.run();
