// `aadbt env [ENV] [--shell S] [--min-ttl D] [--unset]`: prints the environment's tokens for a shell or CI to load.

import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_ENV, type EnvResponse } from '../../agent/api-contract.js';
import { detectShell, renderExports, SHELLS, type Shell } from '../../deliver/shell-exports.js';
import { EXIT, UsageError } from '../../errors.js';
import { agentSocketPath } from '../../config/socket-path.js';
import { withAgent } from '../agent-connection.js';
import { callerInfo } from '../caller-info.js';
import type { CliIo } from '../cli-io.js';
import { parseMinTtl } from '../cli-flags.js';

const HELP = `usage: aadbt env [ENV] [--shell SHELL] [--min-ttl D] [--unset] [--no-autostart]

Prints the token variables of ENV (default: $AADBT_ENV, else the config's default) as shell code:
  eval "$(aadbt env dev)"            bash, zsh, sh
  aadbt env dev --shell fish | source
  --shell   sh, bash, zsh, fish, pwsh, dotenv, json, github, azure-pipelines (default: from $SHELL)
  --min-ttl every token lives at least D (e.g. 45m); default: the environment's minTtl
  --unset   print the lines that remove the variables again
Also sets AADBT_SOCKET, AADBT_ENV and AADBT_EXPIRES_ON (epoch seconds).
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      shell: { type: 'string' }, 'min-ttl': { type: 'string' }, unset: { type: 'boolean' }, json: { type: 'boolean' },
      socket: { type: 'string' }, 'no-autostart': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  if (positionals.length > 1) throw new UsageError(`one environment at most, got ${positionals.join(' ')}`);
  const shellName = values.json ? 'json' : values.shell ?? detectShell(io.env.SHELL);
  if (!(SHELLS as readonly string[]).includes(shellName)) throw new UsageError(`--shell ${shellName} is not supported`, `use one of ${SHELLS.join(', ')}`);
  const shell = shellName as Shell;
  const envName = positionals[0] ?? io.env.AADBT_ENV ?? DEFAULT_ENV;
  const minTtl = parseMinTtl(values['min-ttl']);
  const socket = values.socket ?? agentSocketPath(io.env);
  const query = minTtl !== undefined ? `?minTtlSeconds=${minTtl}` : '';
  const result = await withAgent({ env: io.env, socket, autostart: values['no-autostart'] ? false : undefined },
    (client) => client.call<EnvResponse>('GET', `/v1/environments/${encodeURIComponent(envName)}/env${query}`, undefined,
      { 'x-aadbt-caller': JSON.stringify(callerInfo(io.env, io.cwd)) }));
  const variables = { ...result.variables, AADBT_SOCKET: socket, AADBT_ENV: result.env, AADBT_EXPIRES_ON: String(result.expiresOn) };
  const secrets = new Set(Object.keys(result.variables));
  const rendered = renderExports(variables, shell, { unset: values.unset, secretNames: secrets });
  if (shell === 'github') {
    const file = io.env.GITHUB_ENV;
    if (!file) throw new UsageError('--shell github needs $GITHUB_ENV (it is set inside GitHub Actions steps)');
    appendFileSync(file, rendered.githubEnv ?? '');
  }
  io.out(rendered.stdout);
  return EXIT.ok;
}
