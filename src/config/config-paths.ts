// Where aadbt keeps its config, socket and data (DESIGN §3), from an explicit environment.

import { join } from 'node:path';
import envPaths from 'env-paths';
import { agentSocketPath } from './socket-path.js';

export interface AadbtPaths {
  configFile: string;
  /** True when the config file came from $AADBT_CONFIG (then it must exist). */
  configExplicit: boolean;
  socketPath: string;
  dataDir: string;
  auditDb: string;
}

/** Resolves every location; `env` is passed in so nothing is read at import time. */
export function resolvePaths(env: NodeJS.ProcessEnv): AadbtPaths {
  const dirs = envPaths('aadbt', { suffix: '' });
  const dataDir = env.AADBT_DATA_DIR || dirs.data;
  return {
    configFile: env.AADBT_CONFIG || join(dirs.config, 'config.yaml'),
    configExplicit: Boolean(env.AADBT_CONFIG),
    socketPath: agentSocketPath(env),
    dataDir,
    auditDb: join(dataDir, 'audit.db'),
  };
}
