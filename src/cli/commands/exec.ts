// `aadbt exec [ENV] [--min-ttl D] [--msi] [--no-shim] -- CMD…`: runs CMD with the environment's tokens, audited.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENV, type EnvResponse } from '../../agent/api-contract.js';
import { parseRunResults } from '../../audit/run-results.js';
import { resolvePaths } from '../../config/config-paths.js';
import { EXIT, UsageError } from '../../errors.js';
import type { AgentClient } from '../agent-client.js';
import { withAgent } from '../agent-connection.js';
import { installShim } from '../az-shim-file.js';
import { callerInfo } from '../caller-info.js';
import type { CliIo } from '../cli-io.js';
import { parseMinTtl } from '../cli-flags.js';
import { dbtTarget, dbtTargetPath, isDbt, maskSecrets } from '../dbt-target.js';

const HELP = `usage: aadbt exec [ENV] [--min-ttl D] [--msi] [--no-shim] -- CMD [ARGS…]

Runs CMD with ENV's token variables, AADBT_ENV and AADBT_SOCKET, and exits with CMD's status.
ENV defaults to the environment whose targets: include the dbt --target in CMD, then $AADBT_ENV, then the default.
  --min-ttl D  every token lives at least D (default: the environment's minTtl)
  --msi        also serve a managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER) for the run
  --no-shim    do not put aadbt's az shim first on PATH
`;

/** Variables that would make Azure SDKs in the child pick another credential before ours. */
const SHADOWING = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_USERNAME', 'AZURE_PASSWORD', 'MSI_ENDPOINT', 'MSI_SECRET', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT'];
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

interface EnvironmentsResponse { default: string | null; environments: { name: string; targets: string[] }[] }

export async function run(args: string[], io: CliIo): Promise<number> {
  const split = args.indexOf('--');
  const own = split >= 0 ? args.slice(0, split) : args;
  const command = split >= 0 ? args.slice(split + 1) : [];
  const { values, positionals } = parseArgs({
    args: own, allowPositionals: true, strict: true,
    options: {
      'min-ttl': { type: 'string' }, msi: { type: 'boolean' }, 'no-shim': { type: 'boolean' }, socket: { type: 'string' },
      'no-autostart': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  if (command.length === 0) throw new UsageError('no command to run', 'put it after --: aadbt exec dev -- dbt build');
  if (positionals.length > 1) throw new UsageError(`one environment at most, got ${positionals.join(' ')}`);
  const minTtl = parseMinTtl(values['min-ttl']);
  const paths = resolvePaths(values.socket ? { ...io.env, AADBT_SOCKET: values.socket } : io.env);
  const caller = callerInfo(io.env, io.cwd, 'aadbt-exec');

  return withAgent({ env: io.env, socket: paths.socketPath, autostart: values['no-autostart'] ? false : undefined }, async (client) => {
    const envName = positionals[0] ?? await environmentFromTarget(client, command) ?? io.env.AADBT_ENV ?? DEFAULT_ENV;
    const query = minTtl !== undefined ? `?minTtlSeconds=${minTtl}` : '';
    const tokens = await client.call<EnvResponse>('GET', `/v1/environments/${encodeURIComponent(envName)}/env${query}`, undefined,
      { 'x-aadbt-caller': JSON.stringify(caller) });
    const outer = io.env.AADBT_EXEC_ENV;
    if (outer && outer !== tokens.env) {
      throw new UsageError(`already inside \`aadbt exec ${outer}\`; refusing to nest environment '${tokens.env}' in it`, 'run it from a shell outside the other exec');
    }

    const childEnv: NodeJS.ProcessEnv = { ...io.env, ...tokens.variables, AADBT_ENV: tokens.env, AADBT_EXEC_ENV: tokens.env, AADBT_SOCKET: paths.socketPath, AADBT_EXPIRES_ON: String(tokens.expiresOn) };
    if (!values['no-shim']) {
      const shimDir = join(paths.dataDir, 'shim');
      installShim(shimDir);
      childEnv.PATH = [shimDir, ...(io.env.PATH ?? '').split(delimiter).filter((d) => d && resolve(d) !== shimDir)].join(delimiter);
    }
    let msi: { close(): Promise<void> } | undefined;
    if (values.msi) {
      const { startMsiEndpoint } = await import('../msi-endpoint.js');
      const endpoint = await startMsiEndpoint({ client, env: tokens.env, caller });
      for (const name of SHADOWING) delete childEnv[name];
      childEnv.IDENTITY_ENDPOINT = endpoint.url;
      childEnv.IDENTITY_HEADER = endpoint.secret;
      msi = endpoint;
    }

    const execId = randomUUID();
    const started = Date.now();
    const report = (events: { action: 'exec-start' | 'exec-end' | 'model'; outcome: 'ok' | 'error' | 'warning'; detail: Record<string, unknown> }[]) =>
      client.call('POST', '/v1/audit/events', { env: tokens.env, caller, events });
    await report([{ action: 'exec-start', outcome: 'ok', detail: { execId, command: maskSecrets(command), cwd: io.cwd, msi: Boolean(values.msi) } }]);

    const { code, signal } = await runChild(command, childEnv, io.cwd);
    await msi?.close();
    const exitCode = signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 1) : code ?? 1;
    let warning: string | undefined;
    let runResults: ReturnType<typeof parseRunResults> | undefined;
    if (isDbt(command)) {
      const file = resolve(io.cwd, dbtTargetPath(command, io.env), 'run_results.json');
      try {
        if (statSync(file).mtimeMs >= started - 1000) runResults = parseRunResults(readFileSync(file, 'utf8'));
      } catch (err) {
        // Not every dbt command writes run results; a malformed file is worth a warning, never a crash.
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        warning = missing ? 'dbt wrote no run_results.json' : `${file}: ${(err as Error).message}`;
        if (!missing) io.err(`aadbt: warning: ${warning}; models not recorded\n`);
      }
    }
    const modelEvents = (runResults?.results ?? []).map((r) => ({
      action: 'model' as const, outcome: (r.status === 'error' || r.status === 'fail' ? 'error' : 'ok') as 'ok' | 'error',
      detail: { execId, invocationId: runResults?.invocationId, uniqueId: r.uniqueId, status: r.status, executionTime: r.executionTime, rowsAffected: r.rowsAffected },
    }));
    for (let i = 0; i < modelEvents.length; i += 200) await report(modelEvents.slice(i, i + 200));
    await report([{
      action: 'exec-end', outcome: exitCode === 0 ? 'ok' : 'error',
      detail: { execId, exitCode, signal: signal ?? undefined, durationMs: Date.now() - started, invocationId: runResults?.invocationId, models: modelEvents.length, warning },
    }]);
    return exitCode;
  });
}

async function environmentFromTarget(client: AgentClient, command: string[]): Promise<string | undefined> {
  const target = dbtTarget(command);
  if (!target) return undefined;
  const { environments } = await client.call<EnvironmentsResponse>('GET', '/v1/environments');
  return environments.find((e) => e.targets.includes(target))?.name;
}

/** Runs the command with inherited stdio, forwarding INT, TERM and HUP to it. */
function runChild(command: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command[0], command.slice(1), { env, cwd, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => { child.kill(signal); };
    const handlers = SIGNALS.map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const cleanup = () => { for (const [s, h] of handlers) process.off(s, h); };
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(err.code === 'ENOENT' ? new UsageError(`command not found: ${command[0]}`, 'check the spelling and PATH') : err);
    });
    child.once('exit', (code, signal) => { cleanup(); resolveRun({ code, signal }); });
  });
}
