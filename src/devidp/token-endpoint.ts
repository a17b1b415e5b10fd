// The dev identity provider's token endpoint: client credentials with a secret or an assertion.
import type { Clock, TimerHandle } from '../clock.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { ClientRegistry } from './client-registry.js';
import { aadstsOfStatus, entraErrorReply, type EntraErrorContext } from './entra-error.js';
import type { FaultPlan, FailingFault } from './faults.js';
import { jsonReply, type HttpReply } from './http-reply.js';
import { accessTokenClaims } from './token-claims.js';
import type { TokenSigner } from './token-signer.js';

/**
 * true accepts; false rejects with AADSTS700027; `{ aadsts }` rejects with that code, and `detail` (never the
 * assertion itself: issuer, subject, times) is appended to Entra's description as Entra does.
 */
export type AssertionVerdict = boolean | { aadsts: number; detail?: string };

export interface AssertionContext {
  clientId: string;
  tenantId: string;
  /** The token endpoint URL (an assertion's `aud` for certificate credentials). */
  tokenEndpoint: string;
  /** Milliseconds since the epoch, from the provider's clock. */
  now: number;
}

/** Decides whether a client assertion proves the client. It must not log or keep the assertion. */
export type AssertionVerifier = (assertion: string, ctx: AssertionContext) => AssertionVerdict | Promise<AssertionVerdict>;

/** The default: no federation is configured, so every assertion fails. */
export const rejectAllAssertions: AssertionVerifier = () => false;

export interface TokenEndpointDeps {
  tenantId: string;
  clock: Clock;
  registry: ClientRegistry;
  signer: TokenSigner;
  faults: FaultPlan;
  deniedScopes: ReadonlySet<string>;
  /** Late-bound: the port is known only once the server listens. */
  baseUrl(): string;
  issuer(): string;
  lifetimeSeconds(): number;
  verifier(): AssertionVerifier;
}

export interface TokenRequestMeta {
  /** The caller's `client-request-id` header, when it is a GUID. */
  correlationId?: string;
}

export interface TokenRequestFilter { clientId?: string; scope?: string }

export interface TokenEndpoint {
  /** Answers one form-encoded token request (every attempt is counted first). */
  handle(form: URLSearchParams, meta: TokenRequestMeta): Promise<HttpReply>;
  count(filter?: TokenRequestFilter): number;
  issued(): readonly string[];
  /** Drops latency timers still waiting (on close). */
  cancelPending(): void;
  /** Signs a token for a registered client without a request (fakes of other token services hand these out). */
  mint(clientId: string, scope: string): Promise<MintedToken>;
}

export interface MintedToken {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  /** Epoch seconds, on the provider's clock. */
  expiresOn: number;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// MSAL may add these OIDC scopes; they never name a resource.
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function knownResourceShape(resource: string): boolean {
  return GUID.test(resource) || /^https:\/\/[^/\s]+(\/\S*)?$/i.test(resource) || /^api:\/\/\S+$/i.test(resource);
}

export function createTokenEndpoint(deps: TokenEndpointDeps): TokenEndpoint {
  const seen: { clientId: string; scopes: string[] }[] = [];
  const issued: string[] = [];
  const timers = new Set<TimerHandle>();

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = deps.clock.setTimeout(() => {
        timers.delete(handle);
        resolve();
      }, ms);
      timers.add(handle);
    });
  }

  function faultReply(fault: FailingFault, ctx: EntraErrorContext): HttpReply {
    switch (fault.kind) {
      case 'status': return entraErrorReply(aadstsOfStatus(fault.status), { ...ctx, status: fault.status });
      case 'throttle': return entraErrorReply(90055, { ...ctx, status: 429, headers: { 'retry-after': String(fault.retryAfterSeconds) } });
      case 'aadsts': return entraErrorReply(fault.code, ctx);
    }
  }

  async function handle(form: URLSearchParams, meta: TokenRequestMeta): Promise<HttpReply> {
    const clientId = form.get('client_id') ?? '';
    const scopeParam = form.get('scope') ?? '';
    const scopes = scopeParam.split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s));
    seen.push({ clientId, scopes });

    const decision = deps.faults.decide();
    if (decision.delayMs > 0) await delay(decision.delayMs);
    const ctx: EntraErrorContext = {
      now: deps.clock.now(), correlationId: meta.correlationId, baseUrl: deps.baseUrl(), tenant: deps.tenantId, clientId: clientId || undefined,
    };
    if (decision.fail) return faultReply(decision.fail, ctx);

    const grantType = form.get('grant_type');
    if (!grantType) return entraErrorReply(900144, { ...ctx, parameter: 'grant_type' });
    if (grantType !== 'client_credentials') return entraErrorReply(70003, { ...ctx, grantType: grantType.slice(0, 64) });
    if (!clientId) return entraErrorReply(900144, { ...ctx, parameter: 'client_id' });
    const client = deps.registry.get(clientId);
    if (!client) return entraErrorReply(700016, ctx);

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    let authMethod: 'secret' | 'assertion';
    if (secret !== null && assertion !== null) return entraErrorReply(90014, { ...ctx, parameter: 'client_secret or client_assertion, not both' });
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== JWT_BEARER) return entraErrorReply(90014, { ...ctx, parameter: 'client_assertion_type' });
      let verdict: AssertionVerdict;
      try {
        verdict = await deps.verifier()(assertion, {
          clientId, tenantId: deps.tenantId, tokenEndpoint: `${deps.baseUrl()}/${deps.tenantId}/oauth2/v2.0/token`, now: deps.clock.now(),
        });
      } catch {
        verdict = false; // a verifier that throws rejects; its message could quote the assertion, so it is dropped
      }
      if (verdict !== true) return verdict === false ? entraErrorReply(700027, ctx) : entraErrorReply(verdict.aadsts, { ...ctx, detail: verdict.detail });
      authMethod = 'assertion';
    } else if (secret !== null) {
      if (!deps.registry.checkSecret(clientId, secret)) return entraErrorReply(7000215, ctx);
      authMethod = 'secret';
    } else {
      return entraErrorReply(7000218, ctx);
    }

    if (!scopeParam) return entraErrorReply(900144, { ...ctx, parameter: 'scope' });
    if (scopes.length === 0) return entraErrorReply(70011, ctx);
    if (scopes.length > 1) return entraErrorReply(28000, ctx);
    const scope = scopes[0];
    if (!scope.endsWith('/.default')) return entraErrorReply(1002012, { ...ctx, scope });
    const resource = scope.slice(0, -'/.default'.length);
    if (deps.deniedScopes.has(scope) || !knownResourceShape(resource)) return entraErrorReply(500011, { ...ctx, scope: resource });

    const lifetime = deps.lifetimeSeconds();
    const token = await deps.signer.sign(accessTokenClaims({
      client, scope, issuer: deps.issuer(), tenantId: deps.tenantId, now: deps.clock.now(), lifetimeSeconds: lifetime, authMethod,
    }));
    issued.push(token);
    return jsonReply(200, {
      token_type: 'Bearer',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      ...(lifetime >= 7200 ? { refresh_in: Math.floor(lifetime / 2) } : {}),
      access_token: token,
    }, meta.correlationId ? { 'client-request-id': meta.correlationId } : {});
  }

  async function mint(clientId: string, scope: string): Promise<MintedToken> {
    const client = deps.registry.get(clientId);
    if (!client) throw new NotFoundError(`devidp: no client '${clientId}' is registered`, 'call registerClient first');
    if (!scope.endsWith('/.default') || !knownResourceShape(scope.slice(0, -'/.default'.length))) {
      throw new UsageError(`devidp: '${scope}' is not a RESOURCE/.default scope`);
    }
    const lifetime = deps.lifetimeSeconds();
    const now = deps.clock.now();
    const accessToken = await deps.signer.sign(accessTokenClaims({
      client, scope, issuer: deps.issuer(), tenantId: deps.tenantId, now, lifetimeSeconds: lifetime, authMethod: 'assertion',
    }));
    issued.push(accessToken);
    return { accessToken, expiresIn: lifetime, expiresOn: Math.floor(now / 1000) + lifetime };
  }

  return {
    handle,
    mint,
    count: (filter = {}) => seen.filter((r) =>
      (filter.clientId === undefined || r.clientId === filter.clientId)
      && (filter.scope === undefined || r.scopes.includes(filter.scope))).length,
    issued: () => [...issued],
    cancelPending() {
      for (const t of timers) t.cancel();
      timers.clear();
    },
  };
}
