// The broker on a fake clock against the real dev provider: single-flight, refresh-ahead, backoff, min-TTL, rotation.

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AadbtError } from '../../src/errors.js';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS } from '../../src/tokens/token-cache.js';
import { createRig, rotateSecret, SCOPE } from './broker-rig.js';

const MIN = 60_000;
const get = (rig: Awaited<ReturnType<typeof createRig>>, minTtlMs?: number) => rig.broker.get({ env: 'dev', scope: SCOPE, minTtlMs });

async function rejection(p: Promise<unknown>): Promise<AadbtError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AadbtError) return err;
    throw err;
  }
  assert.unreachable('should have been refused');
  throw new Error('unreachable');
}

test('1,000 concurrent cold requests make exactly one provider call and share its token', async () => {
  const rig = await createRig();
  try {
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => get(rig)));
    assert.is(rig.calls(), 1);
    assert.is(new Set(tokens.map((t) => t.token)).size, 1);
  } finally {
    await rig.close();
  }
});

test('under continuous requests the provider sees one call per lifetime, and nobody waits after warm-up', async () => {
  const rig = await createRig({ lifetimeSeconds: 3600 });
  try {
    await get(rig);
    rig.served.upstream = 0;
    const seen = new Set<string>();
    for (let t = 0; t < 3 * 60; t++) { // three hours, a request a minute
      const token = await get(rig);
      assert.ok(token.expiresOn > rig.clock.now(), 'never an expired token');
      seen.add(token.token);
      await rig.advance(MIN);
    }
    assert.is(rig.served.upstream, 0, 'no request waited on the provider');
    // A refresh every 44 minutes: 60m lifetime − 15m ahead − 1m jitter (pinned at its maximum).
    const refreshes = Math.floor(180 / 44);
    assert.is(rig.calls(), 1 + refreshes, 'warm-up plus one refresh per refresh period');
    assert.is(seen.size, 1 + refreshes);
  } finally {
    await rig.close();
  }
});

test('a provider outage past the refresh window: cached token served to expiry, backoff schedule, fail fast, recovery', async () => {
  const rig = await createRig({ lifetimeSeconds: 3600 });
  try {
    const first = await get(rig);
    rig.idp.injectFault({ kind: 'status', status: 503 });
    await rig.advance(45 * MIN); // refresh-ahead point (ahead 15m, jitter pinned)
    const outageStart = rig.clock.now();
    // Clients keep getting the cached token while it is valid.
    const lastUsable = first.expiresOn - 61_000; // the skew margin is 60 s
    while (rig.clock.now() < lastUsable) {
      assert.is((await get(rig)).token, first.token);
      await rig.advance(Math.min(10_000, lastUsable - rig.clock.now()));
    }
    // The schedule: an attempt at the refresh point, then full-jitter backoff (random pinned to 1).
    let expected = 0;
    for (let at = 0, n = 0; outageStart + at <= rig.clock.now(); n++) {
      expected++;
      at += Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n);
    }
    assert.is(rig.calls() - 1, expected, 'provider calls follow the backoff schedule');
    assert.ok(rig.broker.status()[0].state === 'degraded' || rig.broker.status()[0].state === 'refreshing');
    // Past expiry: fail fast with the last error, without calling the provider.
    await rig.advance(2 * MIN);
    const before = rig.calls();
    const errors = await Promise.all(Array.from({ length: 50 }, () => rejection(get(rig))));
    assert.is(rig.calls(), before, 'requests did not hammer the provider');
    assert.is(errors[0].code, 'AUTH_UNAVAILABLE');
    assert.match(errors[0].message, /HTTP 503/);
    assert.is(rig.broker.status()[0].state, 'failed');
    // The provider comes back: the next scheduled retry recovers.
    rig.idp.clearFaults();
    await rig.advance(BACKOFF_CAP_MS);
    const recovered = await get(rig);
    assert.is.not(recovered.token, first.token);
    assert.is(rig.broker.status()[0].state, 'fresh');
    assert.ok(rig.logs.some((l) => l.includes('token request failed')), 'failures are logged');
    assert.ok(rig.audit.list({ action: 'error' }).length >= expected, 'failures are audited');
  } finally {
    await rig.close();
  }
});

test('429 with Retry-After: 120 → no provider call before 120 s of fake time', async () => {
  const rig = await createRig();
  try {
    rig.idp.injectFault({ kind: 'throttle', retryAfterSeconds: 120, count: 1 });
    const err = await rejection(get(rig));
    assert.match(err.message, /429/);
    assert.is(rig.calls(), 1);
    for (let s = 0; s < 119; s += 7) {
      await rig.advance(7_000);
      await rejection(get(rig));
      assert.is(rig.calls(), 1, `no call at ${s + 7}s`);
    }
    await rig.advance(120_000 - 119_000 + 1_000);
    assert.is(rig.calls(), 2, 'the retry comes at 120 s');
    assert.ok((await get(rig)).token);
  } finally {
    await rig.close();
  }
});

test('a permanent error (bad secret) is not retried in a loop, and says what to fix', async () => {
  const rig = await createRig();
  try {
    const secret = readFileSync(rig.secretFile, 'utf8');
    rig.idp.revokeSecret('rig-app', secret);
    const err = await rejection(get(rig));
    assert.is(err.code, 'AUTH_FAILED');
    assert.match(err.message, /client secret is wrong \(AADSTS7000215\)/);
    assert.match(err.hint ?? '', /secret value/);
    assert.not.ok(err.message.includes(secret));
    await rig.advance(30 * MIN); // no demand: no retry loop
    assert.is(rig.calls(), 1);
    await rejection(get(rig));
    await rejection(get(rig));
    assert.is(rig.calls(), 2, 'one new attempt after the hold, then fail fast again');
  } finally {
    await rig.close();
  }
});

test('min-TTL: 20 minutes left and 45 asked → a refresh; 30-minute tokens → a clear refusal', async () => {
  const rig = await createRig({ lifetimeSeconds: 3600, ahead: '5m' });
  try {
    const first = await get(rig);
    await rig.advance(40 * MIN);
    const fresh = await get(rig, 45 * MIN);
    assert.is.not(fresh.token, first.token);
    assert.is(rig.calls(), 2);
    rig.idp.setTokenLifetime(1800);
    await rig.advance(20 * MIN);
    const err = await rejection(get(rig, 45 * MIN));
    assert.is(err.code, 'TOKEN_TOO_SHORT');
    assert.match(err.message, /issues tokens that live 30m, and this request needs at least 45m/, err.message);
  } finally {
    await rig.close();
  }
});

test('a rotated secret file takes effect at the next refresh, without a restart', async () => {
  const rig = await createRig({ lifetimeSeconds: 3600 });
  try {
    await get(rig);
    rotateSecret(rig, readFileSync(rig.secretFile, 'utf8'));
    await rig.advance(50 * MIN);
    const after = await get(rig);
    assert.is(rig.calls(), 2);
    assert.ok(after.expiresOn > rig.clock.now() + 40 * MIN, 'a new token from the new secret');
    assert.is(rig.audit.list({ action: 'credential-reloaded' }).length, 1);
    assert.is(rig.audit.list({ action: 'error' }).length, 0);
  } finally {
    await rig.close();
  }
});

test.run();
