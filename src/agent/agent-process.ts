// Runs the agent as this process: loads config, starts everything, handles SIGTERM/SIGINT/SIGHUP.

import { systemClock } from '../clock.js';
import { resolvePaths } from '../config/config-paths.js';
import type { AadbtConfig } from '../config/config-schema.js';
import { demoConfig } from '../config/demo-config.js';
import { loadConfigFile, runningInCi } from '../config/load-config.js';
import { ConfigError, EXIT } from '../errors.js';
import { pathWithoutShims } from '../identity/real-az.js';
import { createLogger, type LogLevel } from '../log.js';
import { createAgent } from './agent.js';
import { isValidCron } from './scheduler.js';

export interface ForegroundOptions {
  env: NodeJS.ProcessEnv;
  dev: boolean;
  statusPort?: number;
  logLevel?: string;
  out(text: string): void;
  configExists(path: string): boolean;
}

/** Chooses the config: an explicit or existing file, else the demo in --dev mode, else a clear error. */
export function chooseConfig(env: NodeJS.ProcessEnv, dev: boolean, exists: (p: string) => boolean): AadbtConfig {
  const paths = resolvePaths(env);
  if (paths.configExplicit || exists(paths.configFile)) return loadConfigFile(paths.configFile, { validateCron: isValidCron, ci: runningInCi(env) });
  if (dev) return demoConfig();
  throw new ConfigError(`no config at ${paths.configFile}`, [], 'create one (README "Configuration"), or run `aadbt agent --dev` for the demo environments');
}


export async function runAgentInForeground(options: ForegroundOptions): Promise<number> {
  const level = (options.logLevel ?? options.env.AADBT_LOG_LEVEL ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new ConfigError(`--log-level ${level} is not a level`, [], 'use debug, info, warn or error');
  const log = createLogger({ level, pretty: Boolean(process.stderr.isTTY) }).child({ component: 'agent' });
  const paths = resolvePaths(options.env);
  // The Azure CLI credential runs `az`; if that were our shim, it would ask this agent for the token.
  process.env.PATH = pathWithoutShims(process.env.PATH ?? '');
  const config = chooseConfig(options.env, options.dev, options.configExists);
  const statusPort = options.statusPort ?? config.agent.status.port;
  if (!Number.isInteger(statusPort) || statusPort < 0 || statusPort > 65535) {
    throw new ConfigError(`agent: --status-port must be a port number, not ${options.statusPort}`, [], 'give a number from 1 to 65535, or 0 to turn the status page off');
  }
  const agent = await createAgent({ config, paths, clock: systemClock, log, env: options.env, dev: options.dev, statusPort });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop();
    throw err;
  }
  if (config.source === '<demo>') {
    options.out([
      '',
      `aadbt agent is running with the embedded identity provider and the demo environments: ${Object.keys(config.environments).join(', ')}`,
      'Next, in another shell:',
      `  eval "$(npx aadbt env dev)"      # DBT_ENV_SECRET_FABRIC_TOKEN for dbt`,
      `  npx aadbt status                 # environments, token lifetimes, errors`,
      ...(agent.statusUrl ? [`  status page: ${agent.statusUrl}   # open it in a browser`] : []),
      `  audit log: ${paths.auditDb}      # sqlite3 it, or: npx aadbt audit list`,
      `(set AADBT_SOCKET=${paths.socketPath} if your other shell has a different XDG_RUNTIME_DIR)`,
      '',
    ].join('\n'));
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      log.info('shutting down', { signal });
      agent.stop().then(() => resolve(EXIT.ok), (err) => { log.error('shutdown failed', { error: err }); resolve(EXIT.usage); });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        agent.reload(chooseConfig(options.env, options.dev, options.configExists));
      } catch (err) {
        // Keep serving with the old config; say what is wrong with the new one.
        log.error('config reload refused; keeping the previous config', { error: err, problems: (err as { problems?: string[] }).problems });
      }
    });
  });
}
