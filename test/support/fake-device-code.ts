// A fake of Entra's device-code sign-in (devicecode endpoint, device_code and refresh_token grants) on loopback HTTPS.
// The dev identity provider issues only app tokens; this stands in for a person signing in at microsoft.com/devicelogin.

import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { createDevCa } from '../../src/devidp/dev-ca.js';
import { openIdConfiguration } from '../../src/devidp/openid-configuration.js';
import { audienceOfScope } from '../../src/devidp/token-claims.js';
import { createTokenSigner } from '../../src/devidp/token-signer.js';

export interface FakeUser { upn: string; oid: string }

export interface FakeDeviceCode {
  url: string;
  caPem: string;
  tenantId: string;
  /** The person enters userCode at the verification page and signs in as `user`; a waiting poll answers at once. */
  approve(userCode: string, user: FakeUser): void;
  /** User codes handed out so far. */
  userCodes(): string[];
  /** Every access and refresh token issued (for leak-grep tests). */
  issued(): string[];
  /** Grants seen at the token endpoint, e.g. 'device_code', 'refresh_token'. */
  grants(): string[];
  close(): Promise<void>;
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const OIDC = new Set(['openid', 'profile', 'offline_access', 'email']);

export async function startFakeDeviceCode(tenantId = '7e57a11d-0000-4000-8000-0000000de71c'): Promise<FakeDeviceCode> {
  const [ca, signer] = await Promise.all([createDevCa('127.0.0.1'), createTokenSigner()]);
  let url = '';
  const codes = new Map<string, { userCode: string; clientId: string; user?: FakeUser; waiting: (() => void)[] }>();
  const refreshTokens = new Map<string, { user: FakeUser; clientId: string }>();
  const issued: string[] = [];
  const grants: string[] = [];

  const reply = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });
  const entraError = (error: string, code: number, description: string) => reply(400, {
    error, error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID(),
  });

  async function tokens(user: FakeUser, clientId: string, scopeParam: string) {
    const resource = scopeParam.split(/\s+/).find((s) => s && !OIDC.has(s)) ?? 'https://graph.microsoft.com/.default';
    const now = Math.floor(Date.now() / 1000);
    const iss = `${url}/${tenantId}/v2.0`;
    const accessToken = await signer.sign({
      aud: audienceOfScope(resource), iss, iat: now, nbf: now, exp: now + 3600, tid: tenantId, oid: user.oid, sub: user.oid,
      upn: user.upn, idtyp: 'user', scp: 'user_impersonation', appid: clientId, azp: clientId, ver: '2.0',
    });
    const idToken = await signer.sign({ aud: clientId, iss, iat: now, nbf: now, exp: now + 3600, tid: tenantId, oid: user.oid, sub: user.oid, preferred_username: user.upn, name: user.upn, ver: '2.0' });
    const refreshToken = `fake-rt.${randomBytes(24).toString('base64url')}`;
    refreshTokens.set(refreshToken, { user, clientId });
    issued.push(accessToken, refreshToken);
    return reply(200, {
      token_type: 'Bearer', scope: `${resource} openid profile offline_access`, expires_in: 3600, ext_expires_in: 3600,
      access_token: accessToken, refresh_token: refreshToken, id_token: idToken,
      client_info: Buffer.from(JSON.stringify({ uid: user.oid, utid: tenantId })).toString('base64url'),
    });
  }

  async function route(method: string, path: string, form: URLSearchParams): Promise<{ status: number; body: string }> {
    const [, tenant, ...rest] = path.split('/');
    const tail = rest.join('/');
    if (![tenantId, 'organizations', 'common'].includes(tenant ?? '')) return entraError('invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (method === 'GET' && tail === 'v2.0/.well-known/openid-configuration') return reply(200, openIdConfiguration(url, tenantId));
    if (method === 'GET' && tail === 'discovery/v2.0/keys') return reply(200, signer.jwks());
    if (method === 'POST' && tail === 'oauth2/v2.0/devicecode') {
      const userCode = randomBytes(5).toString('hex').toUpperCase().slice(0, 9);
      const deviceCode = randomBytes(32).toString('base64url');
      codes.set(deviceCode, { userCode, clientId: form.get('client_id') ?? '', waiting: [] });
      return reply(200, {
        user_code: userCode, device_code: deviceCode, verification_uri: `${url}/devicelogin`, expires_in: 900, interval: 1,
        message: `To sign in, use a web browser to open the page ${url}/devicelogin and enter the code ${userCode} to authenticate.`,
      });
    }
    if (method === 'POST' && tail === 'oauth2/v2.0/token') {
      const grant = form.get('grant_type') ?? '';
      const deviceGrant = grant === DEVICE_CODE_GRANT || grant === 'device_code'; // MSAL sends the short form
      grants.push(deviceGrant ? 'device_code' : grant);
      if (deviceGrant) {
        const pending = codes.get(form.get('device_code') ?? '');
        if (!pending) return entraError('invalid_grant', 70000, 'The provided value for the input parameter \'device_code\' is not valid.');
        // Hold the poll until the person finishes (bounded), so the SDK's poll interval never has to pass.
        if (!pending.user) await new Promise<void>((resolve) => { pending.waiting.push(resolve); setTimeout(resolve, 20_000).unref(); });
        if (!pending.user) return reply(400, { error: 'authorization_pending', error_description: 'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.', error_codes: [70016] });
        codes.delete(form.get('device_code')!);
        return tokens(pending.user, pending.clientId, form.get('scope') ?? '');
      }
      if (grant === 'refresh_token') {
        const known = refreshTokens.get(form.get('refresh_token') ?? '');
        if (!known) return entraError('invalid_grant', 700082, 'The refresh token has expired due to inactivity.');
        return tokens(known.user, known.clientId, form.get('scope') ?? '');
      }
      return entraError('unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    return reply(404, { error: 'not_found' });
  }

  const server: Server = createServer({ key: ca.keyPem, cert: ca.certPem }, (req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { text += d; });
    req.on('end', () => {
      route(req.method ?? 'GET', new URL(req.url ?? '/', 'https://x').pathname, new URLSearchParams(text)).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', date: new Date().toUTCString() });
        res.end(body);
      }, () => { res.writeHead(500); res.end(); });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    url, caPem: ca.caPem, tenantId,
    approve(userCode, user) {
      const entry = [...codes.values()].find((c) => c.userCode === userCode);
      if (!entry) throw new Error(`fake device code: no sign-in waits for code ${userCode}`);
      entry.user = user;
      for (const wake of entry.waiting.splice(0)) wake();
    },
    userCodes: () => [...codes.values()].map((c) => c.userCode),
    issued: () => [...issued],
    grants: () => [...grants],
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
