// The audit store: group commit, the hash chain against tampering, pruning with an anchor, migrations, refusals.
// Tampering goes through Python's own sqlite3, an independent writer, as an attacker with file access would.

import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEvent } from '../../src/audit/audit-event.js';
import { createAuditStore, type AuditStoreOptions } from '../../src/audit/audit-store.js';
import { createFakeClock } from '../../src/clock.js';
import { AadbtError } from '../../src/errors.js';
import { tempDir } from '../support/harness.js';
import { jwtShaped } from '../support/jwt-shaped.js';

const DAY = 86_400_000;

/** Runs SQL with Python's sqlite3 on the closed database; returns rows as JSON. */
function sql(path: string, statements: string): unknown[] {
  const script = `import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = []
for s in sys.argv[2].split(';;'):
    rows = db.execute(s).fetchall()
db.commit()
print(json.dumps(rows))`;
  return JSON.parse(execFileSync('python3', ['-c', script, path, statements], { encoding: 'utf8' }));
}

const event = (i: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  env: i % 2 ? 'prod' : 'dev', scope: 'https://database.windows.net/.default', action: 'serve', outcome: 'ok',
  principal: { oid: `oid-${i % 3}`, appid: `app-${i % 3}`, tid: 'tenant' }, fingerprint: i.toString(16).padStart(16, '0'),
  expiresOn: Date.parse('2026-06-01T00:00:00Z'), caller: { pid: 100 + i, program: 'dbt', ci: { GITHUB_RUN_ID: '42' } }, ...extra,
});

async function withStore<T>(use: (store: ReturnType<typeof createAuditStore>, path: string, clock: ReturnType<typeof createFakeClock>) => Promise<T>, options: Partial<AuditStoreOptions> = {}): Promise<T> {
  const dir = tempDir();
  const path = join(dir.path, 'data', 'audit.db');
  const clock = createFakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = createAuditStore({ path, clock, ...options });
  try {
    return await use(store, path, clock);
  } finally {
    await store.close();
    dir.remove();
  }
}

test('concurrent records share one transaction; sequential ones commit one by one', () => withStore(async (store) => {
  const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => store.record(event(i))));
  assert.equal(rows.map((r) => r.id), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.is(store.stats().commits, 1, 'one group commit for 50 concurrent rows');
  for (let i = 0; i < 3; i++) await store.record(event(i));
  assert.is(store.stats().commits, 4);
  assert.equal(store.verify(), { ok: true, rows: 53 });
}));

test('a full batch commits at once, before the loop turn ends', () => withStore(async (store) => {
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.record(event(i))));
  assert.is(store.stats().commits, 3, '4 + 4 + 2');
}, { maxBatch: 4 }));

test('a commit that fails rejects every record in it with the fix, and the log goes on once the cause is gone', () => withStore(async (store, path) => {
  await store.record(event(0));
  sql(path, `CREATE TRIGGER refuse BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
  const failed = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => store.record(event(i + 1))));
  for (const result of failed) {
    assert.is(result.status, 'rejected');
    const err = (result as PromiseRejectedResult).reason as AadbtError;
    assert.is(err.code, 'AUDIT_WRITE_FAILED');
    assert.match(err.message, /disk says no/);
    assert.match(err.hint ?? '', /no token is served unaudited/);
  }
  sql(path, 'DROP TRIGGER refuse');
  assert.is((await store.record(event(4))).id, 2, 'nothing half-written');
  assert.equal(store.verify(), { ok: true, rows: 2 });
}));

test('list filters by env, action, principal and time, newest first', () => withStore(async (store, _path, clock) => {
  for (let i = 0; i < 12; i++) {
    await store.record(event(i, i === 11 ? { action: 'deny', outcome: 'denied' } : {}));
    await clock.advance(60_000);
  }
  const start = Date.parse('2026-01-01T00:00:00Z');
  const cases: [string, Parameters<typeof store.list>[0], number[]][] = [
    ['all, newest first', {}, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]],
    ['env', { env: 'dev' }, [11, 9, 7, 5, 3, 1]],
    ['action', { action: 'deny' }, [12]],
    ['principal by oid', { principal: 'oid-1' }, [11, 8, 5, 2]],
    ['principal by app', { principal: 'app-2' }, [12, 9, 6, 3]],
    ['since and until', { since: start + 3 * 60_000, until: start + 6 * 60_000 }, [6, 5, 4]],
    ['limit', { limit: 2 }, [12, 11]],
  ];
  for (const [name, filter, ids] of cases) assert.equal(store.list(filter).map((r) => r.id), ids, name);
  const row = store.get(3)!;
  assert.is(row.principal_oid, 'oid-2');
  assert.is(row.expires_on, Date.parse('2026-06-01T00:00:00Z') / 1000, 'expires_on in epoch seconds');
  assert.equal(JSON.parse(row.caller!).ci, { GITHUB_RUN_ID: '42' });
}));

const tampering: [string, string, number, RegExp][] = [
  ['an edited row', `UPDATE audit_events SET env = 'staging' WHERE id = 5`, 5, /edited/],
  ['an edited principal', `UPDATE audit_events SET principal_upn = 'someone@else' WHERE id = 9`, 9, /edited/],
  ['a deleted row', `DELETE FROM audit_events WHERE id = 5`, 6, /deleted: rows 5–5 are missing/],
  ['two swapped rows', `UPDATE audit_events SET id = -1 WHERE id = 4;;UPDATE audit_events SET id = 4 WHERE id = 5;;UPDATE audit_events SET id = 5 WHERE id = -1`, 4, /edited/],
  ['the first rows deleted', `DELETE FROM audit_events WHERE id <= 2`, 3, /deleted: rows before 3/],
];
for (const [name, statements, brokenId, reason] of tampering) {
  test(`verify detects ${name} and names row ${brokenId}`, async () => {
    const dir = tempDir();
    const path = join(dir.path, 'audit.db');
    try {
      const store = createAuditStore({ path });
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.record(event(i))));
      assert.equal(store.verify(), { ok: true, rows: 10 });
      await store.close();
      sql(path, statements);
      const reader = createAuditStore({ path, readonly: true });
      const result = reader.verify();
      await reader.close();
      assert.is(result.ok, false);
      if (!result.ok) {
        assert.is(result.brokenId, brokenId);
        assert.match(result.reason, reason);
      }
    } finally {
      dir.remove();
    }
  });
}

test('pruning leaves an anchor, and the chain still verifies, prune after prune', () => withStore(async (store, _path, clock) => {
  const start = clock.now();
  for (let i = 0; i < 100; i++) {
    await store.record(event(i));
    await clock.advance(DAY);
  }
  assert.is(store.prune(start + 50 * DAY), 50);
  assert.equal(store.verify(), { ok: true, rows: 51 });
  const [anchor] = store.list({ action: 'anchor' });
  assert.equal(JSON.parse(anchor.detail!).prunedThroughId, 50);
  assert.is(store.prune(start + 80 * DAY), 30);
  assert.equal(store.verify(), { ok: true, rows: 22 });
  assert.is(store.prune(start), 0, 'nothing older: nothing pruned, no anchor');
  assert.is(store.prune(clock.now() + DAY), 22, 'everything');
  assert.equal(store.verify(), { ok: true, rows: 1 });
  assert.is(store.list({ action: 'anchor' })[0].id, 103, 'ids are never reused, even after pruning every row');
}));

test('migrates a first-version log to the current schema with its rows and chain intact', async () => {
  const dir = tempDir();
  const path = join(dir.path, 'audit.db');
  try {
    const old = createAuditStore({ path, schemaVersion: 1 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => old.record(event(i))));
    await old.close();
    assert.equal(sql(path, 'PRAGMA user_version'), [[1]]);
    const store = createAuditStore({ path });
    await store.record(event(5));
    assert.equal(store.verify(), { ok: true, rows: 6 });
    assert.is(store.get(2)!.fingerprint, '0000000000000001');
    await store.close();
    assert.equal(sql(path, 'PRAGMA user_version'), [[2]]);
    const indexes = (sql(path, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' ORDER BY name`) as string[][]).map((r) => r[0]);
    assert.equal(indexes, ['audit_events_action', 'audit_events_env', 'audit_events_principal_app', 'audit_events_principal_oid', 'audit_events_principal_upn', 'audit_events_ts']);
  } finally {
    dir.remove();
  }
});

test('a log from a newer aadbt is refused with the fix', async () => {
  const dir = tempDir();
  const path = join(dir.path, 'audit.db');
  try {
    await createAuditStore({ path }).close();
    sql(path, 'PRAGMA user_version = 99');
    try {
      createAuditStore({ path });
      assert.unreachable('should refuse');
    } catch (err) {
      assert.instance(err, AadbtError);
      assert.is((err as AadbtError).code, 'AUDIT_SCHEMA_TOO_NEW');
      assert.match((err as AadbtError).hint ?? '', /upgrade aadbt/);
    }
  } finally {
    dir.remove();
  }
});

test('the data directory is 0700 and the log 0600', () => withStore(async (store, path) => {
  await store.record(event(1));
  assert.is(statSync(join(path, '..')).mode & 0o777, 0o700);
  for (const file of [path, `${path}-wal`]) assert.is(statSync(file).mode & 0o777, 0o600, file);
}));

test('a token never reaches the disk: a non-fingerprint is refused, JWTs in details are redacted', () => withStore(async (store, path) => {
  const jwt = jwtShaped({ sub: 'xxxxxx' });
  try {
    await store.record(event(1, { fingerprint: jwt }));
    assert.unreachable('a token as fingerprint must be refused');
  } catch (err) {
    assert.is((err as AadbtError).code, 'AUDIT_SECRET_REJECTED');
    assert.not.ok((err as Error).message.includes(jwt));
  }
  await store.record(event(2, { action: 'exec-start', detail: { command: ['dbt', 'run', '--vars', `{token: ${jwt}}`] } }));
  await store.close();
  const everything = JSON.stringify(sql(path, 'SELECT * FROM audit_events'));
  assert.not.ok(everything.includes(jwt));
  assert.match(everything, /redacted/);
}));

test('a read-only store of a missing log says the agent creates it', async () => {
  try {
    createAuditStore({ path: '/nonexistent/aadbt/audit.db', readonly: true });
    assert.unreachable('should refuse');
  } catch (err) {
    assert.is((err as AadbtError).code, 'AUDIT_MISSING');
  }
});

test.run();
