// Finding the real Azure CLI on PATH, never aadbt's own az shim (which would ask the agent back).

import { readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Marks our own shim so the real az is found further down PATH. */
export const SHIM_MARKER = 'aadbt-az-shim';

function isShim(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').slice(0, 200).includes(SHIM_MARKER);
  } catch {
    return false;
  }
}

/** The first `az` on PATH that is not an aadbt shim. */
export function findRealAz(path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'az');
    try {
      if (statSync(candidate).isFile() && !isShim(candidate)) return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** PATH without the directories that hold an aadbt shim. */
export function pathWithoutShims(path: string): string {
  return path.split(delimiter).filter((dir) => dir && !isShim(join(dir, 'az'))).join(delimiter);
}
