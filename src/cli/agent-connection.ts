// Reaches the agent for a command: the socket from flags/env, and autostart when none answers.

import { agentSocketPath } from '../config/socket-path.js';
import { AgentUnreachable } from '../errors.js';
import { createAgentClient, type AgentClient } from './agent-client.js';

export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  socket?: string;
  /** Start an agent when none answers (default: on unless AADBT_NO_AUTOSTART=1). */
  autostart?: boolean;
}

/** Runs `use` against the agent, starting one (same config) first if none answers and autostart is on. */
export async function withAgent<T>(options: ConnectOptions, use: (client: AgentClient) => Promise<T>): Promise<T> {
  const env = options.socket ? { ...options.env, AADBT_SOCKET: options.socket } : options.env;
  const client = createAgentClient(agentSocketPath(env));
  try {
    return await use(client);
  } catch (err) {
    const autostart = options.autostart ?? !['1', 'true', 'yes'].includes(String(env.AADBT_NO_AUTOSTART ?? '').toLowerCase());
    if (!(err instanceof AgentUnreachable) || !autostart) throw err;
    const [{ autostartAgent }, { resolvePaths }] = await Promise.all([import('./agent-autostart.js'), import('../config/config-paths.js')]);
    await autostartAgent(resolvePaths(env), env);
    return use(client);
  }
}
