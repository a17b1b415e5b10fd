// Reading dbt command lines: the target, the target path, and masking secrets for the audit log.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dbtTarget, dbtTargetPath, maskSecrets } from '../../src/cli/dbt-target.js';
import { parseDuration, formatDuration } from '../../src/duration.js';
import { jwtShaped } from '../support/jwt-shaped.js';

const targets: [string[], string | undefined][] = [
  [['dbt', 'build', '--target', 'prod'], 'prod'],
  [['dbt', 'build', '--target=prod'], 'prod'],
  [['dbt', 'run', '-t', 'ci'], 'ci'],
  [['dbt', 'run', '-tci'], 'ci'],
  [['/usr/local/bin/dbt', 'run', '-t', 'ci'], 'ci'],
  [['dbt', 'run'], undefined],
  [['make', 'build', '--target', 'prod'], undefined],
];
for (const [argv, expected] of targets) test(`dbtTarget ${argv.join(' ')}`, () => assert.is(dbtTarget(argv), expected));

test('dbtTargetPath: flag, then DBT_TARGET_PATH, then target', () => {
  assert.is(dbtTargetPath(['dbt', 'run', '--target-path', 'out'], {}), 'out');
  assert.is(dbtTargetPath(['dbt', 'run'], { DBT_TARGET_PATH: 'custom' }), 'custom');
  assert.is(dbtTargetPath(['dbt', 'run'], {}), 'target');
});

test('maskSecrets hides secret-looking values and keeps the rest', () => {
  assert.equal(maskSecrets(['dbt', 'run', '--password', 'hunter2', '--token=abc', '--select', 'orders']),
    ['dbt', 'run', '--password', '***', '--token=***', '--select', 'orders']);
  assert.equal(maskSecrets(['x', jwtShaped()]), ['x', '***']);
  assert.equal(maskSecrets(['--vars', '{"api_key": "s3cr3t", "days": 3}']), ['--vars', '{"api_key": "***", "days": 3}']);
  assert.equal(maskSecrets(['--vars', 'db_password: hunter2']), ['--vars', 'db_password: ***']);
  assert.equal(maskSecrets(['--vars', '{x: Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4MTIzNDU2}']), ['--vars', '{x: ***}']);
});

const durations: [string, number | undefined][] = [['90s', 90_000], ['15m', 900_000], ['1h30m', 5_400_000], ['400d', 400 * 86_400_000], ['45', 45_000], ['soon', undefined], ['5 m', undefined]];
for (const [text, ms] of durations) test(`parseDuration ${text}`, () => assert.is(parseDuration(text), ms));
test('formatDuration', () => assert.equal([12_000, 45 * 60_000, 65 * 60_000, 3 * 86_400_000].map(formatDuration), ['12s', '45m', '1h05m', '3d']));

test.run();
