// Starts an agent on demand, once, even when several CLIs race to do it (a lock file decides).

import { closeSync, existsSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AadbtPaths } from '../config/config-paths.js';
import { probeSocket } from '../agent/socket-listener.js';
import { startAgentInBackground } from './agent-launcher.js';

/** Ensures an agent answers on paths.socketPath; starts one if this process wins the start lock. */
export async function autostartAgent(paths: AadbtPaths, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<void> {
  mkdirSync(dirname(paths.socketPath), { recursive: true, mode: 0o700 });
  const lock = `${paths.socketPath}.starting`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probeSocket(paths.socketPath, 500)) return;
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch {
      // Another CLI is starting it; wait for the socket (or for a stale lock to age out).
      if (Date.now() > deadline) { try { unlinkSync(lock); } catch { /* gone already */ } }
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      if (await probeSocket(paths.socketPath, 500)) return;
      // With no config anywhere, the only agent that can start is the demo one.
      const dev = !paths.configExplicit && !existsSync(paths.configFile) ? ['--dev'] : [];
      await startAgentInBackground(paths, dev, env, timeoutMs);
      return;
    } finally {
      closeSync(fd);
      try { unlinkSync(lock); } catch { /* already removed */ }
    }
  }
}
