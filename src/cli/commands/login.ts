// `aadbt login ENV`: a person's sign-in (device code or browser), run by the agent, its prompt shown here.

import { parseArgs } from 'node:util';
import { AadbtError, EXIT, UsageError, fromErrorBody } from '../../errors.js';
import { agentSocketPath } from '../../config/socket-path.js';
import { createAgentClient } from '../agent-client.js';
import { withAgent } from '../agent-connection.js';
import { callerInfo } from '../caller-info.js';
import type { CliIo } from '../cli-io.js';

const HELP = `usage: aadbt login ENV [--json] [--no-autostart]

Signs you in to ENV (credential type device-code or browser). The agent runs the sign-in and keeps it:
  device-code  the code and the page to enter it on are printed here
  browser      a browser window opens on the agent's machine
The account record (who signed in, no token) is kept in the data dir. Tokens stay in the agent's memory:
with no OS keyring there is no persistent token cache, so after an agent restart, run aadbt login again.
  --json  print { env, username, tenantId } when signed in
`;

/** One line of the agent's NDJSON answer to POST /v1/environments/:env/login. */
type LoginEvent =
  | { event: 'prompt'; message: string; userCode?: string; verificationUri?: string }
  | { event: 'signed-in'; env: string; username: string; tenantId: string; note?: string }
  | { event: 'error'; error: { code: string; message: string; hint?: string } };

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { json: { type: 'boolean' }, socket: { type: 'string' }, 'no-autostart': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  if (positionals.length !== 1) throw new UsageError('name the environment to sign in to', 'aadbt login ENV (see `aadbt status` for the environments)');
  const env = values.socket ? { ...io.env, AADBT_SOCKET: values.socket } : io.env;
  // Starts the agent if none runs, like every other command; the sign-in itself is a long streamed request.
  await withAgent({ env, autostart: values['no-autostart'] ? false : undefined }, (client) => client.call('GET', '/v1/status'));
  const name = positionals[0];
  let signedIn: Extract<LoginEvent, { event: 'signed-in' }> | undefined;
  const onLine = (line: LoginEvent) => {
    if (line.event === 'prompt') io.err(`${line.message}\n`); // the terminal, not stdout: `$(aadbt login …)` still shows it
    else if (line.event === 'signed-in') signedIn = line;
    else throw fromErrorBody(400, line);
  };
  let buffered = '';
  await createAgentClient(agentSocketPath(env)).stream('POST', `/v1/environments/${encodeURIComponent(name)}/login`,
    { caller: callerInfo(io.env, io.cwd) }, (chunk) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (text) onLine(parseLine(text));
      }
    });
  if (!signedIn) throw new AadbtError(`the agent ended the sign-in to '${name}' without an answer`, { code: 'SIGN_IN_INCOMPLETE', exitCode: EXIT.auth, hint: `run aadbt login ${name} again` });
  if (values.json) io.out(JSON.stringify({ env: signedIn.env, username: signedIn.username, tenantId: signedIn.tenantId }) + '\n');
  else io.out(`signed in to ${signedIn.env} as ${signedIn.username} (tenant ${signedIn.tenantId})\n`);
  if (signedIn.note) io.err(`note: ${signedIn.note}\n`);
  return EXIT.ok;
}

/** One NDJSON line of the agent's answer to POST /v1/environments/:env/login. */
function parseLine(text: string): LoginEvent {
  try {
    return JSON.parse(text) as LoginEvent;
  } catch {
    throw new AadbtError('the agent sent a sign-in answer that is not JSON', { code: 'AGENT_ERROR', exitCode: EXIT.auth });
  }
}
