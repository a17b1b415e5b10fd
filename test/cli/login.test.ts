// `aadbt login` for a device-code environment: the real DeviceCodeCredential in a real agent, against a fake of Entra's device flow.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeClaims } from '../../src/tokens/token-cache.js';
import { startFakeDeviceCode, type FakeDeviceCode } from '../support/fake-device-code.js';
import {
  BIN, DATABRICKS, FABRIC, isolatedEnv, runCli, spawnAgent, tempDir, until,
  type AgentProcess, type TempDir,
} from '../support/harness.js';

const ADA = { upn: 'ada@contoso.test', oid: '0ada0000-0000-4000-8000-000000000001' };

let dir: TempDir;
let fake: FakeDeviceCode;
let agent: AgentProcess;
let env: NodeJS.ProcessEnv;
/** Everything any process printed, for the leak check. */
const printed: string[] = [];

test.before(async () => {
  dir = tempDir();
  fake = await startFakeDeviceCode();
  const caFile = dir.file('fake-ca.pem', fake.caPem, 0o644);
  dir.file('config.yaml', [
    'environments:',
    '  people:',
    `    tenant: ${fake.tenantId}`,
    `    authorityHost: ${fake.url}`,
    `    authorityCaFile: ${caFile}`,
    '    credential: { type: device-code }',
    `    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}", DBT_ENV_SECRET_DATABRICKS_TOKEN: "${DATABRICKS}" }`,
    '  apps:',
    `    tenant: ${fake.tenantId}`,
    '    credential: { type: client-secret, clientId: some-app, secretEnv: SOME_APP_SECRET }',
    `    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }`,
    '',
  ].join('\n'));
  env = isolatedEnv(dir);
  agent = await spawnAgent(env);
});
test.after(async () => {
  await agent?.stop();
  await fake?.close();
  dir?.remove();
});

async function cli(args: string[]) {
  const r = await runCli(args, env);
  printed.push(r.stdout, r.stderr);
  return r;
}

test('before any sign-in, a token request says to run aadbt login (exit 2)', async () => {
  const r = await cli(['token', 'people']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /environment 'people' needs a sign-in\n  → run: aadbt login people/);
});

test('aadbt login: the device code reaches the terminal that ran it, not the agent log; then tokens flow for every scope', async () => {
  const child = spawn(process.execPath, [BIN, 'login', 'people'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  await until(() => /enter the code (\w+)/.test(stderr), 'the device-code prompt', () => stderr + agent.output());
  const userCode = /enter the code (\w+)/.exec(stderr)![1];
  assert.match(stderr, new RegExp(`open the page ${fake.url.replace(/[.]/g, '\\.')}/devicelogin`));
  assert.ok(fake.userCodes().includes(userCode));
  assert.not.ok(agent.output().includes(userCode), 'the code is not in the agent\'s log');
  assert.match(agent.output(), /sign-in started/);

  fake.approve(userCode, ADA);
  assert.is(await exited, 0, stderr);
  printed.push(stdout, stderr);
  assert.is(stdout, `signed in to people as ${ADA.upn} (tenant ${fake.tenantId})\n`);
  assert.match(stderr, /note: tokens stay in the agent's memory only \(no OS keyring for a persistent token cache\), so after an agent restart run `aadbt login` again/);

  const fabric = await cli(['token', 'people']);
  assert.is(fabric.code, 0, fabric.stderr);
  const claims = decodeClaims(fabric.stdout.trim());
  assert.is(claims.upn, ADA.upn);
  assert.is(claims.aud, 'https://database.windows.net/');
  const databricks = await cli(['token', 'people', '--var', 'DBT_ENV_SECRET_DATABRICKS_TOKEN']);
  assert.is(databricks.code, 0, databricks.stderr);
  assert.is(decodeClaims(databricks.stdout.trim()).aud, '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d');
  assert.ok(fake.grants().includes('refresh_token'), 'the second scope came from the sign-in\'s refresh token, with no new prompt');
});

test('the account record is kept in the data dir, 0600, and holds no token', () => {
  const file = join(dir.path, 'data', 'sign-in', 'people.json');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(statSync(join(dir.path, 'data', 'sign-in')).mode & 0o777, 0o700);
  const record = JSON.parse(readFileSync(file, 'utf8')) as { username?: string; tenantId?: string; homeAccountId?: string };
  assert.is(record.username, ADA.upn);
  assert.is(record.tenantId, fake.tenantId);
  assert.is(record.homeAccountId, `${ADA.oid}.${fake.tenantId}`);
  const text = readFileSync(file, 'utf8');
  for (const t of fake.issued()) assert.not.ok(text.includes(t), 'no access or refresh token in the record');
});

test('after an agent restart the record names the account, and a new sign-in is asked for (no persistent token cache)', async () => {
  await agent.stop();
  printed.push(agent.output());
  agent = await spawnAgent(env);
  const r = await cli(['token', 'people']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`environment 'people' needs a new sign-in \\(last signed in as ${ADA.upn}; tokens stay in the agent's memory only`));
  assert.match(r.stderr, /→ run: aadbt login people/);
});

test('aadbt login refuses environments without a sign-in, and needs ENV', async () => {
  const apps = await cli(['login', 'apps']);
  assert.is(apps.code, 1);
  assert.match(apps.stderr, /environment 'apps' uses client-secret, which has no sign-in of its own\n  → aadbt login is for device-code and browser environments/);
  const none = await cli(['login']);
  assert.is(none.code, 1);
  assert.match(none.stderr, /name the environment to sign in to/);
  const unknown = await cli(['login', 'nope']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no environment 'nope'/);
});

test('no access or refresh token in any output, the agent logs, the audit log or the data dir', async () => {
  printed.push(agent.output());
  const dataFiles = readdirSync(join(dir.path, 'data'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile()).map((d) => readFileSync(join(d.parentPath, d.name)).toString('latin1'));
  const haystacks = [...printed.filter((p) => !p.startsWith('eyJ')), ...dataFiles]; // `aadbt token` prints its token on purpose
  const secrets = fake.issued();
  assert.ok(secrets.length >= 4);
  for (const secret of secrets) {
    for (const h of haystacks) assert.not.ok(h.includes(secret), `a token leaked into: ${h.slice(0, 120)}`);
  }
});

test.run();
