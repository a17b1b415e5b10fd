// `aadbt status [--json]`: the agent, its environments and each token's state.

import { parseArgs } from 'node:util';
import { formatDuration } from '../../duration.js';
import { EXIT } from '../../errors.js';
import { createAgentClient } from '../agent-client.js';
import { resolvePaths } from '../../config/config-paths.js';
import type { CliIo } from '../cli-io.js';

interface ScopeView {
  scope: string; state: string; expiresOn?: number; lastRefresh?: number; nextRefresh?: number; consecutiveFailures: number;
  lastError?: { code: string; message: string }; principal?: { appid?: string; upn?: string; oid?: string };
}
interface StatusView {
  agent: { version: string; pid: number; startedAt?: number; socket: string; config: string; auditDb: string; devIdentityProvider: string | null; statusUrl?: string | null };
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
  io.out(renderStatus(status));
  return EXIT.ok;
}

/** The agent's facts, then one row per (environment, scope), then the last errors in full. */
function renderStatus(status: StatusView): string {
  const a = status.agent;
  const ago = (t?: number) => (t ? formatDuration(Math.max(0, status.now - t)) + ' ago' : '-');
  const lines = [
    `aadbt agent ${a.version} · pid ${a.pid}${a.startedAt ? ` · up ${formatDuration(status.now - a.startedAt)}` : ''}`,
    `  socket  ${a.socket}`,
    `  config  ${a.config}${a.devIdentityProvider ? `  (embedded dev identity provider ${a.devIdentityProvider})` : ''}`,
    `  audit   ${a.auditDb}`,
    ...(a.statusUrl ? [`  status  ${a.statusUrl}`] : []),
    '',
  ];
  const rows = [['ENVIRONMENT', 'CREDENTIAL', 'SCOPE', 'STATE', 'EXPIRES IN', 'REFRESHED', 'NEXT REFRESH', 'PRINCIPAL']];
  const errors: string[] = [];
  for (const env of status.environments) {
    const name = `${env.name}${env.name === status.default ? '*' : ''}`;
    env.scopes.forEach((s, i) => {
      rows.push([
        i === 0 ? name : '', i === 0 ? `${env.credential}${env.automation ? ' (automation)' : ''}` : '', shortScope(s.scope), s.state,
        s.expiresOn && s.expiresOn > status.now ? formatDuration(s.expiresOn - status.now) : '-', ago(s.lastRefresh),
        s.nextRefresh ? `in ${formatDuration(Math.max(0, s.nextRefresh - status.now))}` : '-',
        s.principal?.upn ?? s.principal?.appid ?? s.principal?.oid ?? '-',
      ]);
      if (s.lastError) errors.push(`  ${env.name} ${shortScope(s.scope)}: ${s.lastError.code}: ${s.lastError.message}${s.consecutiveFailures ? ` (${s.consecutiveFailures} failures in a row)` : ''}`);
    });
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  lines.push(...rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()));
  lines.push('', '* the default environment');
  if (errors.length) lines.push('', 'last errors:', ...errors);
  return lines.join('\n') + '\n';
}

function shortScope(scope: string): string {
  return scope.replace(/^https:\/\//, '').replace(/\/\.default$/, '');
}
