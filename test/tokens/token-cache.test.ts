// Token arithmetic: usability with skew and min-TTL, refresh planning, backoff, claims.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  backoffMs, decodeClaims, fingerprintOf, isUsable, plannedRefreshAt, principalOf, tokenClaimsOf, type CachedToken,
} from '../../src/tokens/token-cache.js';

const HOUR = 3_600_000;
const token = (lifetimeMs: number, extra: Partial<CachedToken> = {}): CachedToken => ({
  env: 'dev', scope: 's', token: 't', obtainedAt: 0, expiresOn: lifetimeMs, fingerprint: 'f', principal: {},
  claims: { hasGroupOverage: false }, ...extra,
});

const usable: [string, number, number, number, boolean][] = [
  ['fresh', HOUR, 0, 0, true],
  ['inside the 60 s skew margin', HOUR, HOUR - 59_000, 0, false],
  ['min-TTL met', HOUR, 10 * 60_000, 45 * 60_000, true],
  ['min-TTL missed', HOUR, 20 * 60_000, 45 * 60_000, false],
  ['expired', HOUR, HOUR + 1, 0, false],
  ['5-second token, half-second margin', 5000, 4400, 0, true],
];
for (const [name, life, now, minTtl, expected] of usable) {
  test(`isUsable: ${name}`, () => assert.is(isUsable(token(life), now, minTtl), expected));
}

test('plannedRefreshAt: expiry minus ahead, jittered by at most a tenth of the window', () => {
  assert.is(plannedRefreshAt(token(HOUR), 15 * 60_000, 0), 45 * 60_000);
  assert.is(plannedRefreshAt(token(HOUR), 15 * 60_000, 0.999), 45 * 60_000 - 0.999 * 60_000);
});

test('plannedRefreshAt: ahead is capped at half the lifetime, and refresh_in wins when later', () => {
  assert.is(plannedRefreshAt(token(10_000), 15 * 60_000, 0), 5_000);
  assert.is(plannedRefreshAt(token(2 * HOUR, { refreshAfter: 1.9 * HOUR }), 15 * 60_000, 0), 1.9 * HOUR);
});

test('backoffMs: full jitter under a doubling ceiling capped at 5 minutes', () => {
  assert.equal([1, 2, 3, 4, 9, 10, 30].map((n) => backoffMs(n, 1)), [2000, 4000, 8000, 16000, 300000, 300000, 300000]);
  assert.is(backoffMs(3, 0.5), 4000);
  assert.ok(backoffMs(1, 0) >= 1);
});

test('claims: principal, groups and overage from a JWT payload', () => {
  const payload = { oid: 'o1', appid: 'a1', tid: 't1', idtyp: 'app', groups: ['g1'], roles: ['r'], _claim_names: undefined };
  const jwt = `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
  const claims = decodeClaims(jwt);
  assert.equal(principalOf(claims), { oid: 'o1', appid: 'a1', upn: undefined, idtyp: 'app', tid: 't1' });
  assert.equal(tokenClaimsOf(claims).groups, ['g1']);
  assert.is(tokenClaimsOf({ _claim_names: { groups: 'src1' } }).hasGroupOverage, true);
  assert.is(principalOf({ oid: 'u', scp: 'user_impersonation' }).idtyp, 'user');
  assert.equal(decodeClaims('opaque-token'), {});
});

test('fingerprintOf: 16 hex, stable, never the token', () => {
  assert.match(fingerprintOf('abc'), /^[0-9a-f]{16}$/);
  assert.is(fingerprintOf('abc'), fingerprintOf('abc'));
  assert.is.not(fingerprintOf('abc'), fingerprintOf('abd'));
});

test.run();
