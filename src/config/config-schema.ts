// The config file's schema (DESIGN §3) and the frozen shape the rest of aadbt reads.

import { z } from 'zod';
import { parseDuration } from '../duration.js';

const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/;
export const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const duration = (what: string) => z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value * 1000 : parseDuration(value);
  if (ms === undefined || ms < 0) {
    ctx.addIssue({ code: 'custom', message: `${what}: '${value}' is not a duration; write it like 90s, 15m, 1h or 400d` });
    return z.NEVER;
  }
  return ms;
});

const nonEmpty = z.string().min(1, 'must not be empty');

export const CREDENTIAL_TYPES = [
  'client-secret', 'client-certificate', 'workload-identity', 'managed-identity', 'azure-cli', 'device-code', 'browser', 'dev',
] as const;
// azure-cli can hold a service principal's login, so only the run-time idtyp check guards it.
export const INTERACTIVE_TYPES: ReadonlySet<string> = new Set(['device-code', 'browser']);

const clientSecret = z.strictObject({
  type: z.literal('client-secret'),
  clientId: nonEmpty,
  secretFile: nonEmpty.optional(),
  secretEnv: nonEmpty.optional(),
  secret: z.unknown().optional(),
});
const clientCertificate = z.strictObject({
  type: z.literal('client-certificate'),
  clientId: nonEmpty,
  certificateFile: nonEmpty,
  passwordEnv: nonEmpty.optional(),
});
const workloadIdentity = z.strictObject({
  type: z.literal('workload-identity'),
  clientId: nonEmpty,
  assertion: z.string().regex(/^(github-actions|azure-pipelines|env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/,
    'expected github-actions, azure-pipelines, env:VARIABLE or file:PATH'),
  serviceConnectionId: nonEmpty.optional(),
  audience: nonEmpty.optional(),
});
const managedIdentity = z.strictObject({
  type: z.literal('managed-identity'),
  clientId: nonEmpty.optional(),
  resourceId: nonEmpty.optional(),
});
const azureCli = z.strictObject({ type: z.literal('azure-cli') });
const deviceCode = z.strictObject({ type: z.literal('device-code'), clientId: nonEmpty.optional() });
const browser = z.strictObject({ type: z.literal('browser'), clientId: nonEmpty.optional() });
const dev = z.strictObject({
  type: z.literal('dev'),
  clientId: nonEmpty.optional(),
  groups: z.array(nonEmpty).optional(),
  idtyp: z.enum(['app', 'user']).optional(),
});

const credential = z.discriminatedUnion('type', [
  clientSecret, clientCertificate, workloadIdentity, managedIdentity, azureCli, deviceCode, browser, dev,
]);

const environment = z.strictObject({
  tenant: nonEmpty.optional(),
  authorityHost: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
  authorityCaFile: nonEmpty.optional(),
  graphHost: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
  automation: z.boolean().default(false),
  credential,
  tokens: z.record(z.string().regex(VARIABLE_NAME, 'variable names are A-Z, 0-9 and _ and do not start with a digit'), nonEmpty)
    .refine((t) => Object.keys(t).length > 0, 'name at least one token: VARIABLE: scope'),
  targets: z.array(nonEmpty).default([]),
  access: z.strictObject({
    groups: z.array(z.string().regex(GUID, 'group ids are Entra object ids (GUIDs)')).min(1),
    cacheFor: duration('cacheFor').default(300_000),
  }).optional(),
  refresh: z.strictObject({
    ahead: duration('ahead').default(900_000),
    prewarm: nonEmpty.optional(),
  }).default({ ahead: 900_000 }),
  minTtl: duration('minTtl').default(0),
});

export const configSchema = z.strictObject({
  default: nonEmpty.optional(),
  environments: z.record(z.string().regex(ENVIRONMENT_NAME, 'environment names are letters, digits, ".", "_" and "-"'), environment)
    .refine((e) => Object.keys(e).length > 0, 'define at least one environment'),
  agent: z.strictObject({
    status: z.strictObject({ port: z.number().int().min(0).max(65535).default(7878) }).default({ port: 7878 }),
  }).default({ status: { port: 7878 } }),
  audit: z.strictObject({ retainDays: z.number().int().min(1).default(400) }).default({ retainDays: 400 }),
});

export type CredentialConfig = z.output<typeof credential>;
export type EnvironmentConfig = z.output<typeof environment> & { name: string };
export interface AadbtConfig {
  /** The file it came from, or `<demo>` for the built-in demo. */
  readonly source: string;
  readonly default: string | undefined;
  readonly environments: Readonly<Record<string, Readonly<EnvironmentConfig>>>;
  readonly agent: { readonly status: { readonly port: number } };
  readonly audit: { readonly retainDays: number };
}
