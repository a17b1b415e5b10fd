// Autostart: the first CLI call starts the agent; racing first calls leave exactly one.

import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { environmentYaml, isolatedEnv, runCli, startProvider, tempDir } from '../support/harness.js';

function agentsOn(socket: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(' agent --foreground')).map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((pid) => {
      try {
        return execFileSync('cat', [`/proc/${pid}/environ`], { encoding: 'utf8' }).split('\0').includes(`AADBT_SOCKET=${socket}`);
      } catch {
        return false;
      }
    });
}

test('with no agent running, two concurrent first calls both succeed and leave exactly one agent', async () => {
  const dir = tempDir();
  const provider = await startProvider(dir);
  const env = isolatedEnv(dir, { AADBT_NO_AUTOSTART: '' });
  dir.file('config.yaml', `default: dev\nenvironments:\n${environmentYaml(provider, 'dev', 'autostart-app')}\n`);
  try {
    const [a, b] = await Promise.all([runCli(['env', 'dev', '--shell', 'bash'], env), runCli(['token', 'dev'], env)]);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    assert.match(a.stdout, /export DBT_ENV_SECRET_FABRIC_TOKEN='eyJ/);
    const pids = agentsOn(env.AADBT_SOCKET!);
    assert.is(pids.length, 1, `agents: ${pids.join(', ')}`);
    for (const pid of pids) process.kill(pid, 'SIGTERM');
  } finally {
    await provider.idp.close();
    dir.remove();
  }
});

test('AADBT_NO_AUTOSTART=1: a clear message and exit code 4', async () => {
  const dir = tempDir();
  try {
    const result = await runCli(['token', 'dev'], isolatedEnv(dir));
    assert.is(result.code, 4);
    assert.match(result.stderr, /no agent at .*agent\.sock\n  → start one with `aadbt agent`/);
  } finally {
    dir.remove();
  }
});

test.run();
