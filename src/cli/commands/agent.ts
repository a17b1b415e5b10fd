// `aadbt agent`: runs the agent in the foreground, or starts it in the background and waits until it answers.

import { accessSync, constants, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolvePaths } from '../../config/config-paths.js';
import type { AadbtConfig, EnvironmentConfig } from '../../config/config-schema.js';
import { AadbtError, ConfigError, EXIT, UsageError } from '../../errors.js';
import type { CliIo } from '../cli-io.js';
import { startAgentInBackground } from '../agent-launcher.js';

const HELP = `usage: aadbt agent [--dev] [--config FILE] [--socket PATH] [--status-port N] [--foreground] [--log-level L] [--check]

Runs the agent that gets, caches, refreshes and audits tokens.
  --dev           run the embedded development identity provider; with no config file, serve the demo environments dev, ci, prod
  --config FILE   the config file (default: $AADBT_CONFIG, else ~/.config/aadbt/config.yaml)
  --socket PATH   the socket (default: $AADBT_SOCKET, else $XDG_RUNTIME_DIR/aadbt/agent.sock)
  --status-port N the loopback status page port (0 = off)
  --foreground    stay attached to the terminal (systemd and npm start use this)
  --log-level L   debug, info, warn or error
  --check         validate the config and build each environment's credential (no sign-in), then exit:
                  0 with a one-line summary, 1 with every problem
`;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: {
      dev: { type: 'boolean' }, config: { type: 'string' }, socket: { type: 'string' }, 'status-port': { type: 'string' },
      foreground: { type: 'boolean' }, 'log-level': { type: 'string' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`--log-level '${logLevel}' is not a level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  const statusPort = values['status-port'] === undefined ? undefined : Number(values['status-port']);
  if (statusPort !== undefined && !(Number.isInteger(statusPort) && statusPort >= 0 && statusPort <= 65535)) {
    throw new UsageError(`--status-port '${values['status-port']}' is not a port`, 'give a number from 1 to 65535, or 0 to turn the status page off');
  }
  const env = { ...io.env, ...(values.config ? { AADBT_CONFIG: values.config } : {}), ...(values.socket ? { AADBT_SOCKET: values.socket } : {}) };
  if (values.check) return check(env, Boolean(values.dev), io);
  if (!values.foreground) {
    const paths = resolvePaths(env);
    const forwarded = args.filter((a) => a !== '--foreground');
    const pid = await startAgentInBackground(paths, forwarded, env);
    io.out(`aadbt agent started (pid ${pid}) on ${paths.socketPath}\n`);
    return EXIT.ok;
  }
  const { runAgentInForeground } = await import('../../agent/agent-process.js');
  return runAgentInForeground({
    env, dev: Boolean(values.dev), statusPort,
    logLevel, out: io.out, configExists: (p: string) => existsSync(p),
  });
}

/**
 * `--check`: loads the config the agent would load, builds every environment's token source (no
 * request leaves the machine) and checks that the files the credentials name are readable.
 * Throws a ConfigError naming the file and path of every problem.
 */
async function check(env: NodeJS.ProcessEnv, dev: boolean, io: CliIo): Promise<number> {
  const { chooseConfig } = await import('../../agent/agent-process.js');
  const { createTokenSource } = await import('../../identity/create-token-source.js');
  const paths = resolvePaths(env);
  const config = chooseConfig(env, dev, (p) => existsSync(p));
  const problems: string[] = [];
  for (const envConfig of Object.values(config.environments)) {
    const at = `${config.source}: environments.${envConfig.name}`;
    for (const [key, file] of credentialFiles(envConfig)) {
      try {
        accessSync(file, constants.R_OK);
      } catch (err) {
        problems.push(`${at}.credential.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}) → fix the path, or let the agent's user read it`);
      }
    }
    // With --dev the embedded provider, started with the agent, stands behind type `dev`; there is nothing more to build.
    if (envConfig.credential.type === 'dev' && dev) continue;
    try {
      createTokenSource(envConfig, { env });
    } catch (err) {
      if (!(err instanceof AadbtError)) throw err;
      problems.push(`${at}: ${err.message.replace(/^environment '[^']*': /, '')}${err.hint ? ` → ${err.hint}` : ''}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`${config.source}: ${problems.length} problem${problems.length > 1 ? 's' : ''} the agent would hit\n  ${problems.join('\n  ')}`, problems,
      'fix them, then run `aadbt agent --check` again');
  }
  io.out(`${summary(config)}; socket ${paths.socketPath}; audit ${paths.auditDb}\n`);
  return EXIT.ok;
}

function credentialFiles(envConfig: EnvironmentConfig): [string, string][] {
  const c = envConfig.credential;
  const files: [string, string | undefined][] = [
    ['secretFile', c.type === 'client-secret' ? c.secretFile : undefined],
    ['certificateFile', c.type === 'client-certificate' ? c.certificateFile : undefined],
    ['assertion', c.type === 'workload-identity' && c.assertion.startsWith('file:') ? c.assertion.slice(5) : undefined],
  ];
  return files.filter((f): f is [string, string] => f[1] !== undefined);
}

function summary(config: AadbtConfig): string {
  const names = Object.keys(config.environments);
  const source = config.source === '<demo>' ? 'the demo config (--dev)' : config.source;
  return `${source}: ok, ${names.length} environment${names.length === 1 ? '' : 's'} (${names.join(', ')})${config.default ? `, default ${config.default}` : ''}`;
}
