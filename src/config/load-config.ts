// Reads, parses and validates the config, reporting every problem at once with file, line and path.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, CREDENTIAL_TYPES, INTERACTIVE_TYPES, type AadbtConfig, type EnvironmentConfig } from './config-schema.js';

export interface LoadConfigOptions {
  /** Checks a cron expression; injected so config/ does not import the scheduler's library. */
  validateCron?: (expression: string) => boolean;
  /** Running in CI (CI=true): sign-ins of people cannot work there and are refused. */
  ci?: boolean;
}

/** CI=true (or 1), as GitHub Actions, Azure Pipelines, GitLab and most CI systems set it. */
export function runningInCi(env: NodeJS.ProcessEnv): boolean {
  return ['true', '1'].includes(String(env.CI ?? '').toLowerCase());
}

interface Problem { path: (string | number)[]; message: string; hint?: string }

/** Loads a config file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, options: LoadConfigOptions = {}): AadbtConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot read the config (${code ?? 'error'})`, [],
      code === 'ENOENT' ? 'create it (see README "Configuration"), or run `aadbt agent --dev` for the demo environments' : 'check its permissions');
  }
  return parseConfig(text, file, options);
}

/** Parses config text; `source` names the file in messages. */
export function parseConfig(text: string, source: string, options: LoadConfigOptions = {}): AadbtConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${source}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
    });
    throw new ConfigError(`${source}: not valid YAML\n  ${lines.join('\n  ')}`, lines, 'fix the YAML syntax at the line shown');
  }
  const raw = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  const problems: Problem[] = parsed.success ? [] : parsed.error.issues.map(describeIssue);
  if (parsed.success) problems.push(...crossChecks(parsed.data, options));
  if (problems.length > 0) {
    const where = (p: (string | number)[]) => {
      const node = p.length ? doc.getIn(p, true) ?? doc.getIn(p.slice(0, -1), true) : undefined;
      const offset = isNode(node) && node.range ? node.range[0] : undefined;
      return offset === undefined ? '' : `${lineCounter.linePos(offset).line}:`;
    };
    const lines = problems.map((p) =>
      `${source}:${where(p.path)} ${p.path.join('.') || '(top level)'}: ${p.message}${p.hint ? ` → ${p.hint}` : ''}`);
    throw new ConfigError(`${source}: ${problems.length} problem${problems.length > 1 ? 's' : ''} in the config\n  ${lines.join('\n  ')}`, lines,
      'fix each line above, then run `aadbt config check`');
  }
  return freezeConfig(parsed.data!, source);
}

type ParsedConfig = z.output<typeof configSchema>;

export function freezeConfig(data: ParsedConfig, source: string): AadbtConfig {
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, env] of Object.entries(data.environments)) environments[name] = deepFreeze({ ...env, name });
  return deepFreeze({
    source,
    default: data.default ?? (Object.keys(environments).length === 1 ? Object.keys(environments)[0] : undefined),
    environments,
    agent: data.agent,
    audit: data.audit,
  });
}

function describeIssue(issue: z.core.$ZodIssue): Problem {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  switch (issue.code) {
    case 'unrecognized_keys':
      return { path, message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`, hint: 'remove it or check the spelling' };
    case 'invalid_union':
      if ((issue as { discriminator?: string }).discriminator === 'type' || (issue as { note?: string }).note === 'No matching discriminator') {
        return { path: [...path, ...(path.at(-1) === 'type' ? [] : ['type'])], message: `expected one of ${CREDENTIAL_TYPES.join(', ')}` };
      }
      return { path, message: 'is not valid here' };
    case 'invalid_type':
      return issue.input === undefined
        ? { path, message: `is required (${issue.expected})` }
        : { path, message: `expected ${issue.expected}, got ${describe(issue.input)}` };
    case 'invalid_key': {
      // A record key that fails its schema: zod nests the key's own issue.
      const key = String(path.at(-1) ?? '');
      const suggestion = key.toUpperCase().replace(/[^A-Z0-9_]/g, '_').replace(/^(\d)/, '_$1');
      return { path, message: issue.issues[0]?.message ?? 'is not a valid key', hint: `rename it, e.g. to ${suggestion}` };
    }
    case 'invalid_value':
      return { path, message: `expected one of ${issue.values.map(String).join(', ')}` };
    default:
      return { path, message: issue.message };
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} '${String(value)}'`;
}

function crossChecks(config: ParsedConfig, options: LoadConfigOptions): Problem[] {
  const problems: Problem[] = [];
  const names = Object.keys(config.environments);
  if (config.default !== undefined && !names.includes(config.default)) {
    problems.push({ path: ['default'], message: `names no environment ('${config.default}')`, hint: `use one of ${names.join(', ')}` });
  }
  const targetOwner = new Map<string, string>();
  for (const [name, env] of Object.entries(config.environments)) {
    const at = (...p: (string | number)[]) => ['environments', name, ...p];
    const cred = env.credential;
    if (cred.type === 'client-secret') {
      if (cred.secret !== undefined) {
        problems.push({ path: at('credential', 'secret'), message: 'an inline secret is refused', hint: 'put it in a file (secretFile, mode 0600) or an environment variable (secretEnv)' });
      } else if (!cred.secretFile === !cred.secretEnv) {
        problems.push({ path: at('credential'), message: 'needs exactly one of secretFile or secretEnv' });
      }
    }
    if (INTERACTIVE_TYPES.has(cred.type) && env.automation) {
      problems.push({ path: at('credential', 'type'), message: `'${cred.type}' is a person's sign-in, and this environment has automation: true`,
        hint: 'use workload-identity (federated, no stored secret), managed-identity or client-certificate' });
    }
    if (INTERACTIVE_TYPES.has(cred.type) && options.ci && !env.automation) {
      problems.push({ path: at('credential', 'type'), message: `'${cred.type}' needs a person at a browser, and this is CI (CI=true)`,
        hint: 'use workload-identity: CI proves who it is with its own OIDC token, and stores no secret' });
    }
    if (env.refresh.prewarm !== undefined && options.validateCron && !options.validateCron(env.refresh.prewarm)) {
      problems.push({ path: at('refresh', 'prewarm'), message: `'${env.refresh.prewarm}' is not a cron expression`, hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "50 1 * * *"' });
    }
    for (const target of env.targets) {
      const owner = targetOwner.get(target);
      if (owner) problems.push({ path: at('targets'), message: `target '${target}' is already claimed by environment '${owner}'`, hint: 'a dbt target selects one environment' });
      targetOwner.set(target, name);
    }
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
