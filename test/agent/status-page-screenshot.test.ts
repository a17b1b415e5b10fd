// The status page as a person sees it: the demo agent's page rendered by headless Chromium, its DOM checked and a screenshot kept.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isolatedEnv, runCli, spawnAgent, tempDir, type AgentProcess, type TempDir } from '../support/harness.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test/artifacts/', import.meta.url));
const SCREENSHOT = join(ARTIFACTS, 'status-page.png');

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

const chromium = onPath('chromium');

let dir: TempDir;
let agent: AgentProcess;
let url: string;

/** Runs headless Chromium with a private profile; returns its stdout. */
function browse(args: string[]): string {
  const result = spawnSync(chromium!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', '--mute-audio',
    `--user-data-dir=${join(dir.path, 'chromium-profile')}`, '--window-size=1200,900', ...args, url,
  ], { encoding: 'utf8', timeout: 90_000 });
  assert.is(result.status, 0, `chromium failed: ${result.error ?? ''}\n${result.stderr}`);
  return result.stdout;
}

test.before(async () => {
  if (!chromium) return;
  dir = tempDir();
  // The demo environments: no config file, so --dev serves dev, ci and prod.
  const { AADBT_CONFIG, ...env } = isolatedEnv(dir);
  void AADBT_CONFIG;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  agent = await spawnAgent(env, ['--dev', '--status-port', String(port)]);
  for (let i = 0; i < 400 && !agent.output().includes('status page listening'); i++) await new Promise((r) => setTimeout(r, 25)); // readiness poll
  const logged = /"status page listening","url":"([^"]+)"/.exec(agent.output());
  assert.ok(logged, `the agent logs its status URL:\n${agent.output()}`);
  url = logged![1];
  // Give the page something to show: a served token, a denial, an untouched environment.
  assert.is((await runCli(['token', 'dev'], env)).code, 0);
  assert.is((await runCli(['token', 'prod'], env)).code, 3);
});

test.after(async () => {
  await agent?.stop();
  dir?.remove();
});

if (!chromium) {
  console.log('SKIP status page screenshot: `chromium` is not on PATH (Debian: apt-get install chromium)');
  test.skip('the status page renders the three demo environments in headless Chromium', () => {});
} else {
  test('the status page renders the three demo environments in headless Chromium', () => {
    const dom = browse(['--dump-dom']);
    const cards = [...dom.matchAll(/<section class="card st-(\w+)">[\s\S]*?<h2>([^<]+)/g)].map((m) => [m[2].trim(), m[1]]);
    assert.equal(cards, [['dev', 'fresh'], ['ci', 'cold'], ['prod', 'fresh']]);
    assert.match(dom, /last request denied/, 'prod shows its denial');
    assert.match(dom, /aadbt-demo-developer/, 'the principal');
    assert.match(dom, /\d+m\d*s? left/, 'time left on the dev token');
    assert.ok((dom.match(/<tr>/g)?.length ?? 0) >= 4, 'audit events listed');
  });

  test('a screenshot of the page is written under test/artifacts/ and is not blank', () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browse([`--screenshot=${SCREENSHOT}`]);
    const png = readFileSync(SCREENSHOT);
    assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    assert.is(png.readUInt32BE(16), 1200, 'width');
    assert.is(png.readUInt32BE(20), 900, 'height');
    // A blank 1200×900 page compresses to a few KB; text, badges and bars make it far larger.
    assert.ok(statSync(SCREENSHOT).size > 30_000, `screenshot is ${statSync(SCREENSHOT).size} bytes`);
  });
}

test.run();
