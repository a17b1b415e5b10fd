// Test harness: temp dirs, the dev identity provider, agents as child processes, and CLI runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeSocket } from '../../src/agent/socket-listener.js';
import { createDevIdp, type DevIdp, type DevIdpOptions } from '../../src/devidp/dev-idp.js';

export const BIN = fileURLToPath(new URL('../../../bin/aadbt.js', import.meta.url));
export const FABRIC = 'https://database.windows.net/.default';
export const DATABRICKS = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';

export interface TempDir { path: string; file(name: string, content: string, mode?: number): string; remove(): void }

export function tempDir(prefix = 'aadbt-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file(name, content, mode = 0o600) {
      const p = join(path, name);
      writeFileSync(p, content, { mode });
      return p;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** A dev identity provider plus files an agent in another process needs to reach it. */
export interface Provider { idp: DevIdp; caFile: string; secretFile(clientId: string, options?: { groups?: string[] }): string }

export async function startProvider(dir: TempDir, options: DevIdpOptions = {}): Promise<Provider> {
  const idp = await createDevIdp(options);
  const caFile = dir.file('ca.pem', idp.caPem, 0o644);
  return {
    idp,
    caFile,
    secretFile(clientId, o = {}) {
      return dir.file(`${clientId}.secret`, idp.registerClient({ clientId, groups: o.groups }) + '\n');
    },
  };
}

/** YAML for one client-secret environment pointed at the provider. */
export function environmentYaml(p: Provider, name: string, clientId: string, extra = '', tokens: Record<string, string> = { DBT_ENV_SECRET_FABRIC_TOKEN: FABRIC }): string {
  return [
    `  ${name}:`,
    `    tenant: ${p.idp.tenantId}`,
    `    authorityHost: ${p.idp.url}`,
    `    authorityCaFile: ${p.caFile}`,
    `    credential: { type: client-secret, clientId: ${clientId}, secretFile: ${p.secretFile(clientId)} }`,
    '    tokens:',
    ...Object.entries(tokens).map(([k, v]) => `      ${k}: "${v}"`),
    ...(extra ? [extra] : []),
  ].join('\n');
}

export interface AgentProcess {
  child: ChildProcess;
  socketPath: string;
  env: NodeJS.ProcessEnv;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Environment for CLI and agent processes of one test: private socket, data dir and config. */
export function isolatedEnv(dir: TempDir, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // CI too: tests that are about CI set it themselves, so the suite behaves the same on a CI runner.
  const { AADBT_ENV, AADBT_SOCKET, AADBT_CONFIG, CI, ...rest } = process.env;
  void AADBT_ENV; void AADBT_SOCKET; void AADBT_CONFIG; void CI;
  return {
    ...rest,
    AADBT_SOCKET: join(dir.path, 'run', 'agent.sock'),
    AADBT_DATA_DIR: join(dir.path, 'data'),
    AADBT_CONFIG: join(dir.path, 'config.yaml'),
    AADBT_NO_AUTOSTART: '1',
    XDG_CONFIG_HOME: join(dir.path, 'xdg-config'),
    ...extra,
  };
}

/** Starts `aadbt agent --foreground ARGS` and resolves once it answers on its socket. */
export async function spawnAgent(env: NodeJS.ProcessEnv, args: string[] = []): Promise<AgentProcess> {
  // No fixed status port, so agents of parallel tests never collide on it.
  const statusPort = args.includes('--status-port') ? [] : ['--status-port', '0'];
  const child = spawn(process.execPath, [BIN, 'agent', '--foreground', ...statusPort, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const socketPath = env.AADBT_SOCKET!;
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}):\n${output}`);
    if (await probeSocket(socketPath, 200)) break;
    await new Promise((r) => setTimeout(r, 25)); // readiness poll, not a wait for time to pass
  }
  return {
    child, socketPath, env,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult { code: number; stdout: string; stderr: string }

export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface RawResponse { status: number; body: string; json: any }

/** A raw HTTP request over the agent's socket (for malformed-input tests). */
export function socketRequest(socketPath: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GETs JSON over HTTPS trusting only the given CA. */
export function fetchJson(url: string, ca: string): Promise<any> {
  return new Promise((resolve, reject) => {
    import('node:https').then(({ get }) => {
      get(url, { ca }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => { try { resolve(JSON.parse(text)); } catch (e) { reject(e); } });
      }).on('error', reject);
    }, reject);
  });
}

/** Polls a condition (a process becoming ready, a log line appearing), bounded at 10 s; never a wait for time to pass. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, context: () => string = () => ''): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${context() ? `:\n${context()}` : ''}`);
}
