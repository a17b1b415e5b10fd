// `aadbt audit list|show|verify|export|prune`: query, check and ship the audit log.

import { parseArgs } from 'node:util';
import { AUDIT_ACTIONS, type AuditAction, type AuditFilter } from '../../audit/audit-event.js';
import { EXPORT_FORMATS, renderAuditTable, type ExportFormat } from '../../audit/audit-export.js';
import { resolvePaths } from '../../config/config-paths.js';
import { parseDuration } from '../../duration.js';
import { AadbtError, EXIT, UsageError } from '../../errors.js';
import { openAuditReader } from '../audit-reader.js';
import type { CliIo } from '../cli-io.js';

const HELP = `usage: aadbt audit <list|show|verify|export|prune> [options]

  list    [--env E] [--action A] [--since T] [--until T] [--principal P] [--limit N] [--json]
          newest first; T is a duration ago (24h, 7d) or an ISO time (2026-11-01T00:00Z); P matches oid, appid or upn
  show    ID                      one event in full
  verify                          recompute the hash chain: "ok N rows", or the first broken row and why (exit 1)
  export  --format jsonl|csv [--since T] [--until T] [--env E] [--action A]
          stream every matching row, oldest first, for a SIEM
  prune   --older-than 400d       delete older rows, leaving an anchor so verify still passes (the agent prunes daily by audit.retainDays)

Reads through the agent when one runs, else the log file itself (read-only).
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') { io.out(HELP); return sub ? EXIT.ok : EXIT.usage; }
  const { values, positionals } = parseArgs({
    args: rest, allowPositionals: true, strict: true,
    options: {
      env: { type: 'string' }, action: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
      principal: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, format: { type: 'string' },
      'older-than': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const paths = resolvePaths(io.env);
  const now = Date.now();

  if (sub === 'prune') return prune(values['older-than'], paths.auditDb, now, io);
  if (!['list', 'show', 'verify', 'export'].includes(sub)) throw new UsageError(`audit: unknown subcommand '${sub}'`, 'use list, show, verify, export or prune');

  const filter: AuditFilter = {
    env: values.env, principal: values.principal, action: actionOf(values.action),
    since: values.since === undefined ? undefined : timeOf('--since', values.since, now),
    until: values.until === undefined ? undefined : timeOf('--until', values.until, now),
    limit: values.limit === undefined ? undefined : limitOf(values.limit),
  };
  const reader = await openAuditReader(paths);
  try {
    switch (sub) {
      case 'list': {
        const rows = await reader.list(filter);
        if (values.json) io.out(JSON.stringify(rows, null, 2) + '\n');
        else if (rows.length === 0) io.err(`aadbt: no audit events match (from ${reader.source})\n`);
        else io.out(renderAuditTable(rows));
        return EXIT.ok;
      }
      case 'show': {
        const id = positionals[0];
        if (!id || !/^\d{1,15}$/.test(id)) throw new UsageError('audit show needs an event id', 'find one with `aadbt audit list`');
        const row = await reader.get(Number(id));
        if (!row) throw new AadbtError(`no audit event ${id}`, { code: 'NOT_FOUND', status: 404, exitCode: EXIT.usage, hint: 'find one with `aadbt audit list`' });
        const parse = (t: string | null) => (t === null ? null : JSON.parse(t));
        io.out(JSON.stringify({ ...row, time: new Date(row.ts).toISOString(), caller: parse(row.caller), detail: parse(row.detail) }, null, 2) + '\n');
        return EXIT.ok;
      }
      case 'verify': {
        const result = await reader.verify();
        if (result.ok) { io.out(`ok ${result.rows} rows\n`); return EXIT.ok; }
        io.err(`aadbt: audit chain broken at row ${result.brokenId}: ${result.reason} (${result.rows} rows checked, from ${reader.source})\n`);
        return 1;
      }
      default: {
        const format = values.format ?? 'jsonl';
        if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${format} is not supported`, `use ${EXPORT_FORMATS.join(' or ')}`);
        await reader.export(format as ExportFormat, { ...filter, limit: undefined }, (text) => io.outAsync(text));
        return EXIT.ok;
      }
    }
  } finally {
    await reader.close();
  }
}

/** Pruning writes, so it opens the file itself: only the account that owns the log may delete from it. */
async function prune(olderThan: string | undefined, path: string, now: number, io: CliIo): Promise<number> {
  if (!olderThan) throw new UsageError('audit prune needs --older-than', 'e.g. --older-than 400d');
  const age = parseDuration(olderThan);
  if (age === undefined || age <= 0) throw new UsageError(`--older-than ${olderThan}: expected a duration like 400d or 12h`);
  const { createAuditStore } = await import('../../audit/audit-store.js');
  const store = createAuditStore({ path });
  try {
    const removed = store.prune(now - age);
    io.out(`pruned ${removed} rows older than ${new Date(now - age).toISOString()}\n`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

function actionOf(value: string | undefined): AuditAction | undefined {
  if (value === undefined) return undefined;
  if (!(AUDIT_ACTIONS as readonly string[]).includes(value)) throw new UsageError(`--action ${value} is not an audit action`, `use one of ${AUDIT_ACTIONS.join(', ')}`);
  return value as AuditAction;
}

/** A duration ago (24h, 7d) or an ISO 8601 time. */
export function timeOf(flag: string, value: string, now: number): number {
  const ago = parseDuration(value);
  if (ago !== undefined) return now - ago;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
  }
  throw new UsageError(`${flag} ${value}: expected a duration ago like 24h or 7d, or an ISO time like 2026-11-01 or 2026-11-01T09:00Z`);
}

function limitOf(value: string): number {
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1) throw new UsageError(`--limit ${value}: expected a whole number from 1`);
  return Number(value);
}
