// The embedded development identity provider (DESIGN §6): an Entra-compatible issuer on HTTPS at loopback.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../clock.js';
import { AadbtError, UsageError, toErrorBody } from '../errors.js';
import { createClientRegistry, type DevClient } from './client-registry.js';
import { createDevCa } from './dev-ca.js';
import { entraErrorReply } from './entra-error.js';
import { createFaultPlan, parseDevFault, type DevFault } from './faults.js';
import { jsonReply, noContent, type HttpReply } from './http-reply.js';
import { openIdConfiguration } from './openid-configuration.js';
import { createClientAssertionVerifier, type FederatedCredential } from './client-assertion-verifier.js';
import { createFakeGraph } from './fake-graph.js';
import { createTokenEndpoint, type AssertionVerifier, type MintedToken } from './token-endpoint.js';
import { createTokenSigner } from './token-signer.js';

export type { DevClient } from './client-registry.js';
export type { DevFault } from './faults.js';
export type { AssertionContext, AssertionVerdict, AssertionVerifier, MintedToken } from './token-endpoint.js';
export type { FederatedCredential } from './client-assertion-verifier.js';
export { TOKEN_EXCHANGE_AUDIENCE } from './client-assertion-verifier.js';

/** The tenant id used when none is given (fixed, so scripts and audit rows stay comparable across runs). */
export const DEV_TENANT_ID = '7e57a11d-0000-4000-8000-00000000aadb';
/** A domain alias accepted in the tenant path segment, like contoso.onmicrosoft.com. */
export const DEV_TENANT_DOMAIN = 'dev.aadbt.local';
/** Scopes refused with AADSTS500011 unless `deniedScopes` says otherwise. */
export const DEFAULT_DENIED_SCOPES: readonly string[] = ['https://unknown.example/.default'];

export interface DevIdp {
  /** `https://127.0.0.1:PORT`: use as authorityHost. */
  readonly url: string;
  /** PEM of the ephemeral CA, to trust via the pipeline's tlsOptions. */
  readonly caPem: string;
  /** A GUID. */
  readonly tenantId: string;
  /** `iss` of its tokens and of discovery: `${url}/${tenantId}/v2.0`. */
  readonly issuer: string;
  /** Registers (or replaces) a client; returns the secret (generated when not given). */
  registerClient(client: DevClient): string;
  /** Removes a secret so requests with it fail with AADSTS7000215 (secret rotation tests). */
  revokeSecret(clientId: string, secret: string): void;
  addSecret(clientId: string, secret: string): void;
  /** Lifetime of tokens issued from now on; default 3600. */
  setTokenLifetime(seconds: number): void;
  injectFault(fault: DevFault): void;
  clearFaults(): void;
  /**
   * Replaces the client-assertion check; undefined restores the built-in one, which accepts what
   * addFederatedCredential and registerCertificate allow and answers like Entra otherwise
   * (70021 no federated credential, 700211/700213/700212 no match for the issuer/subject/audience, 700024 expired,
   * 700027 bad signature or unknown key).
   */
  setAssertionVerifier(verifier: AssertionVerifier | undefined): void;
  /**
   * Lets CI tokens from `issuer` with `subject` and `audience` stand in for the app's secret; the signature is
   * checked against the issuer's JWKS (inline, or fetched through its discovery document). Registers the app if new.
   */
  addFederatedCredential(credential: FederatedCredential): void;
  /** Lets JWTs signed by this certificate's key (x5t / x5t#S256 header, as MSAL sends) authenticate the app. Registers the app if new. */
  registerCertificate(clientId: string, certPem: string): void;
  /** Replaces a client's groups: tokens issued from now on and the fake Graph's answers change at once. */
  setGroups(clientId: string, groups: string[]): void;
  /** Signs a token for a registered client and `RESOURCE/.default` without HTTP (for fakes of IMDS and App Service). */
  mintToken(clientId: string, scope: string): Promise<MintedToken>;
  /** Requests the fake Graph (`/graph/v1.0/directoryObjects/{id}/checkMemberGroups`) has seen. */
  graphRequests(): number;
  /** Token-endpoint requests seen (every attempt, including faulted ones), total and per clientId+scope. */
  tokenRequests(filter?: { clientId?: string; scope?: string }): number;
  /** Every access token this provider issued so far (for leak-grep tests). */
  issuedTokens(): readonly string[];
  close(): Promise<void>;
}

export interface DevIdpOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  tenantId?: string;
  tokenLifetimeSeconds?: number;
  clock?: Clock;
  clients?: DevClient[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Scopes answered with AADSTS500011; default DEFAULT_DENIED_SCOPES. */
  deniedScopes?: readonly string[];
  assertionVerifier?: AssertionVerifier;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY = 64 * 1024;

function checkLifetime(seconds: unknown): number {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > 30 * 86_400) {
    throw new UsageError('devidp: token lifetime must be a whole number of seconds between 1 and 2592000');
  }
  return seconds;
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk); // past the limit: drain without keeping, so a 413 can still be sent
    });
    req.on('end', () => (size > MAX_BODY ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function adminError(err: unknown): HttpReply {
  if (err instanceof AadbtError) return jsonReply(err.status, toErrorBody(err));
  return jsonReply(400, { error: { code: 'BAD_REQUEST', message: 'devidp: the body must be JSON' } });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('devidp: the body must be JSON');
  }
}

/** Starts the provider on HTTPS with a fresh CA and certificate; resolves once it listens. */
export async function createDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const host = options.host ?? '127.0.0.1';
  const tenantId = (options.tenantId ?? DEV_TENANT_ID).toLowerCase();
  if (!GUID.test(tenantId)) throw new UsageError(`devidp: tenantId must be a GUID, got '${tenantId}'`);
  const clock = options.clock ?? systemClock;
  let lifetime = checkLifetime(options.tokenLifetimeSeconds ?? 3600);
  const builtIn = createClientAssertionVerifier();
  let verifier: AssertionVerifier = options.assertionVerifier ?? builtIn.verify;
  const deniedScopes = new Set(options.deniedScopes ?? DEFAULT_DENIED_SCOPES);

  const registry = createClientRegistry(tenantId);
  for (const client of options.clients ?? []) registry.register(client);
  const faults = createFaultPlan();
  const [ca, signer] = await Promise.all([createDevCa(host), createTokenSigner()]);

  let url = '';
  const issuer = (): string => `${url}/${tenantId}/v2.0`;
  const endpoint = createTokenEndpoint({
    tenantId, clock, registry, signer, faults, deniedScopes,
    baseUrl: () => url, issuer, lifetimeSeconds: () => lifetime, verifier: () => verifier,
  });
  const graph = createFakeGraph({ clock, registry, signer, issuer });
  const ensureClient = (clientId: string) => {
    if (!registry.get(clientId)) registry.register({ clientId });
  };
  const tenantAliases = new Set([tenantId, DEV_TENANT_DOMAIN, 'organizations', 'common']);

  async function admin(req: IncomingMessage, path: string, body: string): Promise<HttpReply> {
    const method = req.method ?? 'GET';
    if (path === 'faults' && method === 'POST') {
      faults.inject(parseDevFault(parseJson(body)));
      return noContent();
    }
    if (path === 'faults' && method === 'DELETE') {
      faults.clear();
      return noContent();
    }
    if (path === 'faults' && method === 'GET') return jsonReply(200, { faults: faults.list() });
    if (path === 'lifetime' && method === 'PUT') {
      lifetime = checkLifetime((parseJson(body) as { seconds?: unknown } | null)?.seconds);
      return noContent();
    }
    if (path === 'stats' && method === 'GET') {
      const q = new URL(req.url ?? '/', 'https://x').searchParams;
      const filter = { clientId: q.get('clientId') ?? undefined, scope: q.get('scope') ?? undefined };
      return jsonReply(200, { tokenRequests: endpoint.count(filter) });
    }
    return jsonReply(['faults', 'lifetime', 'stats'].includes(path) ? 405 : 404, { error: { code: 'NOT_FOUND', message: `devidp: no ${method} /_dev/${path}` } });
  }

  async function route(req: IncomingMessage, body: string): Promise<HttpReply> {
    const pathname = new URL(req.url ?? '/', 'https://x').pathname;
    const segments = pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (segments[0] === '_dev') {
      if (!isLoopback(req.socket.remoteAddress)) return jsonReply(403, { error: { code: 'FORBIDDEN', message: 'devidp: the admin API is loopback only' } });
      try {
        return await admin(req, segments.slice(1).join('/'), body);
      } catch (err) {
        return adminError(err);
      }
    }
    if (segments[0] === 'graph') {
      const auth = req.headers.authorization;
      return graph.handle(method, pathname, typeof auth === 'string' ? auth : undefined, body);
    }
    const rest = segments.slice(1).join('/');
    const header = req.headers['client-request-id'];
    const correlationId = typeof header === 'string' && GUID.test(header) ? header : undefined;
    const known = (rest === 'v2.0/.well-known/openid-configuration' && method === 'GET')
      || (rest === 'discovery/v2.0/keys' && method === 'GET')
      || (rest === 'oauth2/v2.0/token' && method === 'POST');
    if (!known) return jsonReply(404, { error: 'not_found', error_description: `devidp: no ${method} ${pathname}` });
    if (!tenantAliases.has(segments[0].toLowerCase())) {
      return entraErrorReply(90002, { now: clock.now(), correlationId, baseUrl: url, tenant: segments[0].slice(0, 80) });
    }
    if (rest === 'oauth2/v2.0/token') return endpoint.handle(new URLSearchParams(body), { correlationId });
    if (rest === 'discovery/v2.0/keys') return jsonReply(200, signer.jwks(), { 'cache-control': 'max-age=86400, private' });
    return jsonReply(200, openIdConfiguration(url, tenantId), { 'cache-control': 'max-age=86400, private' });
  }

  function send(res: ServerResponse, reply: HttpReply): void {
    if (res.destroyed || res.headersSent) return;
    // The Date header comes from the injected clock: `aadbt doctor` measures clock skew with it.
    res.writeHead(reply.status, { date: new Date(clock.now()).toUTCString(), ...reply.headers });
    res.end(reply.body);
  }

  const server: Server = createServer({ key: ca.keyPem, cert: ca.certPem }, (req, res) => {
    readBody(req)
      .then((body) => route(req, body))
      .then((reply) => send(res, reply), (err: unknown) => {
        send(res, err instanceof BodyTooLarge
          ? jsonReply(413, { error: 'invalid_request', error_description: 'devidp: request body too large' })
          : entraErrorReply(50000, { now: clock.now(), baseUrl: url }));
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new AadbtError(`devidp: cannot listen on ${host}:${options.port ?? 0}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, {
      code: 'DEVIDP_LISTEN', hint: 'pick another port, or 0 for a free one', cause: err,
    })));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    caPem: ca.caPem,
    tenantId,
    issuer: issuer(),
    registerClient: (client) => registry.register(client),
    revokeSecret: (clientId, secret) => registry.revokeSecret(clientId, secret),
    addSecret: (clientId, secret) => registry.addSecret(clientId, secret),
    setTokenLifetime(seconds) {
      lifetime = checkLifetime(seconds);
    },
    injectFault: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    setAssertionVerifier(fn) {
      verifier = fn ?? builtIn.verify;
    },
    addFederatedCredential(credential) {
      builtIn.addFederatedCredential(credential);
      ensureClient(credential.clientId);
    },
    registerCertificate(clientId, certPem) {
      builtIn.registerCertificate(clientId, certPem);
      ensureClient(clientId);
    },
    setGroups: (clientId, groups) => registry.setGroups(clientId, groups),
    mintToken: (clientId, scope) => endpoint.mint(clientId, scope),
    graphRequests: () => graph.count(),
    tokenRequests: (filter) => endpoint.count(filter),
    issuedTokens: () => endpoint.issued(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        endpoint.cancelPending();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
