// `aadbt git-credential get|store|erase`: git's credential-helper protocol, answering for Azure Repos hosts.

import { DEFAULT_ENV, type TokenResponse } from '../../agent/api-contract.js';
import { isAzureReposHost, parseCredentialRequest, renderCredentialResponse } from '../../deliver/git-credential.js';
import { AadbtError, EXIT, UsageError } from '../../errors.js';
import { withAgent } from '../agent-connection.js';
import { callerInfo } from '../caller-info.js';
import type { CliIo } from '../cli-io.js';

/** Azure DevOps' resource id. */
export const AZURE_DEVOPS_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';

const HELP = `usage: git config --global credential.https://dev.azure.com.helper "!aadbt git-credential"

A git credential helper: for https://dev.azure.com and *.visualstudio.com it answers with a token of
$AADBT_ENV (else the default environment) for Azure DevOps; the environment must list the scope
${AZURE_DEVOPS_SCOPE} under tokens:. Other hosts get no answer, so git asks its next helper.
`;

export async function run(args: string[], io: CliIo, stdin: () => Promise<string> = readStdin): Promise<number> {
  const operation = args[0];
  if (operation === '--help' || operation === '-h') { io.out(HELP); return EXIT.ok; }
  if (operation === 'store' || operation === 'erase') { await stdin(); return EXIT.ok; } // tokens are the agent's to keep
  if (operation !== 'get') throw new UsageError(`git-credential: unknown operation '${operation ?? ''}'`, 'git calls it with get, store or erase');
  const request = parseCredentialRequest(await stdin());
  if (request.protocol !== 'https' || !request.host || !isAzureReposHost(request.host)) return EXIT.ok;
  const env = io.env.AADBT_ENV ?? DEFAULT_ENV;
  try {
    const token = await withAgent({ env: io.env }, (client) => client.call<TokenResponse>('POST', `/v1/environments/${encodeURIComponent(env)}/token`,
      { scope: AZURE_DEVOPS_SCOPE, caller: callerInfo(io.env, io.cwd, 'git') }));
    io.out(renderCredentialResponse({ username: request.username ?? 'aadbt', password: token.token, expiresOnMs: token.expiresOn * 1000 }));
  } catch (err) {
    // git shows a helper's stderr and moves on to the next helper; never fail the fetch outright.
    if (err instanceof AadbtError) io.err(`aadbt: ${err.message}${err.hint ? ` (${err.hint})` : ''}\n`);
    else throw err;
  }
  return EXIT.ok;
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => { text += d; });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}
