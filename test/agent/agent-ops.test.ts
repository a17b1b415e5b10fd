// Operating the agent: SIGHUP reload, socket activation, other users, idle connections.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeSocket } from '../../src/agent/socket-listener.js';
import {
  BIN, environmentYaml, FABRIC, isolatedEnv, runCli, socketRequest, spawnAgent, startProvider, tempDir,
  type Provider, type TempDir, until,
} from '../support/harness.js';

let dir: TempDir;
let provider: Provider;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
});
test.after(async () => {
  await provider?.idp.close();
  dir?.remove();
});


test('SIGHUP adds an environment and keeps the others\' cached tokens; a broken config is refused and logged', async () => {
  const env = isolatedEnv(dir, { AADBT_SOCKET: join(dir.path, 'hup', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'hup-data') });
  const one = environmentYaml(provider, 'one', 'hup-one');
  dir.file('config.yaml', `environments:\n${one}\n`);
  const agent = await spawnAgent(env);
  try {
    assert.is((await runCli(['token', 'one'], env)).code, 0);
    const calls = provider.idp.tokenRequests({ clientId: 'hup-one' });
    dir.file('config.yaml', `environments:\n${one}\n${environmentYaml(provider, 'two', 'hup-two')}\n`);
    agent.child.kill('SIGHUP');
    await until(async () => (await runCli(['token', 'two'], env)).code === 0, 'environment two');
    assert.is((await runCli(['token', 'one'], env)).code, 0);
    assert.is(provider.idp.tokenRequests({ clientId: 'hup-one' }), calls, 'no new provider call for the unchanged environment');
    dir.file('config.yaml', 'environments:\n  broken: { credential: { type: nope } }\n');
    agent.child.kill('SIGHUP');
    await until(() => agent.output().includes('config reload refused'), 'the refusal in the log');
    assert.match(agent.output(), /expected one of client-secret/);
    assert.is((await runCli(['token', 'two'], env)).code, 0, 'still serving with the old config');
  } finally {
    await agent.stop();
  }
});

test('socket activation: the agent serves on the listening fd it is handed (LISTEN_FDS/LISTEN_PID)', async () => {
  const env = isolatedEnv(dir, { AADBT_SOCKET: join(dir.path, 'act', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'act-data') });
  dir.file('config.yaml', `environments:\n${environmentYaml(provider, 'act', 'act-app')}\n`);
  mkdirSync(join(dir.path, 'act'), { mode: 0o700 });
  // What systemd does: bind and listen, put the socket at fd 3, set LISTEN_* for the exec'd process.
  const activator = `import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o600); s.listen(64)
if s.fileno() != 3: os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)  # dup2 onto itself would keep Python's close-on-exec
os.environ['LISTEN_FDS'] = '1'; os.environ['LISTEN_PID'] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])`;
  const child = spawn('python3', ['-c', activator, env.AADBT_SOCKET!, process.execPath, BIN, 'agent', '--foreground'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  try {
    await until(() => log.includes('socket activation'), 'the agent to take fd 3');
    const result = await runCli(['token', 'act'], env);
    assert.is(result.code, 0, result.stderr + log);
    assert.ok(provider.idp.issuedTokens().includes(result.stdout.trim()));
  } finally {
    child.kill('SIGTERM');
  }
});

test('another user cannot connect to a user-mode socket', async () => {
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) {
    console.log('skip: needs root and setpriv to act as another user');
    return;
  }
  const env = isolatedEnv(dir, { AADBT_SOCKET: join(dir.path, 'uid', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'uid-data') });
  dir.file('config.yaml', `environments:\n${environmentYaml(provider, 'uid', 'uid-app')}\n`);
  chmodSync(dir.path, 0o755); // only aadbt's own 0700 directory and 0600 socket stand in the way
  const agent = await spawnAgent(env);
  try {
    const probe = `require('net').connect(${JSON.stringify(agent.socketPath)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
    const asNobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe], { encoding: 'utf8' });
    assert.is(asNobody.stdout.trim(), 'EACCES');
    chmodSync(join(dir.path, 'uid'), 0o755); // even with the directory opened up, the socket's 0600 refuses
    const again = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe], { encoding: 'utf8' });
    assert.is(again.stdout.trim(), 'EACCES');
  } finally {
    chmodSync(dir.path, 0o700);
    await agent.stop();
  }
});

test('500 idle connections do not stop a normal client', async () => {
  const env = isolatedEnv(dir, { AADBT_SOCKET: join(dir.path, 'idle', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'idle-data') });
  dir.file('config.yaml', `environments:\n${environmentYaml(provider, 'idle', 'idle-app')}\n`);
  const agent = await spawnAgent(env);
  const idle: Socket[] = [];
  try {
    for (let i = 0; i < 500; i++) {
      const s = connect(agent.socketPath);
      s.on('error', () => {});
      s.write('POST /v1/environments/idle/token HTTP/1.1\r\nHost: x\r\n'); // headers never finished
      idle.push(s);
    }
    await until(() => idle.every((s) => !s.connecting), 'the idle connections');
    const res = await socketRequest(agent.socketPath, 'POST', '/v1/environments/idle/token', JSON.stringify({ scope: FABRIC }));
    assert.is(res.status, 200);
    assert.ok(await probeSocket(agent.socketPath));
  } finally {
    for (const s of idle) s.destroy();
    await agent.stop();
  }
});

test('every request carries a correlation id, and the debug log ties it to the request', async () => {
  const env = isolatedEnv(dir, { AADBT_SOCKET: join(dir.path, 'cid', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'cid-data'), AADBT_LOG_LEVEL: 'debug' });
  dir.file('config.yaml', `environments:\n${environmentYaml(provider, 'cid', 'cid-app')}\n`);
  const agent = await spawnAgent(env);
  try {
    assert.is((await socketRequest(agent.socketPath, 'GET', '/v1/status', undefined, { 'x-correlation-id': 'dbt-run-42' })).status, 200);
    assert.is((await socketRequest(agent.socketPath, 'GET', '/v1/environments/nope/env')).status, 404);
    await until(() => agent.output().includes('/v1/environments/nope/env'), 'the request lines');
    const lines = agent.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const mine = lines.find((l) => l.event === 'request' && l.correlationId === 'dbt-run-42');
    assert.is(mine?.path, '/v1/status', 'the debug line carries the caller\'s id');
    assert.ok(lines.some((l) => l.event === 'request' && l.path === '/v1/environments/nope/env' && /^[0-9a-f-]{36}$/.test(l.correlationId)), 'a fresh id otherwise');
  } finally {
    await agent.stop();
  }
});

test.run();
