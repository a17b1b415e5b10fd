// Runs every compiled test file in its own process and ends with the plain line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

let passed = 0, failed = 0, skipped = 0;
for (const file of findTests(root).filter((f) => !filter || filter.test(f))) {
  const name = relative(root, file);
  process.stdout.write(`\n# ${name}\n`);
  const run = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 600_000 });
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  // uvu prints "  Total:     N", "  Passed:    N", "  Skipped:   N" after each suite file.
  const total = Number(/Total:\s+(\d+)/.exec(run.stdout)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(run.stdout)?.[1] ?? 0);
  skipped += Number(/Skipped:\s+(\d+)/.exec(run.stdout)?.[1] ?? 0);
  passed += ok;
  failed += total - ok;
  if (run.status !== 0 && total === ok) {
    failed += 1; // a crash outside any test case still fails the run
    process.stdout.write(`! ${name} exited with ${run.status ?? run.signal}\n`);
  }
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
