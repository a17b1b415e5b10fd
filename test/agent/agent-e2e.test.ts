// The first token end to end: dev provider → real credential → agent on a socket → CLI, audited, never logged.

import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuditStore } from '../../src/audit/audit-store.js';
import { fingerprintOf } from '../../src/tokens/token-cache.js';
import {
  BIN, environmentYaml, fetchJson, FABRIC, isolatedEnv, runCli, socketRequest, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

let dir: TempDir;
let provider: Provider;
let agent: AgentProcess;
let env: NodeJS.ProcessEnv;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
  env = isolatedEnv(dir);
  dir.file('config.yaml', `default: dev\nenvironments:\n${environmentYaml(provider, 'dev', 'e2e-app')}\n`);
  agent = await spawnAgent(env);
});

test.after(async () => {
  await agent?.stop();
  await provider?.idp.close();
  dir?.remove();
});

test('aadbt token gets a signed token whose audience is the scope', async () => {
  const result = await runCli(['token', 'dev'], env);
  assert.is(result.code, 0, result.stderr);
  const token = result.stdout.trim();
  const config = await fetchJson(`${provider.idp.url}/${provider.idp.tenantId}/v2.0/.well-known/openid-configuration`, provider.idp.caPem);
  const jwks = await fetchJson(config.jwks_uri, provider.idp.caPem);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: config.issuer });
  assert.is(protectedHeader.alg, 'RS256');
  assert.is(payload.aud, 'https://database.windows.net/', 'Entra keeps the resource\'s trailing slash');
  assert.is(payload.appid, 'e2e-app');
  assert.ok((payload.exp ?? 0) * 1000 > Date.now(), 'exp is in the future');
});

test('the audit log has the issue and serve rows, and no log line holds the token', async () => {
  const result = await runCli(['token', 'dev', '--json'], env);
  assert.is(result.code, 0, result.stderr);
  const served = JSON.parse(result.stdout);
  assert.is(served.env, 'dev');
  assert.is(served.scope, FABRIC);
  const store = createAuditStore({ path: `${env.AADBT_DATA_DIR}/audit.db`, readonly: true });
  try {
    const rows = store.list({ env: 'dev', limit: 100 });
    const fp = fingerprintOf(served.token);
    assert.ok(rows.some((r) => r.action === 'issue' && r.fingerprint === fp), 'issue row');
    assert.ok(rows.some((r) => r.action === 'serve' && r.fingerprint === fp && r.principal_app === 'e2e-app'), 'serve row');
    const serveRow = rows.find((r) => r.action === 'serve')!;
    assert.ok(JSON.parse(serveRow.caller!).pid > 0, 'caller pid recorded');
    for (const row of rows) assert.not.ok(JSON.stringify(row).includes(served.token), 'token in audit row');
  } finally {
    await store.close();
  }
  for (const issued of provider.idp.issuedTokens()) {
    assert.not.ok(agent.output().includes(issued), 'token in agent log');
    assert.not.ok(agent.output().includes(issued.split('.')[2]), 'token signature in agent log');
  }
});

test('the socket is 0600 in a 0700 directory', () => {
  assert.is(statSync(agent.socketPath).mode & 0o777, 0o600);
  assert.is(statSync(dirname(agent.socketPath)).mode & 0o777, 0o700);
});

test('a second agent on the same socket refuses to start', async () => {
  const result = await runCli(['agent', '--foreground'], env);
  assert.is(result.code, 1);
  assert.match(result.stderr, /another agent is already listening on/);
  assert.is((await socketRequest(agent.socketPath, 'GET', '/v1/status')).status, 200, 'first agent unharmed');
});

const badRequests: [string, string, string, string | Buffer | undefined, number, RegExp][] = [
  ['unknown environment', 'POST', '/v1/environments/nope/token', '{}', 404, /known environments: dev/],
  ['malformed JSON', 'POST', '/v1/environments/dev/token', '{"scope": ', 400, /not valid JSON/],
  ['unknown field', 'POST', '/v1/environments/dev/token', '{"secret":"x"}', 400, /bad token request/],
  ['unconfigured scope', 'POST', '/v1/environments/dev/token', '{"scope":"https://graph.microsoft.com/.default"}', 400, /configured scopes: https:\/\/database/],
  ['body over 64 KiB', 'POST', '/v1/environments/dev/token', Buffer.alloc(70 * 1024, 0x61), 413, /64 KiB/],
  ['unknown route', 'GET', '/v1/nothing', undefined, 404, /no route/],
];
for (const [name, method, path, body, status, hint] of badRequests) {
  test(`bad input: ${name} → ${status}, and the agent stays up`, async () => {
    const res = await socketRequest(agent.socketPath, method, path, body);
    assert.is(res.status, status, res.body);
    assert.match(JSON.stringify(res.json.error), hint);
    assert.is((await socketRequest(agent.socketPath, 'GET', '/v1/status')).status, 200);
  });
}

test('bad input: a chunked body over 64 KiB (no length declared) → 413, and the agent stays up', async () => {
  const { request } = await import('node:http');
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath: agent.socketPath, path: '/v1/environments/dev/token', method: 'POST', headers: { 'content-type': 'application/json' } }, (r) => {
      let body = '';
      r.on('data', (d) => { body += d; });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write(Buffer.alloc(8 * 1024, 0x61)); // no content-length: sent chunked
    req.end();
  });
  assert.is(res.status, 413, res.body);
  assert.match(res.body, /64 KiB/);
  assert.is((await socketRequest(agent.socketPath, 'GET', '/v1/status')).status, 200);
});

test('eval "$(aadbt env dev)" in bash sets the variables exactly', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `eval "$(node "$AADBT_BIN" env dev --shell bash)" && printf '%s\\0' "$DBT_ENV_SECRET_FABRIC_TOKEN" "$AADBT_ENV" "$AADBT_SOCKET" "$AADBT_EXPIRES_ON"`;
  const run = spawnSync('bash', ['-c', script], { env: { ...env, AADBT_BIN: BIN }, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const [token, envName, socket, expires] = run.stdout.split('\0');
  assert.ok(token.startsWith('eyJ'), 'a JWT');
  assert.ok(provider.idp.issuedTokens().includes(token), 'the provider issued it');
  assert.is(envName, 'dev');
  assert.is(socket, agent.socketPath);
  assert.ok(Number(expires) > Date.now() / 1000);
});

test('SIGTERM stops the agent and removes the socket', async () => {
  const code = await agent.stop('SIGTERM');
  assert.is(code, 0);
  let exists = true;
  try { statSync(agent.socketPath); } catch { exists = false; }
  assert.not.ok(exists, 'socket removed');
});

test('a stale socket left by a killed agent is replaced', async () => {
  const killed = await spawnAgent(env);
  await killed.stop('SIGKILL');
  assert.ok(statSync(killed.socketPath).isSocket(), 'kill -9 leaves the socket file behind');
  agent = await spawnAgent(env);
  assert.is((await socketRequest(agent.socketPath, 'GET', '/v1/status')).status, 200);
});

test.run();
