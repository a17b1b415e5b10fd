// `aadbt status [--json]`: the agent, its environments and each token's state.

import { parseArgs } from 'node:util';
import { formatDuration } from '../../duration.js';
import { EXIT } from '../../errors.js';
import { createAgentClient } from '../agent-client.js';
import { resolvePaths } from '../../config/config-paths.js';
import type { CliIo } from '../cli-io.js';

interface ScopeView { scope: string; state: string; expiresOn?: number; lastRefresh?: number; consecutiveFailures: number; lastError?: { code: string; message: string } }
interface StatusView {
  agent: { version: string; pid: number; socket: string; config: string; auditDb: string; devIdentityProvider: string | null };
  now: number;
  default: string | null;
  environments: { name: string; automation: boolean; credential: string; scopes: ScopeView[] }[];
}

const HELP = 'usage: aadbt status [--json] [--socket PATH]\n\nShows the running agent, its environments and each token\'s state. Never starts an agent.\n';

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const socket = values.socket ?? resolvePaths(io.env).socketPath;
  const status = await createAgentClient(socket).call<StatusView>('GET', '/v1/status');
  if (values.json) { io.out(JSON.stringify(status, null, 2) + '\n'); return EXIT.ok; }
  const lines = [
    `agent ${status.agent.version}, pid ${status.agent.pid}, socket ${status.agent.socket}`,
    `config ${status.agent.config}${status.agent.devIdentityProvider ? ` (dev identity provider ${status.agent.devIdentityProvider})` : ''}`,
    `audit  ${status.agent.auditDb}`,
    '',
  ];
  for (const env of status.environments) {
    lines.push(`${env.name}${env.name === status.default ? ' (default)' : ''}  ${env.credential}${env.automation ? ', automation' : ''}`);
    for (const s of env.scopes) {
      const left = s.expiresOn ? `${formatDuration(s.expiresOn - status.now)} left` : '';
      const err = s.lastError ? `  last error: ${s.lastError.message}` : '';
      lines.push(`  ${s.state.padEnd(10)} ${s.scope}  ${left}${err}`);
    }
  }
  io.out(lines.join('\n') + '\n');
  return EXIT.ok;
}
