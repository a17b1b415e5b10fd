// Entra-shaped error answers: `error`, `error_description` starting with the AADSTS code, `error_codes`, ids.
import { randomUUID } from 'node:crypto';
import { jsonReply, type HttpReply } from './http-reply.js';

/** The body Entra sends on a failed token request. */
export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

/** What the message may mention. Never a secret or an assertion: callers pass only these fields. */
export interface EntraErrorContext {
  /** Milliseconds since the epoch (from the injected clock). */
  now: number;
  /** The caller's `client-request-id`, echoed as Entra does; a fresh GUID otherwise. */
  correlationId?: string;
  baseUrl: string;
  tenant?: string;
  clientId?: string;
  scope?: string;
  parameter?: string;
  grantType?: string;
  /** Appended to the sentence, as Entra adds the assertion's issuer/subject/audience or times. Never a secret. */
  detail?: string;
  /** Overrides the catalogue's HTTP status (5xx faults). */
  status?: number;
  /** Extra response headers (Retry-After). */
  headers?: Record<string, string>;
}

interface CatalogueEntry { status: number; error: string; text(c: EntraErrorContext): string }

const q = (s: string | undefined): string => `'${s ?? ''}'`;

// The codes the dev provider produces, with Entra's status, error and wording.
const CATALOGUE: Record<number, CatalogueEntry> = {
  7000215: { status: 401, error: 'invalid_client', text: (c) => `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app ${q(c.clientId)}.` },
  7000222: { status: 401, error: 'invalid_client', text: (c) => `The provided client secret keys for app ${q(c.clientId)} are expired. Visit the Azure portal to create new keys for your app.` },
  7000218: { status: 401, error: 'invalid_client', text: () => `The request body must contain the following parameter: 'client_assertion' or 'client_secret'.` },
  700027: { status: 401, error: 'invalid_client', text: () => 'Client assertion failed signature validation.' },
  700024: { status: 401, error: 'invalid_client', text: () => 'Client assertion is not within its valid time range.' },
  7000112: { status: 401, error: 'unauthorized_client', text: (c) => `Application ${q(c.clientId)} is disabled.` },
  70021: { status: 400, error: 'invalid_request', text: () => 'No matching federated identity record found for presented assertion.' },
  700211: { status: 400, error: 'invalid_request', text: () => 'No matching federated identity record found for presented assertion issuer' },
  700212: { status: 400, error: 'invalid_request', text: () => 'No matching federated identity record found for presented assertion audience' },
  700213: { status: 400, error: 'invalid_request', text: () => 'No matching federated identity record found for presented assertion subject' },
  700016: { status: 400, error: 'unauthorized_client', text: (c) => `Application with identifier ${q(c.clientId)} was not found in the directory ${q(c.tenant)}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.` },
  500011: { status: 400, error: 'invalid_resource', text: (c) => `The resource principal named ${c.scope ?? ''} was not found in the tenant named ${c.tenant ?? ''}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.` },
  1002012: { status: 400, error: 'invalid_scope', text: (c) => `The provided value for scope ${c.scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).` },
  28000: { status: 400, error: 'invalid_scope', text: () => 'Provided value for the input parameter scope is not valid because it contains more than one resource.' },
  70011: { status: 400, error: 'invalid_scope', text: () => `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.` },
  900144: { status: 400, error: 'invalid_request', text: (c) => `The request body must contain the following parameter: ${q(c.parameter)}.` },
  90014: { status: 400, error: 'invalid_request', text: (c) => `The required field ${q(c.parameter)} is missing or invalid.` },
  70003: { status: 400, error: 'unsupported_grant_type', text: (c) => `The app requested an unsupported grant type ${q(c.grantType)}.` },
  90002: { status: 400, error: 'invalid_request', text: (c) => `Tenant ${q(c.tenant)} not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.` },
  53003: { status: 400, error: 'invalid_grant', text: () => 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.' },
  50076: { status: 400, error: 'invalid_grant', text: () => 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.' },
  50000: { status: 500, error: 'server_error', text: () => 'There was an error issuing a token or an issue with our sign-in service.' },
  90033: { status: 503, error: 'temporarily_unavailable', text: () => 'A transient error has occurred. Please try again.' },
  90055: { status: 429, error: 'temporarily_unavailable', text: () => 'TenantThrottlingThreshold: the number of requests has exceeded the throttling threshold. Retry after the interval in the Retry-After header.' },
};

const FALLBACK: CatalogueEntry = { status: 400, error: 'invalid_request', text: () => 'The dev identity provider was told to fail this request.' };

/** Entra's timestamp format: `2026-01-01 00:00:00Z`. */
function entraTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** HTTP status Entra uses for an AADSTS code (400 when the code is not in the catalogue). */
export function statusOfAadsts(code: number): number {
  return (CATALOGUE[code] ?? FALLBACK).status;
}

/** The AADSTS code for a bare HTTP status fault: 500 → 50000, 429 → 90055, other 5xx → 90033. */
export function aadstsOfStatus(status: number): number {
  return status === 500 ? 50000 : status === 429 ? 90055 : 90033;
}

/** Builds the whole answer for AADSTS `code`, with Entra's headers (`x-ms-request-id`, `client-request-id`). */
export function entraErrorReply(code: number, ctx: EntraErrorContext): HttpReply {
  const entry = CATALOGUE[code] ?? FALLBACK;
  const status = ctx.status ?? entry.status;
  const error = ctx.status !== undefined && ctx.status >= 500 && entry.status < 500 ? 'server_error' : entry.error;
  const traceId = randomUUID();
  const correlationId = ctx.correlationId ?? randomUUID();
  const timestamp = entraTimestamp(ctx.now);
  const body: EntraErrorBody = {
    error,
    error_description: `AADSTS${code}: ${entry.text(ctx)}${ctx.detail ? ` ${ctx.detail.replace(/[\r\n]+/g, ' ')}` : ''}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${ctx.baseUrl}/error?code=${code}`,
  };
  return jsonReply(status, body, { 'x-ms-request-id': traceId, 'client-request-id': correlationId, ...ctx.headers });
}
