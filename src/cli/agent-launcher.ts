// Starts an agent detached from the terminal and waits (bounded) until it answers on its socket.

import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AadbtPaths } from '../config/config-paths.js';
import { AadbtError, EXIT } from '../errors.js';
import { probeSocket } from '../agent/socket-listener.js';
import { AGENT_NODE_FLAGS } from './agent-node-flags.js';

const BIN = fileURLToPath(new URL('../../../bin/aadbt.js', import.meta.url));

/** Spawns `aadbt agent --foreground ARGS` detached, logging to the data dir; resolves with its pid once it answers. */
export async function startAgentInBackground(paths: AadbtPaths, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<number> {
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const logFile = join(paths.dataDir, 'agent.log');
  const fd = openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, BIN, 'agent', '--foreground', ...args], {
    detached: true, stdio: ['ignore', fd, fd], env: { ...env, AADBT_SOCKET: paths.socketPath },
  });
  closeSync(fd);
  let exited: number | null = null;
  child.once('exit', (code) => { exited = code ?? 1; });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probeSocket(paths.socketPath, 500)) return child.pid!;
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, 50)); // polling a readiness condition, not waiting for time to pass
  }
  throw new AadbtError(exited !== null ? `the agent exited during start (code ${exited})` : `the agent did not answer within ${timeoutMs / 1000}s`,
    { code: 'AGENT_START_FAILED', hint: `see ${logFile}`, exitCode: EXIT.unreachable, status: 503 });
}
