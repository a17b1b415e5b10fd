// The `az` wrapper script that puts aadbt in front of the Azure CLI for dbt adapters.

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SHIM_MARKER } from '../identity/real-az.js';

const BIN = fileURLToPath(new URL('../../../bin/aadbt.js', import.meta.url));
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function shimScript(): string {
  return `#!/bin/sh\n# ${SHIM_MARKER}: answers \`az account get-access-token\` from the aadbt agent; other az commands go to the real az.\nexec ${quote(process.execPath)} ${quote(BIN)} az "$@"\n`;
}

/** Writes DIR/az (atomically, only when it changed); returns its path. */
export function installShim(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const target = join(dir, 'az');
  const script = shimScript();
  let current: string | undefined;
  try { current = readFileSync(target, 'utf8'); } catch { current = undefined; }
  if (current !== script) {
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, script, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  }
  return target;
}
