// Audit rows as lines for a SIEM (JSON Lines, CSV) and as a table for people.

import type { AuditRow } from './audit-event.js';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const COLUMNS: readonly (keyof AuditRow)[] = ['id', 'ts', 'env', 'scope', 'action', 'principal_oid', 'principal_app', 'principal_upn',
  'idtyp', 'tid', 'fingerprint', 'expires_on', 'caller', 'outcome', 'detail', 'prev_hash', 'hash'];

/** The header line of a format, if it has one. */
export function exportHeader(format: ExportFormat): string {
  return format === 'csv' ? `${COLUMNS.join(',')}\n` : '';
}

/** One row as one line; JSON columns (caller, detail) are nested objects in JSON Lines and text in CSV. */
export function exportLine(row: AuditRow, format: ExportFormat): string {
  if (format === 'jsonl') {
    return JSON.stringify({ ...row, time: new Date(row.ts).toISOString(), caller: parse(row.caller), detail: parse(row.detail) }) + '\n';
  }
  return COLUMNS.map((c) => csvField(row[c])).join(',') + '\n';
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet never runs it as a formula. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try { return JSON.parse(text); } catch { return text; }
}

/** A fixed-width table of rows for a terminal. */
export function renderAuditTable(rows: readonly AuditRow[], timeZone?: string): string {
  const header = ['ID', 'TIME', 'ENV', 'ACTION', 'OUTCOME', 'PRINCIPAL', 'SCOPE', 'FINGERPRINT'];
  const lines = rows.map((r) => [
    String(r.id), localTime(r.ts, timeZone), r.env ?? '-', r.action, r.outcome,
    r.principal_upn ?? r.principal_app ?? r.principal_oid ?? '-', shortScope(r.scope), r.fingerprint ? r.fingerprint.slice(0, 8) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function localTime(ms: number, timeZone?: string): string {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

function shortScope(scope: string | null): string {
  if (!scope) return '-';
  return scope.replace(/^https:\/\//, '').replace(/\/\.default$/, '');
}
