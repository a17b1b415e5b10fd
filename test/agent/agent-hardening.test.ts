// The agent under hostile neighbours: another uid cannot connect, idle connections do not starve clients,
// and every request carries a correlation id.

import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  environmentYaml, FABRIC, isolatedEnv, socketRequest, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

let dir: TempDir;
let provider: Provider;
let agent: AgentProcess;

test.before(async () => {
  dir = tempDir();
  chmodSync(dir.path, 0o755); // only the agent's own 0700 directory and 0600 socket may keep others out
  provider = await startProvider(dir);
  const env = isolatedEnv(dir, { AADBT_LOG_LEVEL: 'debug' });
  dir.file('config.yaml', `environments:\n${environmentYaml(provider, 'dev', 'hardening-app')}\n`);
  agent = await spawnAgent(env);
});

test.after(async () => {
  await agent?.stop();
  await provider?.idp.close();
  dir?.remove();
});

test('another uid cannot connect to the socket', () => {
  if (process.getuid?.() !== 0) {
    console.log('skip: switching to uid nobody needs root (setpriv)');
    return;
  }
  const probe = `const s = require('net').connect(process.argv[1]);
s.on('connect', () => { console.log('connected'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });`;
  const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe, agent.socketPath], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout.trim(), 'EACCES');
});

test('500 idle connections do not keep a normal client from its token', async () => {
  const idle: Socket[] = [];
  try {
    for (let i = 0; i < 500; i++) {
      idle.push(await new Promise<Socket>((resolve, reject) => {
        const s = connect(agent.socketPath, () => resolve(s));
        s.on('error', reject);
      }));
    }
    // Half of them start a request and never finish its headers, slowloris-style.
    for (const s of idle.slice(0, 250)) s.write('POST /v1/environments/dev/token HTTP/1.1\r\nHost: localhost\r\n');
    const started = performance.now();
    const res = await socketRequest(agent.socketPath, 'POST', '/v1/environments/dev/token', JSON.stringify({ scope: FABRIC }));
    const ms = performance.now() - started;
    assert.is(res.status, 200, res.body);
    assert.ok(provider.idp.issuedTokens().includes(res.json.token));
    console.log(`  token with 500 idle connections open: ${ms.toFixed(1)} ms (first request, includes the provider call)`);
    const warmStart = performance.now();
    assert.is((await socketRequest(agent.socketPath, 'POST', '/v1/environments/dev/token', JSON.stringify({ scope: FABRIC }))).status, 200);
    console.log(`  warm token with 500 idle connections open: ${(performance.now() - warmStart).toFixed(1)} ms`);
  } finally {
    for (const s of idle) s.destroy();
  }
});

test('every response carries a correlation id, and the debug log ties it to the request', async () => {
  const mine = await socketRequest(agent.socketPath, 'GET', '/v1/status', undefined, { 'x-correlation-id': 'dbt-run-42' });
  assert.is(mine.status, 200);
  const made = await socketRequest(agent.socketPath, 'GET', '/v1/environments/nope/env');
  assert.is(made.status, 404);
  const lines = agent.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const request = lines.find((l) => l.event === 'request' && l.correlationId === 'dbt-run-42');
  assert.ok(request, 'the debug line with the caller\'s id');
  assert.is(request.path, '/v1/status');
  assert.ok(lines.some((l) => l.event === 'request' && l.path === '/v1/environments/nope/env' && /^[0-9a-f-]{36}$/.test(l.correlationId)));
});

test.run();
