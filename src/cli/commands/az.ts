// `aadbt az …`: the az shim. Answers `az account get-access-token` from the agent; passes anything else to the real az.

import { parseArgs } from 'node:util';
import { DEFAULT_ENV, type TokenResponse } from '../../agent/api-contract.js';
import { renderAzAccessToken } from '../../deliver/az-token-json.js';
import { AadbtError, EXIT, UsageError } from '../../errors.js';
import { withAgent } from '../agent-connection.js';
import { findRealAz } from '../../identity/real-az.js';
import { callerInfo } from '../caller-info.js';
import type { CliIo } from '../cli-io.js';

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args[0] === 'account' && args[1] === 'get-access-token') return getAccessToken(args.slice(2), io);
  return passThrough(args, io);
}

async function getAccessToken(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: {
      resource: { type: 'string' }, scope: { type: 'string', multiple: true }, tenant: { type: 'string', short: 't' },
      subscription: { type: 'string' }, output: { type: 'string', short: 'o' }, query: { type: 'string' },
      'only-show-errors': { type: 'boolean' }, debug: { type: 'boolean' }, verbose: { type: 'boolean' },
    },
  });
  if (values.resource && values.scope) throw new UsageError('az account get-access-token: give --resource or --scope, not both');
  if ((values.scope?.length ?? 0) > 1) throw new UsageError('az account get-access-token: aadbt answers one scope at a time');
  const requested = values.scope?.[0] ?? values.resource;
  if (!requested) throw new UsageError('az account get-access-token: aadbt needs --resource or --scope', 'the agent hands out only the scopes configured for the environment');
  const output = values.output ?? 'json';
  if (output !== 'json' && output !== 'tsv') throw new UsageError(`--output ${output} is not supported by aadbt's az shim`, 'use --output json');
  const env = io.env.AADBT_ENV ?? DEFAULT_ENV;
  const token = await withAgent({ env: io.env }, (client) => client.call<TokenResponse>('POST', `/v1/environments/${encodeURIComponent(env)}/token`,
    { scope: requested, caller: callerInfo(io.env, io.cwd, 'az') }));
  const tenant = token.principal.tid ?? values.tenant ?? '';
  if (values.tenant && token.principal.tid && values.tenant !== token.principal.tid) {
    throw new AadbtError(`environment '${token.env}' is in tenant ${token.principal.tid}, not ${values.tenant}`, { code: 'TENANT_MISMATCH', status: 400, exitCode: EXIT.usage, hint: 'drop --tenant, or choose the environment of that tenant with AADBT_ENV' });
  }
  const json = renderAzAccessToken({ token: token.token, expiresOnMs: token.expiresOn * 1000, tenant, subscription: values.subscription });
  if (values.query === 'accessToken' && output === 'tsv') io.out(token.token + '\n');
  else if (values.query === 'expiresOn' && output === 'tsv') io.out(JSON.parse(json).expiresOn + '\n');
  else io.out(json + (json.endsWith('\n') ? '' : '\n'));
  return EXIT.ok;
}

/** Runs the real az further down PATH (never a shim), or says clearly that there is none. */
async function passThrough(args: string[], io: CliIo): Promise<number> {
  const real = findRealAz(io.env.PATH ?? '');
  if (!real) {
    throw new AadbtError(`aadbt's az shim answers only \`az account get-access-token\`, and there is no real Azure CLI on PATH for \`az ${args.slice(0, 2).join(' ')}\``,
      { code: 'NO_REAL_AZ', status: 400, exitCode: EXIT.usage, hint: 'install the Azure CLI, or run the command outside `aadbt exec` (or with --no-shim)' });
  }
  const { spawnSync } = await import('node:child_process'); // only here: the token path stays lean
  const result = spawnSync(real, args, { stdio: 'inherit', env: io.env });
  return result.status ?? 1;
}
