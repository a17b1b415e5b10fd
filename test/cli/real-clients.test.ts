// The real clients dbt adapters use — azure-identity for Python and @azure/identity for Node — and git, through aadbt.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeClaims } from '../../src/tokens/token-cache.js';
import {
  BIN, environmentYaml, FABRIC, isolatedEnv, runCli, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DEBIAN_PYTHON = '/usr/bin/python3';
const DEVOPS = '499b84ac-1321-427f-aa17-267ca6975798/.default';
const hasPythonAzure = existsSync(DEBIAN_PYTHON) && spawnSync(DEBIAN_PYTHON, ['-c', 'import azure.identity'], { stdio: 'ignore' }).status === 0;

let dir: TempDir;
let provider: Provider;
let agent: AgentProcess;
let env: NodeJS.ProcessEnv;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
  env = isolatedEnv(dir);
  dir.file('config.yaml', `default: dev\nenvironments:\n${environmentYaml(provider, 'dev', 'clients-app', '', { DBT_ENV_SECRET_FABRIC_TOKEN: FABRIC, AZURE_DEVOPS_TOKEN: DEVOPS })}\n`
    + `${environmentYaml(provider, 'short', 'short-lived-app')}\n`);
  agent = await spawnAgent(env);
});

test.after(async () => {
  await agent?.stop();
  await provider?.idp.close();
  dir?.remove();
});

/** Runs a command under `aadbt exec dev`, returning its stdout as JSON. */
async function underExec(command: string[], extraEnv: NodeJS.ProcessEnv = {}, flags: string[] = [], envName = 'dev'): Promise<{ token: string; exp: number }> {
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'exec', envName, ...flags, '--', ...command], { env: { ...env, ...extraEnv }, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.is(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

const NODE_CLI = `import { AzureCliCredential } from '@azure/identity';
const t = await new AzureCliCredential().getToken('${FABRIC}');
console.log(JSON.stringify({ token: t.token, exp: t.expiresOnTimestamp / 1000 }));`;
const NODE_MSI = `import { ManagedIdentityCredential } from '@azure/identity';
const t = await new ManagedIdentityCredential().getToken('${FABRIC}');
console.log(JSON.stringify({ token: t.token, exp: t.expiresOnTimestamp / 1000 }));`;
const PY_CLI = `import json; from azure.identity import AzureCliCredential
t = AzureCliCredential().get_token('${FABRIC}'); print(json.dumps({"token": t.token, "exp": t.expires_on}))`;
const PY_MSI = `import json; from azure.identity import ManagedIdentityCredential
t = ManagedIdentityCredential().get_token('${FABRIC}'); print(json.dumps({"token": t.token, "exp": t.expires_on}))`;

const clients: [string, string[], string[], boolean][] = [
  ['Node AzureCliCredential through the az shim', [process.execPath, '--input-type=module', '-e', NODE_CLI], [], true],
  ['Node ManagedIdentityCredential through --msi', [process.execPath, '--input-type=module', '-e', NODE_MSI], ['--msi'], true],
  ['Python AzureCliCredential through the az shim', [DEBIAN_PYTHON, '-c', PY_CLI], [], hasPythonAzure],
  ['Python ManagedIdentityCredential through --msi', [DEBIAN_PYTHON, '-c', PY_MSI], ['--msi'], hasPythonAzure],
];
for (const [name, command, flags, available] of clients) {
  for (const tz of ['Pacific/Kiritimati', 'America/Los_Angeles']) {
    test(`${name} (TZ=${tz}) gets the agent's token with its exact expiry`, async () => {
      if (!available) {
        console.log(`skip: ${name}: Debian's python3-azure is not installed (apt-get install python3-azure)`);
        return;
      }
      const got = await underExec(command, { TZ: tz }, flags);
      assert.ok(provider.idp.issuedTokens().includes(got.token), 'a token the provider issued, via the agent');
      assert.is(Math.round(got.exp), decodeClaims(got.token).exp, 'parsed expiry equals the token\'s exp');
    });
  }
}

test('the az shim refuses an unconfigured resource, naming the configured ones', async () => {
  const result = await runCli(['az', 'account', 'get-access-token', '--resource', 'https://management.azure.com/'], { ...env, AADBT_ENV: 'dev' });
  assert.is(result.code, 1);
  assert.match(result.stderr, /does not hand out tokens for 'https:\/\/management\.azure\.com\/'/);
  assert.match(result.stderr, /configured scopes: https:\/\/database\.windows\.net\/\.default/);
});

test('the az shim prints nothing on stderr on success, and passes other commands on or refuses clearly', async () => {
  const ok = await runCli(['az', 'account', 'get-access-token', '--resource', 'https://database.windows.net', '--output', 'json'], env);
  assert.is(ok.code, 0);
  assert.is(ok.stderr, '');
  assert.equal(Object.keys(JSON.parse(ok.stdout)).sort(), ['accessToken', 'expiresOn', 'expires_on', 'tenant', 'tokenType']);
  const other = await runCli(['az', 'group', 'list'], { ...env, PATH: '/usr/bin:/bin' });
  assert.is(other.code, 1);
  assert.match(other.stderr, /no real Azure CLI on PATH for `az group list`/);
});

test('the --msi endpoint: 401 without the header, 400 for other resources, 421 for another Host, gone after exit', async () => {
  const probe = `const u = process.env.IDENTITY_ENDPOINT, h = process.env.IDENTITY_HEADER;
const get = (path, headers) => new Promise((res) => require('http').get(u.replace('/msi/token', '') + path, { headers }, (r) => { let b=''; r.on('data', d => b += d); r.on('end', () => res(r.statusCode)); }));
(async () => {
  const codes = [await get('/msi/token?api-version=2019-08-01&resource=https://database.windows.net', {}),
    await get('/msi/token?api-version=2019-08-01&resource=https://database.windows.net', { 'X-IDENTITY-HEADER': 'wrong' }),
    await get('/msi/token/?api-version=2019-08-01&resource=https://vault.azure.net', { 'X-IDENTITY-HEADER': h }),
    await get('/msi/token?api-version=2019-08-01&resource=https://database.windows.net', { 'X-IDENTITY-HEADER': h, Host: 'evil.example' }),
    await get('/msi/token/?api-version=2019-08-01&resource=https://database.windows.net', { 'X-IDENTITY-HEADER': h })];
  console.log(JSON.stringify({ token: JSON.stringify(codes), exp: 0, endpoint: u, secretShadowed: process.env.AZURE_CLIENT_SECRET === undefined }));
})();`;
  const result = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'exec', 'dev', '--msi', '--', process.execPath, '-e', probe], { env: { ...env, AZURE_CLIENT_SECRET: 'should-not-pass' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.once('close', () => resolve(out));
  });
  const parsed = JSON.parse(result.trim());
  assert.equal(JSON.parse(parsed.token), [401, 401, 400, 421, 200]);
  assert.ok(parsed.secretShadowed, 'AZURE_CLIENT_SECRET removed from the child');
  const gone = await new Promise<string>((resolve) => {
    request(parsed.endpoint, (r) => resolve(String(r.statusCode))).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error')).end();
  });
  assert.is(gone, 'ECONNREFUSED');
});

test('git credential fill gets an Azure DevOps token through the helper; other hosts get nothing', async () => {
  const gitEnv = { ...env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir.path, GIT_TERMINAL_PROMPT: '0' };
  const helper = `!${process.execPath} ${BIN} git-credential`;
  const fill = (host: string) => spawnSync('git', ['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, 'credential', 'fill'],
    { env: gitEnv, input: `protocol=https\nhost=${host}\npath=org/project/_git/repo\n\n`, encoding: 'utf8' });
  const azure = fill('dev.azure.com');
  assert.is(azure.status, 0, azure.stderr);
  const fields = Object.fromEntries(azure.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.ok(provider.idp.issuedTokens().includes(fields.password));
  assert.is(decodeClaims(fields.password).aud, DEVOPS.replace('/.default', ''));
  const other = fill('github.com');
  assert.is.not(other.status, 0, 'git found no credential for another host (no prompt allowed)');
});

// Real time on purpose: the agent runs in its own process with the system clock. Each wait is one second,
// shorter than the token's life; the broker's fake-clock tests cover the same policy in depth.
test('a dbt-like long run asking the shim every second across three 5-second lifetimes always gets an unexpired token', async () => {
  provider.idp.setTokenLifetime(5);
  try {
    const callsBefore = provider.idp.tokenRequests({ clientId: 'short-lived-app' });
    const loop = `const { execFileSync } = require('child_process');
const seen = new Set(); const bad = [];
const end = Date.now() + 15000;
(function next() {
  const t = JSON.parse(execFileSync('az', ['account', 'get-access-token', '--resource', 'https://database.windows.net', '--output', 'json'], { encoding: 'utf8' }));
  const exp = JSON.parse(Buffer.from(t.accessToken.split('.')[1], 'base64url')).exp;
  if (exp * 1000 <= Date.now()) bad.push(exp);
  seen.add(t.accessToken);
  if (Date.now() < end) setTimeout(next, 1000); else console.log(JSON.stringify({ token: JSON.stringify({ distinct: seen.size, bad }), exp: 0 }));
})();`;
    const got = await underExec([process.execPath, '-e', loop], {}, [], 'short');
    const { distinct, bad } = JSON.parse(got.token);
    assert.equal(bad, [], 'no expired token was handed out');
    assert.ok(distinct >= 3, `tokens were refreshed across lifetimes (saw ${distinct})`);
    const calls = provider.idp.tokenRequests({ clientId: 'short-lived-app' }) - callsBefore;
    assert.ok(calls <= distinct + 1, `refreshes follow use, not a loop (${calls} provider calls for ${distinct} tokens)`);
  } finally {
    provider.idp.setTokenLifetime(3600);
  }
});

test.run();
