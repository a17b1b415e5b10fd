// Group-based access and the automation guard through a real agent process, the CLI and the audit log.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/config/load-config.js';
import { ConfigError, EXIT } from '../../src/errors.js';
import { JWT_GROUPS_LIMIT } from '../../src/devidp/token-claims.js';
import {
  environmentYaml, FABRIC, isolatedEnv, runCli, socketRequest, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

const TEAM = '5a1e0000-0000-4000-8000-0000000000aa';
const OTHER = '5a1e0000-0000-4000-8000-0000000000bb';

let dir: TempDir;
let provider: Provider;
let agent: AgentProcess;
let env: NodeJS.ProcessEnv;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
  const { idp } = provider;
  const gated = (name: string, clientId: string, groups: string[]) => {
    const yaml = environmentYaml(provider, name, clientId, [
      `    graphHost: ${idp.url}/graph`,
      `    access: { groups: [${TEAM}] }`,
    ].join('\n'));
    idp.setGroups(clientId, groups);
    return yaml;
  };
  const many = Array.from({ length: JWT_GROUPS_LIMIT + 1 }, (_, i) => `9000${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`);
  const userEnv = environmentYaml(provider, 'robots', 'a-person', '    automation: true');
  idp.registerClient({ clientId: 'a-person', idtyp: 'user', upn: 'ada@dev.aadbt.local', secret: readSecret('a-person') });
  dir.file('config.yaml', [
    'environments:',
    gated('team', 'member-app', [OTHER, TEAM]),
    gated('outsiders', 'outsider-app', [OTHER]),
    gated('big', 'overage-app', [...many, TEAM]),
    gated('big-out', 'overage-outsider', many),
    userEnv,
    '',
  ].join('\n'));
  env = isolatedEnv(dir);
  agent = await spawnAgent(env);
});
test.after(async () => {
  await agent?.stop();
  await provider?.idp.close();
  dir?.remove();
});

function readSecret(clientId: string): string {
  return readFileSync(join(dir.path, `${clientId}.secret`), 'utf8').trim();
}

async function auditRows(action: string): Promise<{ env: string; action: string; outcome: string; detail: string | null }[]> {
  const listed = await runCli(['audit', 'list', '--action', action, '--json'], env);
  assert.is(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout);
}

test('a member is served; a non-member gets exit 3, HTTP 403 and a deny row naming the environment and the group', async () => {
  const served = await runCli(['token', 'team'], env);
  assert.is(served.code, 0, served.stderr);
  assert.match(served.stdout, /^eyJ/);

  const denied = await runCli(['token', 'outsiders'], env);
  assert.is(denied.code, EXIT.denied, denied.stderr);
  assert.match(denied.stderr, /environment 'outsiders' is limited to members of/);
  assert.ok(denied.stderr.includes(TEAM), denied.stderr);
  assert.match(denied.stderr, /→ ask an owner/);
  assert.is(denied.stdout, '');

  const raw = await socketRequest(agent.socketPath, 'POST', '/v1/environments/outsiders/token', JSON.stringify({ scope: FABRIC }));
  assert.is(raw.status, 403);
  assert.is(raw.json.error.code, 'ACCESS_DENIED');
  assert.not.match(raw.body, /eyJ/);

  const rows = (await auditRows('deny')).filter((r) => r.env === 'outsiders');
  assert.ok(rows.length >= 2, 'one deny row per refusal');
  assert.is(rows[0].outcome, 'denied');
  assert.ok(String(rows[0].detail).includes(TEAM), String(rows[0].detail));
});

test(`overage (over ${JWT_GROUPS_LIMIT} groups) is resolved through the fake Graph, for members and non-members`, async () => {
  const before = provider.idp.graphRequests();
  const served = await runCli(['token', 'big'], env);
  assert.is(served.code, 0, served.stderr);
  assert.ok(provider.idp.graphRequests() > before, 'Graph was asked');
  const denied = await runCli(['token', 'big-out'], env);
  assert.is(denied.code, EXIT.denied, denied.stderr);
  assert.ok(denied.stderr.includes(TEAM));
  const afterTwo = provider.idp.graphRequests();
  assert.is((await runCli(['token', 'big'], env)).code, 0);
  assert.is(provider.idp.graphRequests(), afterTwo, 'the second request inside the cache window does not ask Graph');
});

test('automation: true refuses a user token at run time (exit 3, deny row), though the provider issued it', async () => {
  const denied = await runCli(['token', 'robots'], env);
  assert.is(denied.code, EXIT.denied, denied.stderr);
  assert.match(denied.stderr, /environment 'robots' is for automation, and this token belongs to a person \(ada@dev\.aadbt\.local\)/);
  assert.match(denied.stderr, /→ use a workload identity/);
  const rows = (await auditRows('deny')).filter((r) => r.env === 'robots');
  assert.is(rows.length, 1);
});

test('automation: true with an interactive credential is refused at config check', () => {
  for (const type of ['device-code', 'browser']) {
    try {
      parseConfig(`environments:\n  prod:\n    tenant: t\n    automation: true\n    credential: { type: ${type} }\n    tokens: { A: "${FABRIC}" }\n`, 'c.yaml');
      assert.unreachable(type);
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.match((err as ConfigError).message, new RegExp(`'${type}' is a person's sign-in, and this environment has automation: true → use workload-identity`));
    }
  }
});

test('CI=true with device-code: the agent refuses to start and points to workload identity', async () => {
  const ciDir = tempDir();
  try {
    ciDir.file('config.yaml', `environments:\n  dev:\n    tenant: contoso.onmicrosoft.com\n    credential: { type: device-code }\n    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }\n`);
    const ciEnv = isolatedEnv(ciDir, { CI: 'true' });
    const started = await runCli(['agent', '--foreground', '--status-port', '0'], ciEnv);
    assert.is(started.code, EXIT.usage, started.stderr);
    assert.match(started.stderr, /'device-code' needs a person at a browser, and this is CI \(CI=true\) → use workload-identity/);
    for (const check of [['agent', '--check'], ['config', 'check']]) {
      const checked = await runCli(check, ciEnv);
      assert.is(checked.code, EXIT.usage, check.join(' '));
      assert.match(checked.stderr, /use workload-identity/, check.join(' '));
    }
    const outsideCi = await runCli(['config', 'check'], isolatedEnv(ciDir));
    assert.is(outsideCi.code, EXIT.ok, 'the same config is fine on a workstation');
  } finally {
    ciDir.remove();
  }
});

test('no secret or token in the agent log, the audit log, or any refusal the CLI printed', async () => {
  const refusals = await Promise.all(['outsiders', 'big-out', 'robots'].map((name) => runCli(['token', name], env)));
  const dataFiles = readdirSync(join(dir.path, 'data')).map((f) => readFileSync(join(dir.path, 'data', f)).toString('latin1'));
  const haystacks = [agent.output(), ...refusals.flatMap((r) => [r.stdout, r.stderr]), ...dataFiles, (await runCli(['audit', 'list', '--json'], env)).stdout];
  const secrets = [
    ...provider.idp.issuedTokens(),
    ...readdirSync(dir.path).filter((f) => f.endsWith('.secret')).map((f) => readFileSync(join(dir.path, f), 'utf8').trim()),
  ];
  assert.ok(secrets.length > 8);
  for (const secret of secrets) for (const h of haystacks) assert.not.ok(h.includes(secret), `leaked into: ${h.slice(0, 100)}`);
  for (const h of haystacks) assert.not.match(h, /eyJ[\w-]{10,}\.[\w-]{10,}/, 'nothing JWT-shaped');
});

test.run();
