// `aadbt doctor [ENV] [--json]`: explains what is wrong with an environment, one finding a line, each with its fix.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TokenResponse } from '../../agent/api-contract.js';
import { resolvePaths } from '../../config/config-paths.js';
import type { AadbtConfig, EnvironmentConfig } from '../../config/config-schema.js';
import { configuredScopes, resourceOfScope } from '../../config/scope-match.js';
import { formatDuration } from '../../duration.js';
import { AadbtError, EXIT, UsageError } from '../../errors.js';
import { readCertificateMaterial } from '../../identity/certificate-material.js';
import { redactText } from '../../log.js';
import { decodeClaims, principalOf } from '../../tokens/token-cache.js';
import type { AgentClient } from '../agent-client.js';
import { withAgent } from '../agent-connection.js';
import type { CliIo } from '../cli-io.js';

export type Verdict = 'ok' | 'warn' | 'fail';
/** One line of the report: what was found and, unless it is fine, what to do. */
export interface Finding { verdict: Verdict; env?: string; what: string; fix?: string }

const HELP = `usage: aadbt doctor [ENV] [--json] [--config FILE] [--no-autostart]

Checks the config, credential files (permissions, certificate dates), the tenant and clock skew against
the identity provider, and each configured token, fetched through the agent and decoded (never printed):
audience, tenant, identity type, lifetime and group access. One line per finding:
  ok|warn|fail  what  → fix
Exits 1 when anything fails.
`;

/** Entra and most resources allow 5 minutes of clock skew; beyond it tokens are "not yet valid" or expired early. */
const MAX_SKEW_MS = 5 * 60_000;
/** Certificates closer than this to expiry are flagged for rotation. */
const CERT_WARN_MS = 30 * 86_400_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTERACTIVE = new Set(['device-code', 'browser', 'azure-cli']);
/** Microsoft resources by URI and by app id (v2 tokens carry the app id as aud), both mapped to the app id. */
const KNOWN_RESOURCES: Record<string, string> = Object.fromEntries(Object.entries({
  'https://database.windows.net': '022907d3-0f1b-48f7-badc-1ba6abab6d66',
  'https://graph.microsoft.com': '00000003-0000-0000-c000-000000000000',
  'https://storage.azure.com': 'e406a681-f3d4-42a8-90b6-c2b029497af1',
  'https://management.azure.com': '797f4846-ba00-4fd7-ba43-dac1f8f63013',
  'https://management.core.windows.net': '797f4846-ba00-4fd7-ba43-dac1f8f63013',
  'https://analysis.windows.net/powerbi/api': '00000009-0000-0000-c000-000000000000',
  'https://vault.azure.net': 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093',
  '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d': '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', // Azure Databricks
  '499b84ac-1321-427f-aa17-267ca6975798': '499b84ac-1321-427f-aa17-267ca6975798', // Azure DevOps
}).flatMap(([uri, id]) => [[uri, id], [id, id]]));

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      json: { type: 'boolean' }, socket: { type: 'string' }, config: { type: 'string' },
      'no-autostart': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  if (positionals.length > 1) throw new UsageError(`one environment at most, got ${positionals.join(' ')}`);
  const env = { ...io.env, ...(values.socket ? { AADBT_SOCKET: values.socket } : {}), ...(values.config ? { AADBT_CONFIG: values.config } : {}) };
  const findings = await diagnose(positionals[0], env, { autostart: values['no-autostart'] ? false : undefined });
  if (values.json) io.out(JSON.stringify({ ok: !findings.some((f) => f.verdict === 'fail'), findings }, null, 2) + '\n');
  else io.out(findings.map(formatFinding).join('\n') + '\n');
  return findings.some((f) => f.verdict === 'fail') ? EXIT.usage : EXIT.ok;
}

/** `fail  prod: what  → fix` */
export function formatFinding(f: Finding): string {
  return `${f.verdict.padEnd(5)} ${f.env ? `${f.env}: ` : ''}${f.what}${f.fix ? `  → ${f.fix}` : ''}`;
}

/** Every finding for one environment (or all): config, files, provider, tokens. Throws only for a bad ENV argument. */
export async function diagnose(only: string | undefined, env: NodeJS.ProcessEnv, options: { autostart?: boolean } = {}): Promise<Finding[]> {
  const findings: Finding[] = [];
  const paths = resolvePaths(env);
  const { loadConfigFile, runningInCi } = await import('../../config/load-config.js');
  const { isValidCron } = await import('../../agent/scheduler.js');
  const ci = runningInCi(env);
  let config: AadbtConfig | undefined;
  try {
    if (!paths.configExplicit && !existsSync(paths.configFile)) {
      // What the agent serves then (`npm start`, or autostart with no config): the demo environments.
      config = (await import('../../config/demo-config.js')).demoConfig();
      findings.push({ verdict: 'warn', what: `no config at ${paths.configFile}: checking the demo environments of \`aadbt agent --dev\``,
        fix: 'for your tenant, create that file (README "Configuration")' });
    } else {
      config = loadConfigFile(paths.configFile, { validateCron: isValidCron, ci });
      findings.push({ verdict: 'ok', what: `config ${paths.configFile} is valid` });
    }
  } catch (err) {
    if (!(err instanceof AadbtError)) throw err;
    const problems = (err as { problems?: string[] }).problems ?? [];
    if (problems.length === 0) findings.push({ verdict: 'fail', what: err.message.split('\n')[0], fix: err.hint });
    for (const p of problems) {
      const [what, fix] = p.split(' → ');
      findings.push({ verdict: 'fail', what, fix: fix ?? err.hint });
    }
  }
  findings.push({ verdict: 'ok', what: ci ? 'CI detected (CI=true): sign-ins of people are refused here' : 'not in CI: interactive sign-in allowed where configured' });
  if (!config) return findings;
  const names = only ? [only] : Object.keys(config.environments);
  for (const name of names) {
    if (!config.environments[name]) throw new UsageError(`no environment '${name}'`, `known environments: ${Object.keys(config.environments).join(', ')}`);
  }

  let agentUp = true;
  const tokenFindings: Finding[] = [];
  try {
    await withAgent({ env, autostart: options.autostart }, async (client) => {
      await client.call('GET', '/v1/status');
      for (const name of names) {
        for (const scope of configuredScopes(config.environments[name])) tokenFindings.push(...await checkToken(config.environments[name], scope, client));
      }
    });
  } catch (err) {
    if (!(err instanceof AadbtError) || err.code !== 'AGENT_UNREACHABLE') throw err;
    agentUp = false;
  }
  findings.push(agentUp
    ? { verdict: 'ok', what: `agent answers on ${paths.socketPath}` }
    : { verdict: 'warn', what: `no agent at ${paths.socketPath}; token checks skipped`, fix: 'start one with `aadbt agent`, then run `aadbt doctor` again' });

  for (const name of names) {
    const e = config.environments[name];
    findings.push(...checkScopes(e), ...checkFiles(e, env));
    const authority = await checkAuthority(e);
    findings.push(...authority);
    // Several scopes of one identity say the same about tenant, type and lifetime: once is enough.
    const seen = new Set<string>();
    findings.push(...tokenFindings.filter((f) => f.env === name && !seen.has(f.what) && seen.add(f.what)));
  }
  return findings;
}

function checkScopes(e: EnvironmentConfig): Finding[] {
  if (INTERACTIVE.has(e.credential.type)) return [];
  return configuredScopes(e).filter((s) => !s.endsWith('/.default')).map((s) => ({
    verdict: 'fail' as const, env: e.name, what: `scope '${s}' does not end in /.default, and app identities can only ask for RESOURCE/.default`,
    fix: `write ${s.replace(/\/+$/, '')}/.default under tokens:`,
  }));
}

function checkFiles(e: EnvironmentConfig, env: NodeJS.ProcessEnv): Finding[] {
  const c = e.credential;
  const file = c.type === 'client-secret' ? c.secretFile : c.type === 'client-certificate' ? c.certificateFile : undefined;
  if (!file) return [];
  const out: Finding[] = [];
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (err) {
    return [{ verdict: 'fail', env: e.name, what: `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, fix: 'check the path in the config and the file\'s owner' }];
  }
  const octal = mode.toString(8).padStart(4, '0');
  out.push((mode & 0o077) !== 0
    ? { verdict: 'fail', env: e.name, what: `${file} is readable by ${mode & 0o004 ? 'everyone' : 'its group'} (mode ${octal}), and it holds a credential`, fix: `chmod 600 ${file}` }
    : { verdict: 'ok', env: e.name, what: `${file} is private (mode ${octal})` });
  if (c.type === 'client-certificate') out.push(checkCertificate(e, c.certificateFile, c.passwordEnv, env));
  return out;
}

function checkCertificate(e: EnvironmentConfig, file: string, passwordEnv: string | undefined, env: NodeJS.ProcessEnv): Finding {
  let notAfter: Date;
  let thumbprint: string;
  try {
    // PEM or PFX, opened in memory the way the agent opens it.
    const material = readCertificateMaterial(file, passwordEnv ? env[passwordEnv] : undefined, passwordEnv);
    notAfter = material.notAfter;
    thumbprint = material.thumbprint;
  } catch (err) {
    if (!(err instanceof AadbtError)) throw err;
    return { verdict: 'fail', env: e.name, what: err.message, fix: err.hint };
  }
  const left = notAfter.getTime() - Date.now();
  if (left <= 0) {
    return { verdict: 'fail', env: e.name, what: `the certificate ${thumbprint} in ${file} expired on ${notAfter.toISOString()}`,
      fix: 'make a new certificate, upload its public part to the app registration (Certificates & secrets), and replace certificateFile' };
  }
  return left < CERT_WARN_MS
    ? { verdict: 'warn', env: e.name, what: `the certificate ${thumbprint} expires in ${formatDuration(left)} (${notAfter.toISOString()})`, fix: 'rotate it before then: upload a new one to the app registration, then replace certificateFile' }
    : { verdict: 'ok', env: e.name, what: `the certificate ${thumbprint} is valid until ${notAfter.toISOString()}` };
}

interface Answer { status: number; date?: string; body: string; sent: number; received: number }

/**
 * Asks the identity provider for the tenant's OpenID configuration: the tenant must exist there, and the
 * answer's Date header measures this machine's clock against the provider's.
 */
async function checkAuthority(e: EnvironmentConfig): Promise<Finding[]> {
  if (e.credential.type === 'dev' && !e.authorityHost) return []; // the agent's own embedded provider
  if (e.credential.type === 'managed-identity' && !e.tenant && !e.authorityHost) return [];
  const host = (e.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const tenant = e.tenant ?? 'organizations';
  let answer: Answer;
  try {
    const ca = e.authorityCaFile ? readFileSync(e.authorityCaFile, 'utf8') : undefined;
    answer = await get(`${host}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration`, ca);
  } catch (err) {
    return [{ verdict: 'warn', env: e.name, what: `cannot reach ${host} to check the tenant and clock skew (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      fix: 'check the network path, authorityHost and authorityCaFile' }];
  }
  const out: Finding[] = [];
  let body: { issuer?: string; error_codes?: number[]; error_description?: string } = {};
  try { body = JSON.parse(answer.body); } catch { /* not JSON: judged by status below */ }
  if (answer.status === 200) {
    const tid = /\/([0-9a-f-]{36})\/v2\.0\/?$/i.exec(body.issuer ?? '')?.[1];
    out.push({ verdict: 'ok', env: e.name, what: `tenant ${tenant} is known to ${host}${tid && tid !== tenant ? ` (id ${tid})` : ''}` });
  } else if (body.error_codes?.includes(90002) || body.error_codes?.includes(900023)) {
    out.push({ verdict: 'fail', env: e.name, what: `${host} does not know tenant '${tenant}' (AADSTS${body.error_codes.includes(90002) ? 90002 : 900023})`,
      fix: 'set tenant: to your directory\'s GUID or verified domain (Azure portal → Microsoft Entra ID → Overview → Tenant ID)' });
  } else {
    out.push({ verdict: 'warn', env: e.name, what: `${host} answered HTTP ${answer.status} for tenant '${tenant}'s OpenID configuration` });
  }
  if (!answer.date) {
    out.push({ verdict: 'warn', env: e.name, what: `${host} sent no Date header; clock skew not checked` });
    return out;
  }
  // HTTP dates are truncated to the second (so add half of one) and are stamped mid-round-trip.
  const skew = Math.round(((answer.sent + answer.received) / 2 - (Date.parse(answer.date) + 500)) / 1000) * 1000;
  out.push(Math.abs(skew) > MAX_SKEW_MS
    ? { verdict: 'fail', env: e.name, what: `this machine's clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} the identity provider (over ${formatDuration(MAX_SKEW_MS)} breaks token validation)`,
      fix: 'turn on time sync: sudo timedatectl set-ntp true (or fix the VM/container host clock)' }
    : { verdict: 'ok', env: e.name, what: `clock within ${formatDuration(Math.abs(skew) + 1000)} of the identity provider` });
  return out;
}

async function get(url: string, ca: string | undefined): Promise<Answer> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const sent = Date.now();
    const req = request(url, { method: 'GET', ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { if (body.length < 64_000) body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, date: res.headers.date, body, sent, received: Date.now() }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

async function checkToken(e: EnvironmentConfig, scope: string, client: AgentClient): Promise<Finding[]> {
  let got: TokenResponse;
  try {
    got = await client.call<TokenResponse>('POST', `/v1/environments/${encodeURIComponent(e.name)}/token`, { scope, caller: { program: 'aadbt-doctor' } });
  } catch (err) {
    if (!(err instanceof AadbtError) || err.code === 'AGENT_UNREACHABLE') throw err;
    const what = `token for ${scope}: ${redactText(err.message)}`;
    if (err.code === 'UNKNOWN_ENVIRONMENT') return [{ verdict: 'warn', env: e.name, what, fix: 'the agent runs an older config: reload it (kill -HUP the agent, or restart it)' }];
    return [{ verdict: 'fail', env: e.name, what, fix: err.hint }];
  }
  return tokenFindings(e, scope, decodeClaims(got.token));
}

/** What a token's claims say about its environment: audience, tenant, identity type, lifetime, access. */
export function tokenFindings(e: EnvironmentConfig, scope: string, claims: Record<string, unknown>): Finding[] {
  const out: Finding[] = [];
  const resource = resourceOfScope(scope);
  const aud = resourceOfScope(String(claims.aud ?? ''));
  const same = aud === resource || (KNOWN_RESOURCES[aud] ?? aud) === (KNOWN_RESOURCES[resource] ?? resource);
  if (same) out.push({ verdict: 'ok', env: e.name, what: `token for ${scope}: audience ${String(claims.aud)} matches` });
  else if (GUID.test(aud) !== GUID.test(resource) && !(KNOWN_RESOURCES[aud] || KNOWN_RESOURCES[resource])) {
    // v2 tokens name the resource by its app id; for a resource not in the table that cannot be told offline.
    out.push({ verdict: 'ok', env: e.name, what: `token for ${scope}: audience is the app id ${String(claims.aud)} (not checked against ${resource})` });
  } else {
    out.push({ verdict: 'fail', env: e.name, what: `token for ${scope} is for audience ${String(claims.aud)}, not ${resource}`,
      fix: 'set the scope under tokens: to the resource the service expects (Fabric/Synapse: https://database.windows.net/.default, Databricks: 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default)' });
  }
  const tid = typeof claims.tid === 'string' ? claims.tid : undefined;
  if (tid && e.tenant && GUID.test(e.tenant)) {
    out.push(tid.toLowerCase() === e.tenant.toLowerCase()
      ? { verdict: 'ok', env: e.name, what: `token from tenant ${tid}, as configured` }
      : { verdict: 'fail', env: e.name, what: `the token is from tenant ${tid}, and the config says ${e.tenant}`, fix: `set tenant: ${tid} if that is the right directory, or sign in to ${e.tenant} (az login --tenant ${e.tenant})` });
  }
  const idtyp = principalOf(claims).idtyp ?? 'app'; // as the agent records it in status and the audit log
  if (e.automation) {
    out.push(idtyp === 'app'
      ? { verdict: 'ok', env: e.name, what: 'an app identity, as automation: true requires' }
      : { verdict: 'fail', env: e.name, what: `a ${idtyp} identity (a person) in an automation environment`, fix: 'use workload-identity, managed-identity or client-certificate for automation' });
  } else {
    out.push({ verdict: 'ok', env: e.name, what: `identity type ${idtyp}${typeof claims.upn === 'string' ? ` (${claims.upn})` : ''}` });
  }
  const iat = Number(claims.iat);
  const exp = Number(claims.exp);
  if (Number.isFinite(iat) && Number.isFinite(exp)) {
    const life = (exp - iat) * 1000;
    out.push(e.minTtl > life
      ? { verdict: 'fail', env: e.name, what: `tokens live ${formatDuration(life)}, less than minTtl ${formatDuration(e.minTtl)}`, fix: 'lower minTtl, or use the az shim / --msi so long runs fetch fresh tokens' }
      : { verdict: 'ok', env: e.name, what: `tokens live ${formatDuration(life)}${e.minTtl ? ` (minTtl ${formatDuration(e.minTtl)})` : ''}` });
  }
  if (e.access) {
    // The agent served it, so its access gate (groups claim or Graph) accepted this identity.
    out.push({ verdict: 'ok', env: e.name, what: `member of a required group (${e.access.groups.join(', ')})` });
  }
  return out;
}
