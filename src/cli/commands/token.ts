// `aadbt token [ENV] [--scope S | --var NAME] [--json]`: prints one raw token.

import { parseArgs } from 'node:util';
import { DEFAULT_ENV, type TokenResponse } from '../../agent/api-contract.js';
import { EXIT, UsageError } from '../../errors.js';
import { withAgent } from '../agent-connection.js';
import { callerInfo } from '../caller-info.js';
import type { CliIo } from '../cli-io.js';
import { parseMinTtl } from '../cli-flags.js';

const HELP = `usage: aadbt token [ENV] [--scope S | --var NAME] [--min-ttl D] [--json] [--no-autostart]

Prints one raw access token of ENV (default: $AADBT_ENV, else the config's default).
  --scope S     a scope configured for ENV (default: its first)
  --var NAME    the scope of that token variable
  --min-ttl D   the token must live at least D (e.g. 45m)
  --json        print { token, expiresOn, scope, env, principal }
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      scope: { type: 'string' }, var: { type: 'string' }, 'min-ttl': { type: 'string' }, json: { type: 'boolean' },
      socket: { type: 'string' }, 'no-autostart': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  if (positionals.length > 1) throw new UsageError(`one environment at most, got ${positionals.join(' ')}`);
  if (values.scope && values.var) throw new UsageError('give --scope or --var, not both');
  const env = positionals[0] ?? io.env.AADBT_ENV ?? DEFAULT_ENV;
  const minTtl = parseMinTtl(values['min-ttl']);
  const body = {
    ...(values.scope ? { scope: values.scope } : {}), ...(values.var ? { var: values.var } : {}),
    ...(minTtl !== undefined ? { minTtlSeconds: minTtl } : {}), caller: callerInfo(io.env, io.cwd),
  };
  const result = await withAgent({ env: io.env, socket: values.socket, autostart: values['no-autostart'] ? false : undefined },
    (client) => client.call<TokenResponse>('POST', `/v1/environments/${encodeURIComponent(env)}/token`, body));
  io.out(values.json ? JSON.stringify(result, null, 2) + '\n' : result.token + '\n');
  return EXIT.ok;
}
