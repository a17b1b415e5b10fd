// `aadbt agent`: runs the agent in the foreground, or starts it in the background and waits until it answers.

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolvePaths } from '../../config/config-paths.js';
import { EXIT } from '../../errors.js';
import type { CliIo } from '../cli-io.js';
import { startAgentInBackground } from '../agent-launcher.js';

const HELP = `usage: aadbt agent [--dev] [--config FILE] [--socket PATH] [--status-port N] [--foreground] [--log-level L]

Runs the agent that gets, caches, refreshes and audits tokens.
  --dev           run the embedded development identity provider; with no config file, serve the demo environments dev, ci, prod
  --config FILE   the config file (default: $AADBT_CONFIG, else ~/.config/aadbt/config.yaml)
  --socket PATH   the socket (default: $AADBT_SOCKET, else $XDG_RUNTIME_DIR/aadbt/agent.sock)
  --status-port N the loopback status page port (0 = off)
  --foreground    stay attached to the terminal (systemd and npm start use this)
  --log-level L   debug, info, warn or error
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: {
      dev: { type: 'boolean' }, config: { type: 'string' }, socket: { type: 'string' }, 'status-port': { type: 'string' },
      foreground: { type: 'boolean' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const env = { ...io.env, ...(values.config ? { AADBT_CONFIG: values.config } : {}), ...(values.socket ? { AADBT_SOCKET: values.socket } : {}) };
  if (!values.foreground) {
    const paths = resolvePaths(env);
    const forwarded = args.filter((a) => a !== '--foreground');
    const pid = await startAgentInBackground(paths, forwarded, env);
    io.out(`aadbt agent started (pid ${pid}) on ${paths.socketPath}\n`);
    return EXIT.ok;
  }
  const { runAgentInForeground } = await import('../../agent/agent-process.js');
  return runAgentInForeground({
    env, dev: Boolean(values.dev), statusPort: values['status-port'] === undefined ? undefined : Number(values['status-port']),
    logLevel: values['log-level'], out: io.out, configExists: (p: string) => existsSync(p),
  });
}
