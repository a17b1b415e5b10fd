// Audit log benchmark: group commit vs a transaction per row, bytes per event, and queries and exports on 1M rows.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../src/audit/audit-event.js';
import { createAuditStore } from '../src/audit/audit-store.js';
import { BIN, peakRssKiB, runIfMain, summary, timeCommand, type BenchResult } from './bench-lib.js';

const ROWS = Number(process.env.AADBT_BENCH_AUDIT_ROWS ?? 1_000_000);
const CONCURRENCY = 64;

const serve = (i: number): AuditEvent => ({
  env: ['dev', 'ci', 'prod'][i % 3], scope: 'https://database.windows.net/.default', action: 'serve', outcome: 'ok',
  principal: { oid: '0c50904a-9225-51d2-9ad6-c72bba565a4b', appid: 'aadbt-demo-ci', idtyp: 'app', tid: '7e57a11d-0000-4000-8000-00000000aadb' },
  fingerprint: (i * 2654435761 % 2 ** 32).toString(16).padStart(16, '0'), expiresOn: Date.now() + 3_600_000,
  caller: { pid: 4242, uid: 1000, program: 'dbt', cwd: '/home/analyst/shop', ci: { GITHUB_RUN_ID: '9876543210', GITHUB_WORKFLOW: 'nightly' } },
});

/** Rows per second when CONCURRENCY requests at a time each record a serve row and wait for its commit. */
async function rowsPerSecond(path: string, maxBatch: number, rows: number): Promise<number> {
  const store = createAuditStore({ path, maxBatch });
  const start = process.hrtime.bigint();
  for (let done = 0; done < rows; done += CONCURRENCY) {
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => store.record(serve(done + i))));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await store.close();
  return rows / seconds;
}

export async function main(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'aadbt-bench-audit-'));
  try {
    // 1. Group commit against one transaction per row, interleaved rounds on fresh files.
    const grouped: number[] = [];
    const single: number[] = [];
    for (let round = 0; round < 5; round++) {
      grouped.push(await rowsPerSecond(join(dir, `g${round}.db`), 256, 4096));
      single.push(await rowsPerSecond(join(dir, `s${round}.db`), 1, 1024));
    }
    const g = summary(grouped);
    const s = summary(single);

    // 2. A million rows, as a year of a busy CI runner might write.
    const dataDir = join(dir, 'data');
    const path = join(dataDir, 'audit.db');
    const fill = createAuditStore({ path, maxBatch: 1000 });
    for (let done = 0; done < ROWS; done += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, ROWS - done) }, (_, i) => fill.record(serve(done + i))));
    }
    const listTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint();
      fill.list({ env: 'prod', limit: 100 });
      listTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const verifyStart = process.hrtime.bigint();
    const verified = fill.verify();
    const verifyMs = Number(process.hrtime.bigint() - verifyStart) / 1e6;
    await fill.close(); // checkpoints the WAL into the file
    const bytesPerEvent = statSync(path).size / ROWS;

    // 3. The CLI on that file (no agent: it reads the file itself), against node's own start.
    const env = { ...process.env, AADBT_DATA_DIR: dataDir, AADBT_SOCKET: join(dir, 'none.sock'), AADBT_NO_AUTOSTART: '1' };
    const cliList: number[] = [];
    const nodeFloor: number[] = [];
    for (let i = 0; i < 10; i++) {
      nodeFloor.push(timeCommand(process.execPath, ['-e', '0'], env));
      cliList.push(timeCommand(process.execPath, [BIN, 'audit', 'list', '--env', 'prod', '--limit', '100', '--json'], env));
    }
    const exportRss = peakRssKiB(process.execPath, [BIN, 'audit', 'export', '--format', 'jsonl'], env);
    const nodeRss = peakRssKiB(process.execPath, ['-e', '0'], env);
    const list = summary(listTimes);
    const cli = summary(cliList);
    const floor = summary(nodeFloor);
    return [
      { figure: `audit rows/s, group commit, ${CONCURRENCY} concurrent`, unit: 'rows/s', ...g, baseline: { name: 'a transaction per row', median: s.median }, ratio: g.median / s.median, note: 'synchronous=FULL, WAL' },
      { figure: 'audit bytes per serve event on disk', unit: 'B', median: bytesPerEvent, min: bytesPerEvent, max: bytesPerEvent, note: `${ROWS.toLocaleString('en')} rows` },
      { figure: `audit list --env prod --limit 100 on ${ROWS.toLocaleString('en')} rows (store)`, unit: 'ms', ...list },
      { figure: `aadbt audit list --env prod --limit 100 on ${ROWS.toLocaleString('en')} rows (CLI)`, unit: 'ms', ...cli, baseline: { name: 'node -e 0', median: floor.median }, ratio: cli.median / floor.median },
      { figure: `audit verify of ${ROWS.toLocaleString('en')} rows`, unit: 'ms', median: verifyMs, min: verifyMs, max: verifyMs, note: verified.ok ? 'ok' : 'BROKEN' },
      { figure: `aadbt audit export of ${ROWS.toLocaleString('en')} rows, peak RSS`, unit: 'MiB', median: exportRss / 1024, min: exportRss / 1024, max: exportRss / 1024, baseline: { name: 'node -e 0', median: nodeRss / 1024 }, ratio: exportRss / nodeRss, note: 'streams: bounded by a slice, not by the log' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main, 'audit log');
