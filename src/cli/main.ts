// The CLI entry: picks the command and loads only its module, so `aadbt env` starts lean.

import { AadbtError, EXIT } from '../errors.js';
import type { CliIo } from './cli-io.js';

export interface Command {
  run(args: string[], io: CliIo): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  agent: { summary: 'run the agent (--dev for the embedded identity provider and demo environments)', load: () => import('./commands/agent.js') },
  env: { summary: 'print shell exports of an environment\'s tokens: eval "$(aadbt env dev)"', load: () => import('./commands/env.js') },
  exec: { summary: 'run a command (dbt build) with an environment\'s tokens, the az shim and --msi', load: () => import('./commands/exec.js') },
  token: { summary: 'print one raw token', load: () => import('./commands/token.js') },
  status: { summary: 'show the agent, its environments and their tokens\' state', load: () => import('./commands/status.js') },
  doctor: { summary: 'explain what is wrong with an environment, each finding with its fix', load: () => import('./commands/doctor.js') },
  login: { summary: 'sign in to a device-code or browser environment (the prompt shows here)', load: () => import('./commands/login.js') },
  config: { summary: 'config check | config path', load: () => import('./commands/config.js') },
  az: { summary: 'the az shim: answers `az account get-access-token` from the agent', load: () => import('./commands/az.js') },
  shim: { summary: 'shim install DIR: write the az shim for dbt adapters', load: () => import('./commands/shim.js') },
  service: { summary: 'service install [--user|--system] [--enable]: the systemd units (socket-activated agent)', load: () => import('./commands/service.js') },
  'git-credential': { summary: 'git credential helper for Azure Repos (dbt deps)', load: () => import('./commands/git-credential.js') },
  audit: { summary: 'audit list | show | verify | export | prune: who got which token, when, for which run', load: () => import('./commands/audit.js') },
  'dev-idp': { summary: 'run the development identity provider on its own', load: () => import('./commands/dev-idp.js') },
};

const USAGE = `aadbt: a local identity agent for dbt (Microsoft Entra ID tokens)

usage: aadbt <command> [options]

${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(15)} ${c.summary}`).join('\n')}

Every command takes --help. Exit codes: 0 ok, 1 usage or config, 2 auth failure, 3 access denied, 4 agent unreachable.
`;

/** Runs one command line; returns the exit code. */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const cliIo = io ?? (await import('./cli-io.js')).processIo();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    cliIo.out(USAGE);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    cliIo.out('aadbt 0.1.0\n');
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    cliIo.err(`aadbt: unknown command '${name}'\n  → run \`aadbt --help\` for the list\n`);
    return EXIT.usage;
  }
  try {
    return await (await command.load()).run(rest, cliIo);
  } catch (err) {
    return reportError(err, cliIo);
  }
}

export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof AadbtError) {
    io.err(`aadbt: ${err.message}\n${err.hint ? `  → ${err.hint}\n` : ''}`);
    return err.exitCode;
  }
  const code = (err as { code?: string })?.code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    io.err(`aadbt: ${(err as Error).message}\n  → add --help to see the options\n`);
    return EXIT.usage;
  }
  io.err(`aadbt: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.usage;
}
