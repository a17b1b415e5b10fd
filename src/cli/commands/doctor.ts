// `aadbt doctor [ENV] [--json]`: explains what is wrong with an environment, one finding a line, each with its fix.

import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TokenResponse } from '../../agent/api-contract.js';
import { resolvePaths } from '../../config/config-paths.js';
import type { AadbtConfig, EnvironmentConfig } from '../../config/config-schema.js';
import { configuredScopes } from '../../config/scope-match.js';
import { formatDuration } from '../../duration.js';
import { AadbtError, EXIT, UsageError } from '../../errors.js';
import { decodeClaims } from '../../tokens/token-cache.js';
import { createAgentClient } from '../agent-client.js';
import type { CliIo } from '../cli-io.js';

export type Verdict = 'ok' | 'warn' | 'fail';
export interface Finding { verdict: Verdict; env?: string; what: string; fix?: string }

const HELP = `usage: aadbt doctor [ENV] [--json]

Checks the config, credential files, clock skew, and each configured token (decoded, never printed):
audience, tenant, identity type, lifetime and group access. Exits 1 when anything fails.
`;

/** Clock skew beyond this breaks token validation at Entra and at resources. */
const MAX_SKEW_MS = 5 * 60_000;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const env = values.socket ? { ...io.env, AADBT_SOCKET: values.socket } : io.env;
  const findings = await diagnose(positionals[0], env);
  if (values.json) io.out(JSON.stringify({ findings }, null, 2) + '\n');
  else io.out(findings.map((f) => `${f.verdict.padEnd(5)} ${f.env ? `${f.env}: ` : ''}${f.what}${f.fix ? `  → ${f.fix}` : ''}`).join('\n') + '\n');
  return findings.some((f) => f.verdict === 'fail') ? EXIT.usage : EXIT.ok;
}

export async function diagnose(only: string | undefined, env: NodeJS.ProcessEnv): Promise<Finding[]> {
  const findings: Finding[] = [];
  const paths = resolvePaths(env);
  const { loadConfigFile } = await import('../../config/load-config.js');
  const { isValidCron } = await import('../../agent/scheduler.js');
  const ci = ['true', '1'].includes(String(env.CI ?? '').toLowerCase());
  let config: AadbtConfig | undefined;
  try {
    config = loadConfigFile(paths.configFile, { validateCron: isValidCron, ci });
    findings.push({ verdict: 'ok', what: `config ${paths.configFile} is valid` });
  } catch (err) {
    if (!(err instanceof AadbtError)) throw err;
    findings.push({ verdict: 'fail', what: err.message.split('\n')[0], fix: err.hint });
    for (const p of (err as { problems?: string[] }).problems ?? []) findings.push({ verdict: 'fail', what: p });
  }
  findings.push({ verdict: 'ok', what: ci ? 'CI detected (CI=true): sign-ins of people are refused' : 'not in CI: interactive sign-in allowed where configured' });
  const client = createAgentClient(paths.socketPath, { timeoutMs: 30_000 });
  let agentUp = true;
  try {
    await client.call('GET', '/v1/status');
    findings.push({ verdict: 'ok', what: `agent answers on ${paths.socketPath}` });
  } catch {
    agentUp = false;
    findings.push({ verdict: 'warn', what: `no agent at ${paths.socketPath}`, fix: 'start one with `aadbt agent` (token checks are skipped)' });
  }
  if (!config) return findings;
  const names = only ? [only] : Object.keys(config.environments);
  for (const name of names) {
    const e = config.environments[name];
    if (!e) throw new UsageError(`no environment '${name}'`, `known environments: ${Object.keys(config.environments).join(', ')}`);
    findings.push(...checkFiles(e));
    if (e.authorityHost || e.credential.type !== 'dev') findings.push(await checkSkew(e));
    if (agentUp) for (const scope of configuredScopes(e)) findings.push(...await checkToken(e, scope, client));
  }
  return findings;
}

function checkFiles(e: EnvironmentConfig): Finding[] {
  const out: Finding[] = [];
  const c = e.credential;
  const file = c.type === 'client-secret' ? c.secretFile : c.type === 'client-certificate' ? c.certificateFile : undefined;
  if (!file) return out;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return [{ verdict: 'fail', env: e.name, what: `${file} cannot be read`, fix: 'check the path in the config and the file\'s owner' }];
  }
  out.push((mode & 0o077) !== 0
    ? { verdict: 'fail', env: e.name, what: `${file} is readable by others (mode ${mode.toString(8).padStart(4, '0')})`, fix: `chmod 600 ${file}` }
    : { verdict: 'ok', env: e.name, what: `${file} is private (mode ${mode.toString(8).padStart(4, '0')})` });
  if (c.type === 'client-certificate') {
    try {
      const pem = readFileSync(file, 'utf8');
      const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
      if (!certPem) throw new Error('no PEM certificate in it (PFX files are checked at token time)');
      const cert = new X509Certificate(certPem);
      const left = Date.parse(cert.validTo) - Date.now();
      out.push(left <= 0
        ? { verdict: 'fail', env: e.name, what: `the certificate expired on ${cert.validTo}`, fix: 'make a new certificate, upload its public part to the app registration, and replace certificateFile' }
        : left < 30 * 86_400_000
          ? { verdict: 'warn', env: e.name, what: `the certificate expires in ${formatDuration(left)}`, fix: 'rotate it before then' }
          : { verdict: 'ok', env: e.name, what: `the certificate is valid until ${cert.validTo}` });
    } catch (err) {
      out.push({ verdict: 'warn', env: e.name, what: `cannot check the certificate's dates: ${(err as Error).message}` });
    }
  }
  return out;
}

async function checkSkew(e: EnvironmentConfig): Promise<Finding> {
  const host = e.authorityHost ?? 'https://login.microsoftonline.com';
  try {
    const { request } = await import('node:https');
    const ca = e.authorityCaFile ? readFileSync(e.authorityCaFile, 'utf8') : undefined;
    const sent = Date.now();
    const date = await new Promise<string | undefined>((resolve, reject) => {
      const req = request(new URL('/common/discovery/instance', host), { method: 'HEAD', ca, timeout: 10_000 }, (res) => { res.resume(); resolve(res.headers.date); });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
    if (!date) return { verdict: 'warn', env: e.name, what: `${host} sent no Date header; clock skew not checked` };
    // HTTP dates have one-second resolution; compare with the middle of the round trip.
    const skew = Date.now() / 2 + sent / 2 - Date.parse(date);
    return Math.abs(skew) > MAX_SKEW_MS
      ? { verdict: 'fail', env: e.name, what: `this machine's clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} the identity provider`, fix: 'enable time sync (timedatectl set-ntp true); tokens fail validation with this much skew' }
      : { verdict: 'ok', env: e.name, what: `clock within ${formatDuration(Math.abs(skew) + 1000)} of the identity provider` };
  } catch (err) {
    return { verdict: 'warn', env: e.name, what: `cannot reach ${host} to check clock skew (${(err as Error).message})` };
  }
}

async function checkToken(e: EnvironmentConfig, scope: string, client: ReturnType<typeof createAgentClient>): Promise<Finding[]> {
  let got: TokenResponse;
  try {
    got = await client.call<TokenResponse>('POST', `/v1/environments/${encodeURIComponent(e.name)}/token`, { scope, caller: { program: 'aadbt-doctor' } });
  } catch (err) {
    if (!(err instanceof AadbtError)) throw err;
    return [{ verdict: 'fail', env: e.name, what: `token for ${scope}: ${err.message}`, fix: err.hint }];
  }
  const claims = decodeClaims(got.token);
  const out: Finding[] = [];
  const wanted = scope.replace(/\/\.default$/, '').replace(/\/+$/, '').toLowerCase();
  const aud = String(claims.aud ?? '').replace(/\/+$/, '').toLowerCase();
  out.push(aud === wanted
    ? { verdict: 'ok', env: e.name, what: `token for ${scope}: audience matches` }
    : { verdict: 'fail', env: e.name, what: `token for ${scope} has audience ${String(claims.aud)}`, fix: 'fix the scope under tokens: to the resource the service expects (e.g. https://database.windows.net/.default)' });
  const tid = String(claims.tid ?? '');
  if (e.tenant && /^[0-9a-f-]{36}$/i.test(e.tenant)) {
    out.push(tid.toLowerCase() === e.tenant.toLowerCase()
      ? { verdict: 'ok', env: e.name, what: `tenant ${tid} as configured` }
      : { verdict: 'fail', env: e.name, what: `the token is from tenant ${tid}, the config says ${e.tenant}`, fix: `set tenant: ${tid}, or sign in to ${e.tenant}` });
  }
  const idtyp = String(claims.idtyp ?? (claims.scp ? 'user' : 'app'));
  if (e.automation) {
    out.push(idtyp === 'app'
      ? { verdict: 'ok', env: e.name, what: 'an app identity, as automation needs' }
      : { verdict: 'fail', env: e.name, what: `a ${idtyp} identity in an automation environment`, fix: 'use workload-identity, managed-identity or a service principal' });
  }
  const life = (Number(claims.exp) - Number(claims.iat)) * 1000;
  if (Number.isFinite(life)) {
    out.push(e.minTtl > life
      ? { verdict: 'fail', env: e.name, what: `tokens live ${formatDuration(life)}, less than minTtl ${formatDuration(e.minTtl)}`, fix: 'lower minTtl, or use the az shim / --msi for long runs' }
      : { verdict: 'ok', env: e.name, what: `tokens live ${formatDuration(life)}` });
  }
  return out;
}
