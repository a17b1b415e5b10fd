// Config validation: every problem at once, each naming the file, the line, the path and the fix.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isValidCron } from '../../src/agent/scheduler.js';
import { demoConfig } from '../../src/config/demo-config.js';
import { parseConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors.js';
import { isolatedEnv, runCli, tempDir } from '../support/harness.js';

const THREE_MISTAKES = `
agent: { status: { port: "x" } }
environments:
  prod:
    automation: true
    credential: { type: workload-identiy, clientId: abc, assertion: github-actions }
    tokens:
      dbt_token: https://database.windows.net/.default
`;

function problemsOf(yaml: string): string[] {
  try {
    parseConfig(yaml, 'config.yaml', { validateCron: isValidCron });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  assert.unreachable('the config should be refused');
  return [];
}

test('three mistakes are reported together, each with file and path', () => {
  const problems = problemsOf(THREE_MISTAKES);
  assert.is(problems.length, 3, problems.join('\n'));
  assert.match(problems.join('\n'), /agent\.status\.port: expected number, got string 'x'/);
  assert.match(problems.join('\n'), /config\.yaml:6: environments\.prod\.credential\.type: expected one of client-secret, /);
  assert.match(problems.join('\n'), /environments\.prod\.tokens\.dbt_token: variable names are A-Z/);
});

const cases: [string, string, RegExp][] = [
  ['unknown default', 'default: nope\nenvironments:\n  dev: { credential: { type: dev }, tokens: { A: "x/.default" } }\n', /default: names no environment \('nope'\) → use one of dev/],
  ['inline secret', 'environments:\n  dev: { credential: { type: client-secret, clientId: a, secret: hunter22 }, tokens: { A: "x/.default" } }\n', /credential\.secret: an inline secret is refused/],
  ['interactive in automation', 'environments:\n  ci: { automation: true, credential: { type: device-code }, tokens: { A: "x/.default" } }\n', /'device-code' is a person's sign-in.*→ use workload-identity/],
  ['bad cron', 'environments:\n  dev: { credential: { type: dev }, tokens: { A: "x/.default" }, refresh: { prewarm: "61 * * *" } }\n', /refresh\.prewarm: '61 \* \* \*' is not a cron expression/],
  ['bad duration', 'environments:\n  dev: { credential: { type: dev }, tokens: { A: "x/.default" }, minTtl: soon }\n', /minTtl: minTtl: 'soon' is not a duration/],
  ['unknown key', 'environments:\n  dev: { credential: { type: dev }, tokens: { A: "x/.default" }, tokenz: {} }\n', /environments\.dev: unknown key 'tokenz' → remove it or check the spelling/],
  ['YAML syntax', 'environments:\n  dev: { credential: [\n', /config\.yaml:\d+:\d+: /],
  ['duplicate target', 'environments:\n  a: { credential: { type: dev }, tokens: { A: "x/.default" }, targets: [prod] }\n  b: { credential: { type: dev }, tokens: { A: "x/.default" }, targets: [prod] }\n', /target 'prod' is already claimed by environment 'a'/],
];
for (const [name, yaml, expected] of cases) {
  test(`refused: ${name}`, () => {
    assert.match(problemsOf(yaml).join('\n'), expected);
  });
}

test('the secret value never appears in an error', () => {
  const problems = problemsOf('environments:\n  dev: { credential: { type: client-secret, clientId: a, secret: hunter22 }, tokens: { A: "x/.default" } }\n');
  assert.not.ok(problems.join('\n').includes('hunter22'));
});

test('the demo config is valid and frozen', () => {
  const config = demoConfig();
  assert.equal(Object.keys(config.environments), ['dev', 'ci', 'prod']);
  assert.is(config.default, 'dev');
  assert.ok(Object.isFrozen(config.environments.prod.tokens));
  assert.is(config.environments.ci.automation, true);
});

test('aadbt config check lists every problem and exits 1', async () => {
  const dir = tempDir();
  try {
    dir.file('config.yaml', THREE_MISTAKES);
    const result = await runCli(['config', 'check'], isolatedEnv(dir));
    assert.is(result.code, 1);
    assert.match(result.stderr, /3 problems in the config/);
    assert.match(result.stderr, /agent\.status\.port: expected number, got string 'x'/);
  } finally {
    dir.remove();
  }
});

test.run();
