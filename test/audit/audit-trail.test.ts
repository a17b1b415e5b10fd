// The audit trail through a real agent: one serve row per token handed out, kill -9 loses nothing, and the CLI.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  environmentYaml, FABRIC, isolatedEnv, runCli, socketRequest, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

let dir: TempDir;
let provider: Provider;
let env: NodeJS.ProcessEnv;

const fingerprint = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
  env = isolatedEnv(dir);
  dir.file('config.yaml', `environments:\n${environmentYaml(provider, 'dev', 'trail-dev')}\n${environmentYaml(provider, 'prod', 'trail-prod')}\n`);
});

test.after(async () => {
  await provider?.idp.close();
  dir?.remove();
});

/** Counts, per fingerprint, the serve rows in the log (read with Python's sqlite3, independent of aadbt). */
function serveRows(): Map<string, number> {
  const out = execFileSync('python3', ['-c', `import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(json.dumps(db.execute("SELECT fingerprint, count(*) FROM audit_events WHERE action = 'serve' GROUP BY fingerprint").fetchall()))`,
  join(env.AADBT_DATA_DIR!, 'audit.db')], { encoding: 'utf8' });
  return new Map(JSON.parse(out) as [string, number][]);
}

/** `clients` loops requesting tokens until stop() is called; every token received is counted by fingerprint. */
function requestLoops(agent: AgentProcess, clients: number) {
  const received = new Map<string, number>();
  let running = true;
  let failures = 0;
  const loops = Array.from({ length: clients }, async (_, i) => {
    while (running) {
      try {
        const res = await socketRequest(agent.socketPath, 'POST', `/v1/environments/${i % 2 ? 'prod' : 'dev'}/token`, JSON.stringify({ scope: FABRIC }));
        if (res.status !== 200) { failures++; continue; }
        const fp = fingerprint(res.json.token);
        received.set(fp, (received.get(fp) ?? 0) + 1);
      } catch {
        failures++;
        return; // the agent is gone
      }
    }
  });
  return {
    received,
    failures: () => failures,
    total: () => [...received.values()].reduce((a, b) => a + b, 0),
    async stop() { running = false; await Promise.all(loops); },
  };
}

test('every token a client received has exactly one serve row', async () => {
  const agent = await spawnAgent(env);
  const load = requestLoops(agent, 16);
  try {
    while (load.total() < 400) await new Promise((r) => setImmediate(r));
  } finally {
    await load.stop();
    await agent.stop();
  }
  assert.is(load.failures(), 0);
  const rows = serveRows();
  for (const [fp, count] of load.received) assert.is(rows.get(fp), count, `serve rows for ${fp}`);
});

test('kill -9 under load: the log is intact, verifies, and no received token lacks its row', async () => {
  const before = serveRows();
  const agent = await spawnAgent(env);
  const load = requestLoops(agent, 32);
  while (load.total() < 300) await new Promise((r) => setImmediate(r));
  agent.child.kill('SIGKILL');
  await load.stop();
  await agent.stop();
  const integrity = execFileSync('python3', ['-c', 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])',
    join(env.AADBT_DATA_DIR!, 'audit.db')], { encoding: 'utf8' }).trim();
  assert.is(integrity, 'ok');
  const restarted = await spawnAgent(env);
  try {
    const verify = await runCli(['audit', 'verify'], env);
    assert.is(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^ok \d+ rows$/m);
    const after = serveRows();
    let missing = 0;
    for (const [fp, count] of load.received) if ((after.get(fp) ?? 0) - (before.get(fp) ?? 0) < count) missing++;
    assert.is(missing, 0, 'tokens received without a committed serve row');
  } finally {
    await restarted.stop();
  }
});

test('audit list, show, export and verify, through the agent and from the file', async () => {
  const agent = await spawnAgent(env);
  let viaAgent: string;
  try {
    assert.is((await runCli(['token', 'prod'], env)).code, 0);
    const list = await runCli(['audit', 'list', '--env', 'prod', '--action', 'serve', '--limit', '3', '--json'], env);
    assert.is(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout);
    assert.is(rows.length, 3);
    assert.ok(rows.every((r: { env: string; action: string }) => r.env === 'prod' && r.action === 'serve'));
    assert.ok(rows[0].id > rows[1].id, 'newest first');
    const show = await runCli(['audit', 'show', String(rows[0].id)], env);
    const shown = JSON.parse(show.stdout);
    assert.is(shown.id, rows[0].id);
    assert.is(typeof shown.caller.pid, 'number', 'caller shown as an object, not JSON text');
    viaAgent = (await runCli(['audit', 'export', '--format', 'jsonl', '--env', 'prod'], env)).stdout;
  } finally {
    await agent.stop();
  }
  const fromFile = await runCli(['audit', 'export', '--format', 'jsonl', '--env', 'prod'], env);
  assert.is(fromFile.stdout, viaAgent, 'the agent and the file give the same export');
  const lines = viaAgent.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length > 100);
  assert.ok(lines.every((l, i) => i === 0 || l.id > lines[i - 1].id), 'oldest first');
  const csv = (await runCli(['audit', 'export', '--format', 'csv', '--env', 'prod'], env)).stdout.trim().split('\n');
  assert.is(csv[0].split(',')[0], 'id');
  assert.is(csv.length, lines.length + 1);
  const table = await runCli(['audit', 'list', '--limit', '2'], env);
  assert.match(table.stdout, /^ID\s+TIME\s+ENV\s+ACTION/);
});

const usageErrors: [string[], RegExp][] = [
  [['audit', 'list', '--since', 'yesterdayish'], /--since yesterdayish: expected a duration ago like 24h or 7d, or an ISO time/],
  [['audit', 'list', '--action', 'steal'], /--action steal is not an audit action/],
  [['audit', 'export', '--format', 'xml'], /--format xml is not supported/],
  [['audit', 'prune'], /audit prune needs --older-than/],
  [['audit', 'show', '999999'], /no audit event 999999/],
  [['audit', 'frobnicate'], /unknown subcommand 'frobnicate'/],
];
for (const [args, message] of usageErrors) {
  test(`aadbt ${args.join(' ')} is a clear usage error`, async () => {
    const result = await runCli(args, env);
    assert.is(result.code, 1);
    assert.match(result.stderr, message);
  });
}

test('prune keeps the chain verifiable', async () => {
  const pruned = await runCli(['audit', 'prune', '--older-than', '0s'], env);
  assert.is(pruned.code, 1, 'zero is refused');
  const all = await runCli(['audit', 'prune', '--older-than', '1ms'], env);
  assert.is(all.code, 0, all.stderr);
  assert.match(all.stdout, /^pruned \d+ rows/);
  const verify = await runCli(['audit', 'verify'], env);
  assert.is(verify.stdout.trim(), 'ok 1 rows');
});

test.run();
