// Runs every compiled test file in its own process and ends with the plain line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;

function findTests(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return findTests(p);
    return name.endsWith('.test.js') ? [p] : [];
  });
}

const logDir = mkdtempSync(join(tmpdir(), 'aadbt-test-logs-'));
let passed = 0, failed = 0, skipped = 0;
for (const file of findTests(root).filter((f) => !filter || filter.test(f))) {
  const name = relative(root, file);
  process.stdout.write(`\n# ${name}\n`);
  // Output goes to a file, not a pipe: a process a test leaves behind must not hold the run open.
  const outFile = join(logDir, name.replace(/[\\/]/g, '_') + '.log');
  const fd = openSync(outFile, 'w');
  const run = spawnSync(process.execPath, [file], { stdio: ['ignore', fd, fd], env: { ...process.env, FORCE_COLOR: '0' }, timeout: 600_000 });
  closeSync(fd);
  const output = readFileSync(outFile, 'utf8');
  process.stdout.write(output);
  // uvu prints "  Total:     N", "  Passed:    N", "  Skipped:   N" after each suite file.
  const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
  skipped += Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
  passed += ok;
  failed += total - ok;
  if (run.status !== 0 && total === ok) {
    failed += 1; // a crash outside any test case still fails the run
    process.stdout.write(`! ${name} exited with ${run.status ?? run.signal}\n`);
  }
}
rmSync(logDir, { recursive: true, force: true });
if (skipped) console.log(`\n${skipped} skipped`);
console.log(`\n${passed} passed, ${failed} failed`); // the last line, as CI reads it
process.exitCode = failed > 0 ? 1 : 0;
