// Fakes of Azure's managed-identity endpoints on loopback HTTP (App Service 2019-08-01 and IMDS), handing out dev-provider tokens.
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../src/clock.js';
import type { DevIdp } from '../../src/devidp/dev-idp.js';

export interface FakeManagedIdentityOptions {
  idp: DevIdp;
  /** The dev-provider client that stands for the system-assigned identity. */
  systemAssigned: string;
  /** User-assigned identities: client id → the dev-provider client (usually the same id). */
  userAssigned?: Record<string, string>;
  /** User-assigned identities by resource id → dev-provider client. */
  byResourceId?: Record<string, string>;
  /** Wall clock for `expires_on` (MSAL compares it with Date.now()). */
  clock?: Clock;
}

export interface FakeManagedIdentity {
  readonly origin: string;
  /** Environment for App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER. */
  appServiceEnv(): Record<string, string>;
  /** Environment that points IMDS at this fake: AZURE_POD_IDENTITY_AUTHORITY_HOST (MSAL and @azure/identity read it). */
  imdsEnv(): Record<string, string>;
  /** Requests per protocol, with the identity and resource they asked for. */
  requests(): { protocol: 'app-service' | 'imds'; identity: string; resource: string }[];
  readonly identityHeader: string;
  close(): Promise<void>;
}

export async function startFakeManagedIdentity(options: FakeManagedIdentityOptions): Promise<FakeManagedIdentity> {
  const clock = options.clock ?? systemClock;
  const identityHeader = randomBytes(16).toString('hex');
  const seen: { protocol: 'app-service' | 'imds'; identity: string; resource: string }[] = [];
  const pick = (q: URLSearchParams, resourceKey: string): string | undefined => {
    const clientId = q.get('client_id');
    if (clientId) return options.userAssigned?.[clientId];
    const resourceId = q.get(resourceKey);
    if (resourceId) return options.byResourceId?.[resourceId];
    return options.systemAssigned;
  };
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const q = url.searchParams;
    // Both accept a trailing slash: MSAL sends IMDS requests to `/metadata/identity/oauth2/token/`.
    const path = url.pathname.replace(/\/+$/, '');
    const appService = path === '/msi/token';
    const imds = path === '/metadata/identity/oauth2/token';
    if (!appService && !imds) return send(404, { error: 'not_found' });
    if (appService && req.headers['x-identity-header'] !== identityHeader) return send(401, { error: 'unauthorized', message: 'X-IDENTITY-HEADER is missing or wrong' });
    if (imds && req.headers.metadata !== 'true') return send(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    if (q.get('api-version') !== (appService ? '2019-08-01' : '2018-02-01')) return send(400, { error: 'invalid_request', error_description: 'unsupported api-version' });
    const resource = q.get('resource');
    if (!resource) return send(400, { error: 'invalid_request', error_description: 'Required audience parameter not specified' });
    const identity = pick(q, appService ? 'mi_res_id' : 'msi_res_id');
    if (!identity) return send(400, { error: 'invalid_request', error_description: 'Identity not found' });
    seen.push({ protocol: appService ? 'app-service' : 'imds', identity, resource });
    options.idp.mintToken(identity, `${resource.replace(/\/+$/, '')}/.default`).then((minted) => {
      const expiresOn = Math.floor(clock.now() / 1000) + minted.expiresIn;
      send(200, appService
        ? { access_token: minted.accessToken, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: identity }
        : { access_token: minted.accessToken, refresh_token: '', expires_in: String(minted.expiresIn), expires_on: String(expiresOn), not_before: String(expiresOn - minted.expiresIn), resource, token_type: 'Bearer' });
    }, (err: Error) => send(400, { error: 'invalid_request', error_description: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    origin,
    identityHeader,
    appServiceEnv: () => ({ IDENTITY_ENDPOINT: `${origin}/msi/token`, IDENTITY_HEADER: identityHeader }),
    imdsEnv: () => ({ AZURE_POD_IDENTITY_AUTHORITY_HOST: origin }),
    requests: () => [...seen],
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
