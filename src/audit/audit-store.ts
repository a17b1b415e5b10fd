// The audit log in SQLite: migrations, group commit, the hash chain, queries, verification and pruning.
// The only importer of better-sqlite3.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { AadbtError } from '../errors.js';
import { redactValue } from '../log.js';
import type { AuditEvent, AuditFilter, AuditRow, AuditStats, AuditStore, VerifyResult } from './audit-event.js';

export interface AuditStoreOptions {
  path: string;
  clock?: Clock;
  /** Open for reading only (the CLI when no agent runs): no migration, no writes. */
  readonly?: boolean;
  /** Rows per transaction at most; a full batch commits at once. */
  maxBatch?: number;
  /** Stop migrating at this schema version: for migration tests only. */
  schemaVersion?: number;
}

export interface SqliteAuditStore extends AuditStore {
  stats(): AuditStats;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Schema versions in order; a database at version N runs N+1… at start. Never edit a released step. */
export const AUDIT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE audit_events (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     env TEXT,
     scope TEXT,
     action TEXT NOT NULL,
     principal_oid TEXT,
     principal_app TEXT,
     principal_upn TEXT,
     idtyp TEXT,
     tid TEXT,
     fingerprint TEXT,
     expires_on INTEGER,
     caller TEXT,
     outcome TEXT NOT NULL,
     detail TEXT,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   )`,
  // An index on one column is ordered by (column, rowid): `WHERE env = ? ORDER BY id DESC LIMIT n` reads n entries.
  `CREATE INDEX audit_events_ts ON audit_events (ts);
   CREATE INDEX audit_events_env ON audit_events (env);
   CREATE INDEX audit_events_action ON audit_events (action);
   CREATE INDEX audit_events_principal_oid ON audit_events (principal_oid);
   CREATE INDEX audit_events_principal_app ON audit_events (principal_app);
   CREATE INDEX audit_events_principal_upn ON audit_events (principal_upn)`,
];

// The fields the hash covers, in a fixed order: the id too, so a deleted or moved row breaks the chain.
const HASHED = ['id', 'ts', 'env', 'scope', 'action', 'principal_oid', 'principal_app', 'principal_upn', 'idtyp', 'tid',
  'fingerprint', 'expires_on', 'caller', 'outcome', 'detail', 'prev_hash'] as const;

/** sha256(prev_hash ‖ canonical JSON of the row's hashed fields). */
export function rowHash(row: Omit<AuditRow, 'hash'>): string {
  const canonical = JSON.stringify(HASHED.map((k) => row[k] ?? null));
  return createHash('sha256').update(row.prev_hash).update(canonical).digest('hex');
}

interface Pending {
  event: AuditEvent;
  resolve: (row: AuditRow) => void;
  reject: (err: unknown) => void;
}

export function createAuditStore(options: AuditStoreOptions): SqliteAuditStore {
  const clock = options.clock ?? systemClock;
  const maxBatch = options.maxBatch ?? 256;
  const db = openDatabase(options);

  const insert = db.prepare(`INSERT INTO audit_events (id, ts, env, scope, action, principal_oid, principal_app, principal_upn, idtyp, tid,
    fingerprint, expires_on, caller, outcome, detail, prev_hash, hash)
    VALUES (@id, @ts, @env, @scope, @action, @principal_oid, @principal_app, @principal_upn, @idtyp, @tid,
    @fingerprint, @expires_on, @caller, @outcome, @detail, @prev_hash, @hash)`);
  const selectHead = db.prepare('SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1');
  const head = () => selectHead.get() as { id: number; hash: string } | undefined;

  let pending: Pending[] = [];
  let flushScheduled = false;
  let closed = false;
  const stats: AuditStats = { rowsWritten: 0, commits: 0, lastBatchSize: 0 };

  /** Appends after the newest row, or after `pruned` (the last row a prune removed) when none is left. */
  const writeBatch = db.transaction((batch: Pending[], pruned?: { id: number; hash: string }) => {
    const last = head() ?? pruned;
    let id = last?.id ?? 0;
    let prev = last?.hash ?? GENESIS_HASH;
    const rows: AuditRow[] = [];
    for (const { event } of batch) {
      const base = toRow(event, ++id, prev, clock.now());
      const row: AuditRow = { ...base, hash: rowHash(base) };
      insert.run(row);
      rows.push(row);
      prev = row.hash;
    }
    return rows;
  });

  // Group commit. better-sqlite3 commits synchronously, so while one commit runs, new requests queue up in the
  // event loop; flushing on setImmediate puts every request that arrived in one loop turn into one transaction.
  const flush = () => {
    flushScheduled = false;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    try {
      const rows = writeBatch(batch);
      stats.rowsWritten += rows.length;
      stats.commits += 1;
      stats.lastBatchSize = rows.length;
      batch.forEach((p, i) => p.resolve(rows[i]));
    } catch (err) {
      const failure = new AadbtError(`audit: could not write to ${options.path}: ${(err as Error).message}`,
        { code: 'AUDIT_WRITE_FAILED', status: 503, hint: 'check the disk and the permissions of the data directory; no token is served unaudited' });
      for (const p of batch) p.reject(failure);
    }
  };

  const store: SqliteAuditStore = {
    path: options.path,
    record(event) {
      if (closed) return Promise.reject(new AadbtError('audit: the log is closed', { code: 'AUDIT_CLOSED', status: 503 }));
      if (options.readonly) return Promise.reject(new AadbtError('audit: opened read-only', { code: 'AUDIT_READONLY', status: 500 }));
      try {
        checkFingerprint(event.fingerprint); // one bad event must not fail the batch it would join
      } catch (err) {
        return Promise.reject(err);
      }
      return new Promise<AuditRow>((resolve, reject) => {
        pending.push({ event, resolve, reject });
        if (pending.length >= maxBatch) flush();
        else if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    list(filter = {}) {
      const { where, params } = whereClause(filter);
      const limit = Math.max(1, Math.min(filter.limit ?? 100, 100_000));
      return db.prepare(`SELECT * FROM audit_events ${where} ORDER BY id DESC LIMIT ${limit}`).all(params) as AuditRow[];
    },
    get(id) {
      return db.prepare('SELECT * FROM audit_events WHERE id = ?').get(id) as AuditRow | undefined;
    },
    *iterate(filter = {}) {
      const { where, params } = whereClause(filter);
      yield* db.prepare(`SELECT * FROM audit_events ${where} ORDER BY id`).iterate(params) as IterableIterator<AuditRow>;
    },
    verify() {
      return verifyChain(db);
    },
    prune(before) {
      if (options.readonly) throw new AadbtError('audit: opened read-only', { code: 'AUDIT_READONLY', status: 500 });
      flush();
      const last = db.prepare('SELECT id, hash FROM audit_events WHERE ts < ? ORDER BY id DESC LIMIT 1').get(before) as { id: number; hash: string } | undefined;
      if (!last) return 0;
      const removed = db.transaction(() => {
        const count = db.prepare('DELETE FROM audit_events WHERE id <= ?').run(last.id).changes;
        // The anchor keeps the chain checkable: the first kept row's prev_hash must equal the last pruned row's hash.
        writeBatch([{ event: { action: 'anchor', outcome: 'ok', detail: { prunedThroughId: last.id, prunedThroughHash: last.hash, rowsPruned: count, before } }, resolve: () => {}, reject: () => {} }], last);
        return count;
      })();
      stats.rowsWritten += 1;
      return removed;
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      flush();
      closed = true;
      if (!options.readonly) db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
  return store;
}

function openDatabase(options: AuditStoreOptions): Database.Database {
  if (options.readonly) {
    if (!existsSync(options.path)) {
      throw new AadbtError(`audit: there is no audit log at ${options.path} yet`, { code: 'AUDIT_MISSING', status: 404, hint: 'the agent creates it when it first starts' });
    }
    const db = new Database(options.path, { readonly: true, fileMustExist: true });
    return db;
  }
  mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  const db = new Database(options.path);
  for (const file of [options.path, `${options.path}-wal`, `${options.path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  // FULL: each commit is fsynced, so a `serve` row survives a power cut, not only a crash of the agent.
  // Group commit pays one fsync per batch, which keeps FULL affordable (see docs/benchmarks.md).
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  migrate(db, options.schemaVersion ?? AUDIT_MIGRATIONS.length);
  for (const file of [`${options.path}-wal`, `${options.path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  return db;
}

function migrate(db: Database.Database, target: number): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > AUDIT_MIGRATIONS.length) {
    throw new AadbtError(`audit: the log is at schema version ${current}, newer than this aadbt knows (${AUDIT_MIGRATIONS.length})`,
      { code: 'AUDIT_SCHEMA_TOO_NEW', status: 500, hint: 'upgrade aadbt; an older version must not write to a newer log' });
  }
  for (let version = current; version < target; version++) {
    db.transaction(() => {
      db.exec(AUDIT_MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

function toRow(event: AuditEvent, id: number, prevHash: string, now: number): Omit<AuditRow, 'hash'> {
  const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(redactValue(value)));
  return {
    id,
    ts: event.ts ?? now,
    env: event.env ?? null,
    scope: event.scope ?? null,
    action: event.action,
    principal_oid: event.principal?.oid ?? null,
    principal_app: event.principal?.appid ?? null,
    principal_upn: event.principal?.upn ?? null,
    idtyp: event.principal?.idtyp ?? null,
    tid: event.principal?.tid ?? null,
    fingerprint: checkFingerprint(event.fingerprint),
    expires_on: event.expiresOn === undefined || event.expiresOn === null ? null : Math.floor(event.expiresOn / 1000),
    caller: json(event.caller),
    outcome: event.outcome,
    detail: json(event.detail),
    prev_hash: prevHash,
  };
}

/** A fingerprint is 16 hex; anything else (a token passed by mistake) is refused before it reaches the disk. */
function checkFingerprint(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (!/^[0-9a-f]{16}$/.test(value)) throw new AadbtError('audit: a fingerprint must be 16 hex characters', { code: 'AUDIT_SECRET_REJECTED', status: 500 });
  return value;
}

function whereClause(filter: AuditFilter): { where: string; params: Record<string, string | number> } {
  const clauses: string[] = [];
  const params: Record<string, string | number> = {};
  if (filter.env !== undefined) { clauses.push('env = @env'); params.env = filter.env; }
  if (filter.action !== undefined) { clauses.push('action = @action'); params.action = filter.action; }
  if (filter.since !== undefined) { clauses.push('ts >= @since'); params.since = filter.since; }
  if (filter.until !== undefined) { clauses.push('ts < @until'); params.until = filter.until; }
  if (filter.principal !== undefined) {
    clauses.push('(principal_oid = @principal OR principal_app = @principal OR principal_upn = @principal)');
    params.principal = filter.principal;
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Recomputes the chain row by row (constant memory) and names the first row that breaks it. */
function verifyChain(db: Database.Database): VerifyResult {
  const anchors = new Map<number, string>();
  for (const { detail } of db.prepare(`SELECT detail FROM audit_events WHERE action = 'anchor'`).iterate() as IterableIterator<{ detail: string }>) {
    const d = JSON.parse(detail) as { prunedThroughId: number; prunedThroughHash: string };
    anchors.set(d.prunedThroughId, d.prunedThroughHash);
  }
  let rows = 0;
  let previous: { id: number; hash: string } | undefined;
  for (const row of db.prepare('SELECT * FROM audit_events ORDER BY id').iterate() as IterableIterator<AuditRow>) {
    rows++;
    const broken = (reason: string): VerifyResult => ({ ok: false, rows, brokenId: row.id, reason });
    if (rowHash(row) !== row.hash) {
      return broken('edited: its content (or its id, if rows were moved) does not match its hash');
    }
    if (!previous) {
      const expected = row.id === 1 ? GENESIS_HASH : anchors.get(row.id - 1);
      if (expected === undefined) return broken(`deleted: rows before ${row.id} are gone and no prune anchor accounts for them`);
      if (row.prev_hash !== expected) return broken('deleted or replaced: it does not follow the row its anchor names');
    } else if (row.prev_hash !== previous.hash) {
      return broken(row.id !== previous.id + 1 ? `deleted: rows ${previous.id + 1}–${row.id - 1} are missing` : 'reordered or replaced: it does not follow the row before it');
    } else if (row.id !== previous.id + 1) {
      return broken(`deleted: rows ${previous.id + 1}–${row.id - 1} are missing`);
    }
    previous = row;
  }
  return { ok: true, rows };
}
