// Each shell format, evaluated by the real shell with adversarial values: exact variables, nothing executed.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { detectShell, isValidVariableName, renderExports, type Shell } from '../../src/deliver/shell-exports.js';
import { tempDir } from '../support/harness.js';
import { jwtShaped } from '../support/jwt-shaped.js';

const dir = tempDir();
const CANARY = join(dir.path, 'executed');

// Every value tries to break out of its quotes and run `touch CANARY`.
const ADVERSARIAL: Record<string, string> = {
  PLAIN: jwtShaped(),
  SINGLE_QUOTE: `it's'; touch ${CANARY}; echo '`,
  DOUBLE_QUOTE: `say "hi"; touch ${CANARY} "`,
  SUBSHELL: `$(touch ${CANARY})`,
  BACKTICKS: `\`touch ${CANARY}\``,
  NEWLINES: `line one\ntouch ${CANARY}\n\nlast`,
  BACKSLASHES: `C:\\path\\to\\'\\`,
  DOLLARS: '$HOME ${HOME} $$ $1',
  FISH_SPECIAL: `(touch ${CANARY}) {a,b} * ~ ; & | # %self`,
  EMPTY: '',
  UNICODE: 'Zürich – 東京 ‘curly’ “quotes”',
  CRLF: 'a\r\nb',
};

function which(program: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) if (existsSync(join(d, program))) return join(d, program);
  return undefined;
}

/** Evaluates `code` in `shell` and dumps the named variables as JSON (through node, so no shell re-quotes them). */
function evaluate(shell: string, code: string, names: string[]): Record<string, string | null> {
  const file = dir.file(`rendered-${shell}`, code);
  const dump = `${JSON.stringify(process.execPath)} -e 'console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((n) => [n, process.env[n] ?? null]))))' ${names.join(' ')}`;
  const script = shell === 'fish' ? `source ${file}; ${dump}` : shell === 'pwsh' ? `. ${file}; ${dump}` : `eval "$(cat ${file})"; ${dump}`;
  const args = shell === 'pwsh' ? ['-NoProfile', '-Command', script] : ['-c', script];
  const result = spawnSync(shell === 'sh' ? (which('dash') ?? 'sh') : shell, args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/home/nobody' } });
  assert.is(result.status, 0, `${shell}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

const shells: [Shell, string][] = [['sh', 'sh'], ['bash', 'bash'], ['zsh', 'zsh'], ['fish', 'fish'], ['pwsh', 'pwsh']];
for (const [format, program] of shells) {
  test(`${format}: adversarial values come out exact and run nothing`, () => {
    if (!which(program)) {
      console.log(`skip: ${program} is not installed (${program === 'pwsh' ? "PowerShell is not in Debian; Microsoft's package repository has it" : `apt-get install ${program}`})`);
      return;
    }
    const names = Object.keys(ADVERSARIAL);
    const got = evaluate(program, renderExports(ADVERSARIAL, format).stdout, names);
    assert.equal(got, ADVERSARIAL);
    assert.not.ok(existsSync(CANARY), 'something was executed');
    const unset = evaluate(program, renderExports(ADVERSARIAL, format).stdout + renderExports(ADVERSARIAL, format, { unset: true }).stdout, names);
    assert.equal(unset, Object.fromEntries(names.map((n) => [n, null])), '--unset removes them again');
  });
}

test('dotenv: read back by a POSIX shell with set -a', () => {
  const file = dir.file('vars.env', renderExports(ADVERSARIAL, 'dotenv').stdout);
  const result = spawnSync('bash', ['-c', `set -a; . ${file}; ${JSON.stringify(process.execPath)} -e 'console.log(JSON.stringify(process.env.SUBSHELL + "|" + process.env.NEWLINES))'`], { encoding: 'utf8' });
  assert.is(JSON.parse(result.stdout), `${ADVERSARIAL.SUBSHELL}|${ADVERSARIAL.NEWLINES}`);
  assert.not.ok(existsSync(CANARY));
});

test('json is the variables, exactly', () => {
  assert.equal(JSON.parse(renderExports(ADVERSARIAL, 'json').stdout), ADVERSARIAL);
});

test('github: masks go to stdout first, values to $GITHUB_ENV with a delimiter no value contains', () => {
  const vars = { TOKEN: 'abc.def.ghi', TRICKY: 'x\nAADBT_EOF\nINJECTED=1', AADBT_ENV: 'prod' };
  const rendered = renderExports(vars, 'github', { secretNames: new Set(['TOKEN', 'TRICKY']) });
  assert.is(rendered.stdout, '::add-mask::abc.def.ghi\n::add-mask::x\n::add-mask::AADBT_EOF\n::add-mask::INJECTED=1\n', 'one mask per line of a secret');
  // Parse $GITHUB_ENV the way the runner does: NAME<<DELIM … DELIM.
  const lines = rendered.githubEnv!.split('\n');
  const parsed: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const m = /^([A-Z_][A-Z0-9_]*)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value: string[] = [];
    for (i++; lines[i] !== m[2]; i++) value.push(lines[i]);
    parsed[m[1]] = value.join('\n');
  }
  assert.equal(parsed, vars);
});

test('azure-pipelines: secret variables, with logging-command escaping', () => {
  const out = renderExports({ TOKEN: 'a;b]c%d\r\ne', AADBT_ENV: 'ci' }, 'azure-pipelines', { secretNames: new Set(['TOKEN']) }).stdout;
  assert.is(out, '##vso[task.setvariable variable=TOKEN;issecret=true]a%3Bb%5Dc%AZP25d%0D%0Ae\n##vso[task.setvariable variable=AADBT_ENV]ci\n');
  assert.is(out.trim().split('\n').length, 2, 'one line per variable, whatever the value');
});

const names: [string, boolean][] = [['DBT_TOKEN', true], ['_X1', true], ['dbt_token', false], ['1ABC', false], ['A-B', false], ['A B', false], ['', false], ['A;B', false]];
for (const [name, valid] of names) test(`variable name ${JSON.stringify(name)} is ${valid ? 'accepted' : 'refused'}`, () => {
  assert.is(isValidVariableName(name), valid);
  if (!valid) assert.throws(() => renderExports({ [name]: 'x' }, 'bash'));
});

const detected: [string | undefined, Shell][] = [['/bin/bash', 'bash'], ['/usr/bin/zsh', 'zsh'], ['/usr/local/bin/fish', 'fish'], ['/opt/microsoft/powershell/7/pwsh', 'pwsh'], ['/bin/dash', 'sh'], [undefined, 'sh']];
for (const [path, shell] of detected) test(`$SHELL=${path} → ${shell}`, () => assert.is(detectShell(path), shell));

test.after(() => {
  if (existsSync(CANARY)) console.log(readFileSync(CANARY, 'utf8'));
  dir.remove();
});

test.run();
