// `aadbt doctor` against a real agent and dev identity providers: a healthy environment and one per misconfiguration.

import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tokenFindings } from '../../src/cli/commands/doctor.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { decodeClaims } from '../../src/tokens/token-cache.js';
import { makeCertificate } from '../support/fake-certificate.js';
import {
  DATABRICKS, environmentYaml, FABRIC, isolatedEnv, runCli, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

const TEAM = '5a1e0000-0000-4000-8000-0000000000aa';
const OTHER_TENANT = '0be70000-0000-4000-8000-00000000beef';
const SKEW_MS = 10 * 60_000;
const LINE = /^(ok|warn|fail) +\S/;

let dir: TempDir;
let provider: Provider;
let skewed: Provider;
let agent: AgentProcess;
let env: NodeJS.ProcessEnv;
let expiredCertFile: string;
let openSecretFile: string;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
  // A provider whose clock runs 10 minutes ahead of this machine's (an injected clock, no waiting), in another tenant.
  skewed = await startProvider(tempDir(), { clock: { now: () => Date.now() + SKEW_MS, setTimeout: systemClock.setTimeout }, tenantId: OTHER_TENANT });
  const { idp } = provider;

  const healthy = environmentYaml(provider, 'healthy', 'healthy-app', [
    '    automation: true',
    `    graphHost: ${idp.url}/graph`,
    `    access: { groups: [${TEAM}] }`,
  ].join('\n'), { DBT_ENV_SECRET_FABRIC_TOKEN: FABRIC, DBT_ENV_SECRET_DATABRICKS_TOKEN: DATABRICKS });
  idp.setGroups('healthy-app', [TEAM]);
  const wrongScope = environmentYaml(provider, 'wrongscope', 'scope-app', '', { DBT_ENV_SECRET_FABRIC_TOKEN: 'https://unknown.example/.default' });
  const wrongTenant = environmentYaml(provider, 'wrongtenant', 'tenant-app').replace(`tenant: ${idp.tenantId}`, `tenant: ${OTHER_TENANT}`);
  const openSecret = environmentYaml(provider, 'opensecret', 'open-app');
  openSecretFile = `${dir.path}/open-app.secret`;
  chmodSync(openSecretFile, 0o644);

  const cert = await makeCertificate({ notBefore: new Date(Date.now() - 400 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  expiredCertFile = dir.file('expired.pem', cert.combinedPem);
  idp.registerCertificate('cert-app', cert.certPem);
  const expiredCert = [
    '  expiredcert:',
    `    tenant: ${idp.tenantId}`,
    `    authorityHost: ${idp.url}`,
    `    authorityCaFile: ${provider.caFile}`,
    `    credential: { type: client-certificate, clientId: cert-app, certificateFile: ${expiredCertFile} }`,
    `    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }`,
  ].join('\n');
  const skewedEnv = [
    '  skewed:',
    `    tenant: ${skewed.idp.tenantId}`,
    `    authorityHost: ${skewed.idp.url}`,
    `    authorityCaFile: ${skewed.caFile}`,
    `    credential: { type: client-secret, clientId: skew-app, secretFile: ${skewed.secretFile('skew-app')} }`,
    `    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }`,
  ].join('\n');

  dir.file('config.yaml', ['environments:', healthy, wrongScope, wrongTenant, openSecret, expiredCert, skewedEnv, ''].join('\n'));
  env = isolatedEnv(dir);
  agent = await spawnAgent(env);
});
test.after(async () => {
  await agent?.stop();
  await provider?.idp.close();
  await skewed?.idp.close();
  dir?.remove();
});

async function doctor(name: string): Promise<{ code: number; lines: string[]; stdout: string; stderr: string }> {
  const r = await runCli(['doctor', name], env);
  const lines = r.stdout.trimEnd().split('\n');
  for (const line of lines) assert.match(line, LINE, `every line is ok|warn|fail: ${line}`);
  return { ...r, lines };
}

const failures = (lines: string[]) => lines.filter((l) => l.startsWith('fail'));

test('a healthy environment: every line ok, exit 0', async () => {
  const r = await doctor('healthy');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(failures(r.lines), []);
  const text = r.stdout;
  for (const expected of [
    /ok +config .* is valid/, /ok +agent answers/, /ok +healthy: .*healthy-app\.secret is private \(mode 0600\)/,
    new RegExp(`ok +healthy: tenant ${provider.idp.tenantId} is known`), /ok +healthy: clock within \d+s of the identity provider/,
    /ok +healthy: token for https:\/\/database\.windows\.net\/\.default: audience https:\/\/database\.windows\.net\/ matches/,
    /ok +healthy: token for 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d\/\.default: audience 2ff814a6/,
    /ok +healthy: an app identity, as automation: true requires/, /ok +healthy: tokens live 1h/, /ok +healthy: member of a required group/,
  ]) assert.match(text, expected);
  assert.not.match(text, /eyJ/, 'no token is printed');
});

test('each misconfiguration is one fail line with its fix, and exit 1', async () => {
  const cases: [string, RegExp][] = [
    ['wrongscope', /^fail +wrongscope: token for https:\/\/unknown\.example\/\.default: .*the resource \(scope\) is not known in this tenant \(AADSTS500011\)  → check the scope in tokens:/],
    ['wrongtenant', new RegExp(`^fail +wrongtenant: .* does not know tenant '${OTHER_TENANT}' \\(AADSTS90002\\)  → set tenant: to your directory's GUID`)],
    ['opensecret', /^fail +opensecret: .*open-app\.secret is readable by everyone \(mode 0644\), and it holds a credential  → chmod 600 .*open-app\.secret$/],
    ['expiredcert', /^fail +expiredcert: the certificate [0-9A-F]{40} in .*expired\.pem expired on \d{4}-.*  → make a new certificate, upload its public part/],
    ['skewed', /^fail +skewed: this machine's clock is 10m(0\ds)? behind the identity provider .* → turn on time sync: sudo timedatectl set-ntp true/],
  ];
  for (const [name, expected] of cases) {
    const r = await doctor(name);
    assert.is(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.ok(failures(r.lines).some((l) => expected.test(l)), `${name}:\n${r.stdout}`);
    assert.not.match(r.stdout + r.stderr, /eyJ|dev8Q~|PRIVATE KEY/, `${name}: no token, secret or key in the output`);
  }
});

test('no secret, key or token in the agent log or the audit log after the doctor ran', () => {
  const haystacks = [agent.output(), ...readdirSync(join(dir.path, 'data')).map((f) => readFileSync(join(dir.path, 'data', f)).toString('latin1'))];
  const secrets = [...provider.idp.issuedTokens(), ...skewed.idp.issuedTokens(),
    ...['healthy-app', 'scope-app', 'tenant-app', 'open-app'].map((c) => readFileSync(join(dir.path, `${c}.secret`), 'utf8').trim())];
  for (const secret of secrets) for (const h of haystacks) assert.not.ok(h.includes(secret), `leaked into: ${h.slice(0, 100)}`);
  for (const h of haystacks) assert.not.match(h, /PRIVATE KEY|eyJ[\w-]{10,}\.[\w-]{10,}/);
});

test('--json: the same findings as data, ok false when something fails', async () => {
  const r = await runCli(['doctor', 'opensecret', '--json'], env);
  assert.is(r.code, 1);
  const report = JSON.parse(r.stdout) as { ok: boolean; findings: { verdict: string; env?: string; what: string; fix?: string }[] };
  assert.is(report.ok, false);
  const open = report.findings.find((f) => f.verdict === 'fail' && f.env === 'opensecret');
  assert.is(open?.fix, `chmod 600 ${openSecretFile}`);
  const healthy = JSON.parse((await runCli(['doctor', 'healthy', '--json'], env)).stdout) as { ok: boolean };
  assert.is(healthy.ok, true);
});

test('without an agent: a warning that token checks were skipped, file checks still run', async () => {
  const r = await runCli(['doctor', 'opensecret'], { ...env, AADBT_SOCKET: `${dir.path}/nowhere/agent.sock` });
  assert.is(r.code, 1);
  assert.match(r.stdout, /warn +no agent at .*token checks skipped  → start one with `aadbt agent`/);
  assert.match(r.stdout, /fail +opensecret: .*chmod 600/);
  const unknown = await runCli(['doctor', 'nope'], env);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no environment 'nope'\n  → known environments: healthy, wrongscope/);
});

test('with no config file, the demo environments that `npm start` serves are checked', async () => {
  const demoDir = tempDir();
  const { AADBT_CONFIG, ...demoEnv } = isolatedEnv(demoDir); // no config anywhere: the quick start
  void AADBT_CONFIG;
  const demo = await spawnAgent(demoEnv, ['--dev']);
  try {
    const r = await runCli(['doctor', 'dev'], demoEnv);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^warn +no config at .*config\.yaml: checking the demo environments of `aadbt agent --dev`  → for your tenant, create that file/m);
    assert.match(r.stdout, /^ok +dev: token for https:\/\/database\.windows\.net\/\.default: audience https:\/\/database\.windows\.net\/ matches$/m);
  } finally {
    await demo.stop('SIGTERM');
    demoDir.remove();
  }
});

test('token claims: a token of another tenant, or for another audience, fails with the fix', async () => {
  const config = parseConfig(`environments:\n  prod:\n    tenant: ${provider.idp.tenantId}\n    automation: true\n    credential: { type: client-secret, clientId: a, secretEnv: S }\n    tokens: { A: "${FABRIC}" }\n`, 'c.yaml');
  const prod = config.environments.prod;
  const mint = async (idp: DevIdp, clientId: string, scope: string, shape: { idtyp?: 'user' } = {}) => {
    idp.registerClient({ clientId, ...shape });
    return decodeClaims((await idp.mintToken(clientId, scope)).accessToken);
  };
  const rows: [string, Record<string, unknown>, RegExp][] = [
    ['other tenant', await mint(skewed.idp, 'elsewhere', FABRIC), new RegExp(`^the token is from tenant ${OTHER_TENANT}, and the config says ${provider.idp.tenantId}`)],
    ['other audience', await mint(provider.idp, 'aud-app', DATABRICKS), /^token for https:\/\/database\.windows\.net\/\.default is for audience 2ff814a6/],
    ['a person', await mint(provider.idp, 'person', FABRIC, { idtyp: 'user' }), /^a user identity \(a person\) in an automation environment/],
  ];
  for (const [what, claims, expected] of rows) {
    const fails = tokenFindings(prod, FABRIC, claims).filter((f) => f.verdict === 'fail');
    assert.is(fails.length, 1, what);
    assert.match(fails[0].what, expected, what);
    assert.ok(fails[0].fix, what);
  }
  assert.equal(tokenFindings(prod, FABRIC, await mint(provider.idp, 'fine', FABRIC)).filter((f) => f.verdict !== 'ok'), []);
});

test.run();
