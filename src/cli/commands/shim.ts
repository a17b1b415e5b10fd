// `aadbt shim install DIR`: writes an executable `az` into DIR that answers token requests from the agent.

import { EXIT, UsageError } from '../../errors.js';
import { installShim } from '../az-shim-file.js';
import type { CliIo } from '../cli-io.js';

const HELP = `usage: aadbt shim install DIR

Writes DIR/az, which answers \`az account get-access-token\` from the aadbt agent (for dbt adapters with
authentication: cli) and passes other az commands to the real Azure CLI further down PATH.
Put DIR first on PATH. \`aadbt exec\` does this for its command automatically.
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h') { io.out(HELP); return EXIT.ok; }
  if (args[0] !== 'install' || args.length !== 2) throw new UsageError('usage: aadbt shim install DIR');
  io.out(`${installShim(args[1])}\n`);
  return EXIT.ok;
}
