// `aadbt config check|path`: validates the config and says where it lives.

import { parseArgs } from 'node:util';
import { resolvePaths } from '../../config/config-paths.js';
import { EXIT, UsageError } from '../../errors.js';
import type { CliIo } from '../cli-io.js';

const HELP = `usage: aadbt config check [--config FILE]   validate the config, listing every problem
       aadbt config path                  print where the config, socket and audit DB are
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { config: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length === 0) { io.out(HELP); return values.help ? EXIT.ok : EXIT.usage; }
  const paths = resolvePaths(values.config ? { ...io.env, AADBT_CONFIG: values.config } : io.env);
  switch (positionals[0]) {
    case 'path':
      io.out(values.json ? JSON.stringify(paths, null, 2) + '\n'
        : `config  ${paths.configFile}\nsocket  ${paths.socketPath}\naudit   ${paths.auditDb}\n`);
      return EXIT.ok;
    case 'check': {
      const { loadConfigFile, runningInCi } = await import('../../config/load-config.js');
      const { isValidCron } = await import('../../agent/scheduler.js');
      // The same rules the agent applies here, CI's refusal of people's sign-ins included.
      const config = loadConfigFile(paths.configFile, { validateCron: isValidCron, ci: runningInCi(io.env) });
      const names = Object.keys(config.environments);
      io.out(`${paths.configFile}: ok, ${names.length} environment${names.length === 1 ? '' : 's'} (${names.join(', ')})${config.default ? `, default ${config.default}` : ''}\n`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown config subcommand '${positionals[0]}'`, 'use `aadbt config check` or `aadbt config path`');
  }
}
