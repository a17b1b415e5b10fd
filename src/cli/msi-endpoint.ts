// A managed-identity endpoint (App Service protocol 2019-08-01) on 127.0.0.1 for the life of one exec.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenResponse } from '../agent/api-contract.js';
import type { Caller } from '../audit/audit-event.js';
import { renderMsiToken } from '../deliver/msi-response.js';
import { AadbtError } from '../errors.js';
import type { AgentClient } from './agent-client.js';

export interface MsiEndpoint {
  /** IDENTITY_ENDPOINT for the child. */
  url: string;
  /** IDENTITY_HEADER for the child: a random per-exec secret. */
  secret: string;
  close(): Promise<void>;
}

export async function startMsiEndpoint(options: { client: AgentClient; env: string; caller: Caller }): Promise<MsiEndpoint> {
  const secret = randomBytes(24).toString('base64url');
  const expected = Buffer.from(secret);
  let port = 0;

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, error: string, description: string) =>
    answer(res, status, { error, error_description: description });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return fail(res, 421, 'invalid_request', 'this endpoint answers only on 127.0.0.1');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (req.method !== 'GET' || !/^\/msi\/token\/?$/.test(url.pathname)) return fail(res, 404, 'not_found', 'use GET /msi/token');
    const header = req.headers['x-identity-header'];
    const given = Buffer.from(typeof header === 'string' ? header : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return fail(res, 401, 'unauthorized', 'missing or wrong X-IDENTITY-HEADER');
    }
    const resource = url.searchParams.get('resource') ?? url.searchParams.get('scope');
    if (!resource) return fail(res, 400, 'invalid_request', 'resource is required');
    if (url.searchParams.get('api-version') && url.searchParams.get('api-version') !== '2019-08-01') {
      return fail(res, 400, 'invalid_request', 'api-version 2019-08-01 is the one supported');
    }
    try {
      const token = await options.client.call<TokenResponse>('POST', `/v1/environments/${encodeURIComponent(options.env)}/token`,
        { scope: resource, caller: { ...options.caller, program: 'aadbt-msi' } });
      answer(res, 200, renderMsiToken({ token: token.token, expiresOnMs: token.expiresOn * 1000, resource }));
    } catch (err) {
      const e = err instanceof AadbtError ? err : undefined;
      const status = e && e.status >= 400 && e.status < 500 ? (e.status === 404 ? 400 : e.status) : 503;
      fail(res, status, e?.code === 'SCOPE_NOT_CONFIGURED' ? 'invalid_resource' : 'token_unavailable', e ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : 'the aadbt agent failed');
    }
  };

  const server = createServer((req, res) => { void handle(req, res); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/msi/token`,
    secret,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
