// aadbt exec: environment from dbt's --target, exit codes and signals, the audit trail and dbt's run results.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuditStore } from '../../src/audit/audit-store.js';
import {
  BIN, DATABRICKS, environmentYaml, FABRIC, isolatedEnv, runCli, spawnAgent, startProvider, tempDir,
  type AgentProcess, type Provider, type TempDir,
} from '../support/harness.js';

let dir: TempDir;
let provider: Provider;
let agent: AgentProcess;
let env: NodeJS.ProcessEnv;
let binDir: string;

// A stand-in for dbt: prints what it was given, writes run results, exits or waits as told.
const FAKE_DBT = `#!/bin/sh
printf '%s\\n' "AADBT_ENV=$AADBT_ENV" "FABRIC=$DBT_ENV_SECRET_FABRIC_TOKEN" "DATABRICKS=$DBT_ENV_SECRET_DATABRICKS_TOKEN" "PATH=$PATH" > "$DBT_OUT"
case "$DBT_MODE" in
  results)
    mkdir -p target
    cat > target/run_results.json <<'JSON'
{"metadata": {"invocation_id": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"},
 "results": [
  {"unique_id": "model.shop.orders", "status": "success", "execution_time": 1.5, "adapter_response": {"rows_affected": 120}},
  {"unique_id": "model.shop.customers", "status": "success", "execution_time": 0.7, "adapter_response": {}},
  {"unique_id": "model.shop.revenue", "status": "error", "execution_time": 0.1}
 ]}
JSON
    ;;
  broken-results) mkdir -p target; echo '{not json' > target/run_results.json ;;
  exit3) exit 3 ;;
  wait-term) trap 'echo got-term > "$DBT_OUT.term"; exit 7' TERM; touch "$DBT_OUT.ready"; while :; do sleep 1; done ;;
esac
exit 0
`;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
  env = isolatedEnv(dir);
  dir.file('config.yaml', [
    'default: dev',
    'environments:',
    environmentYaml(provider, 'dev', 'exec-dev', '    targets: [dev]'),
    environmentYaml(provider, 'prod', 'exec-prod', '    targets: [prod]', { DBT_ENV_SECRET_FABRIC_TOKEN: FABRIC, DBT_ENV_SECRET_DATABRICKS_TOKEN: DATABRICKS }),
  ].join('\n') + '\n');
  binDir = join(dir.path, 'bin');
  mkdirSync(binDir);
  dir.file('bin/dbt', FAKE_DBT, 0o755);
  env.PATH = `${binDir}:${env.PATH}`;
  agent = await spawnAgent(env);
});

test.after(async () => {
  await agent?.stop();
  await provider?.idp.close();
  dir?.remove();
});

const outputOf = (file: string) => Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

test('dbt build --target prod runs in prod, chosen from targets:', async () => {
  const out = join(dir.path, 'prod.out');
  const result = await runCli(['exec', '--', 'dbt', 'build', '--target', 'prod'], { ...env, DBT_OUT: out });
  assert.is(result.code, 0, result.stderr);
  const seen = outputOf(out);
  assert.is(seen.AADBT_ENV, 'prod');
  assert.ok(provider.idp.issuedTokens().includes(seen.FABRIC));
  assert.ok(provider.idp.issuedTokens().includes(seen.DATABRICKS));
  assert.ok(seen.PATH.startsWith(join(env.AADBT_DATA_DIR!, 'shim')), 'the az shim is first on PATH');
});

const targetForms: [string[], string][] = [
  [['dbt', 'run', '-t', 'prod'], 'prod'],
  [['dbt', 'run', '--target=prod'], 'prod'],
  [['dbt', 'run'], 'dev'],
];
for (const [command, expected] of targetForms) {
  test(`${command.join(' ')} → ${expected}`, async () => {
    const out = join(dir.path, `t-${expected}-${command.length}.out`);
    const result = await runCli(['exec', '--', ...command], { ...env, DBT_OUT: out });
    assert.is(result.code, 0, result.stderr);
    assert.is(outputOf(out).AADBT_ENV, expected);
  });
}

test('exit codes pass through', async () => {
  const result = await runCli(['exec', 'dev', '--', 'dbt', 'run'], { ...env, DBT_OUT: join(dir.path, 'x.out'), DBT_MODE: 'exit3' });
  assert.is(result.code, 3);
});

test('SIGTERM is forwarded to the command, and its status comes back', async () => {
  const out = join(dir.path, 'term.out');
  const child = spawn(process.execPath, [BIN, 'exec', 'dev', '--', 'dbt', 'run'], { env: { ...env, DBT_OUT: out, DBT_MODE: 'wait-term' }, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  for (let i = 0; i < 400 && !existsSync(`${out}.ready`); i++) await new Promise((r) => setTimeout(r, 25)); // readiness poll
  child.kill('SIGTERM');
  assert.is(await exited, 7);
  assert.is(readFileSync(`${out}.term`, 'utf8').trim(), 'got-term');
});

test('refuses to nest a different environment', async () => {
  const result = await runCli(['exec', 'prod', '--', 'true'], { ...env, AADBT_EXEC_ENV: 'dev' });
  assert.is(result.code, 1);
  assert.match(result.stderr, /refusing to nest environment 'prod'/);
});

test('exec-start, exec-end and one model row per dbt result, linked to the run and its principal', async () => {
  const workdir = join(dir.path, 'project');
  mkdirSync(workdir);
  const result = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'exec', 'prod', '--', 'dbt', 'build', '--vars', '{"api_key": "abcdefghijklmnopqrstuvwxyz0123456789"}'],
      { env: { ...env, DBT_OUT: join(dir.path, 'r.out'), DBT_MODE: 'results' }, cwd: workdir, stdio: 'ignore' });
    child.once('exit', resolve);
  });
  assert.is(result, 0);
  const store = createAuditStore({ path: join(env.AADBT_DATA_DIR!, 'audit.db'), readonly: true });
  try {
    const models = store.list({ action: 'model', env: 'prod' });
    assert.is(models.length, 3);
    const details = models.map((m) => JSON.parse(m.detail!));
    assert.ok(details.every((d) => d.invocationId === '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'));
    assert.equal(details.map((d) => d.uniqueId).sort(), ['model.shop.customers', 'model.shop.orders', 'model.shop.revenue']);
    assert.is(details.find((d) => d.uniqueId === 'model.shop.orders').rowsAffected, 120);
    assert.ok(models.every((m) => m.principal_app === 'exec-prod'), 'the principal of the run\'s token');
    const [end] = store.list({ action: 'exec-end', env: 'prod', limit: 1 });
    const endDetail = JSON.parse(end.detail!);
    assert.is(endDetail.exitCode, 0);
    assert.is(endDetail.invocationId, '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0');
    assert.ok(details.every((d) => d.execId === endDetail.execId), 'models linked to the exec');
    const [start] = store.list({ action: 'exec-start', env: 'prod', limit: 1 });
    assert.not.ok(start.detail!.includes('abcdefghijklmnopqrstuvwxyz0123456789'), 'secret-looking argument masked');
  } finally {
    await store.close();
  }
});

test('a malformed run_results.json is a warning, never a crash', async () => {
  const workdir = join(dir.path, 'broken');
  mkdirSync(workdir);
  const code = await new Promise<number | null>((resolve) => {
    let stderr = '';
    const child = spawn(process.execPath, [BIN, 'exec', 'dev', '--', 'dbt', 'run'], { env: { ...env, DBT_OUT: join(dir.path, 'b.out'), DBT_MODE: 'broken-results' }, cwd: workdir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('exit', (c) => { assert.match(stderr, /warning: .*run_results\.json: not valid JSON; models not recorded/); resolve(c); });
  });
  assert.is(code, 0);
});

test.run();
