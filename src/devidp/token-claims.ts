// The claims of a dev access token, shaped like Entra's v2.0 tokens.
import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { RegisteredClient } from './client-registry.js';

export interface AccessTokenInput {
  client: RegisteredClient;
  /** The `/.default` scope that was asked for. */
  scope: string;
  /** The v2 issuer from discovery (`https://127.0.0.1:PORT/{tid}/v2.0`). */
  issuer: string;
  tenantId: string;
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
  lifetimeSeconds: number;
  /** How the client proved itself: drives `azpacr` (1 secret, 2 assertion). */
  authMethod: 'secret' | 'assertion';
}

/**
 * The `aud` for a `/.default` scope: the resource part. A bare https origin keeps its trailing slash
 * (`https://database.windows.net/.default` → `https://database.windows.net/`, as in Entra's tokens for
 * that resource); a GUID resource becomes the GUID.
 */
export function audienceOfScope(scope: string): string {
  const resource = scope.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : scope;
  if (/^https:\/\/[^/]+$/i.test(resource)) return `${resource}/`;
  return resource;
}

/** Entra puts at most this many groups in a JWT; past it, the token carries the overage claims instead. */
export const JWT_GROUPS_LIMIT = 200;

/**
 * Entra's claims: aud, iss, iat, nbf, exp, tid, oid, sub, appid, azp, azpacr, idtyp, uti, ver, plus
 * `groups` (or the overage `_claim_names`/`_claim_sources`/`hasgroups`), `roles` for apps, `upn` and `scp`
 * for users. `iss` is the v2 issuer from discovery (Entra's v1 tokens would say https://sts.windows.net/{tid}/).
 */
export function accessTokenClaims(input: AccessTokenInput): JWTPayload {
  const { client, tenantId } = input;
  const iat = Math.floor(input.now / 1000);
  const claims: JWTPayload = {
    aud: audienceOfScope(input.scope),
    iss: input.issuer,
    iat,
    nbf: iat,
    exp: iat + input.lifetimeSeconds,
    tid: tenantId,
    oid: client.oid,
    sub: client.oid,
    appid: client.clientId,
    azp: client.clientId,
    azpacr: input.authMethod === 'secret' ? '1' : '2',
    idtyp: client.idtyp,
    uti: randomBytes(16).toString('base64url').slice(0, 22),
    ver: '2.0',
  };
  if (client.groupOverage || client.groups.length > JWT_GROUPS_LIMIT) {
    const kind = client.idtyp === 'user' ? 'users' : 'servicePrincipals';
    claims._claim_names = { groups: 'src1' };
    claims._claim_sources = { src1: { endpoint: `https://graph.windows.net/${tenantId}/${kind}/${client.oid}/getMemberObjects` } };
    claims.hasgroups = true;
  } else if (client.groups.length > 0) {
    claims.groups = [...client.groups];
  }
  if (client.idtyp === 'user') {
    if (client.upn) claims.upn = client.upn;
    claims.scp = 'user_impersonation';
  } else if (client.roles.length > 0) {
    claims.roles = [...client.roles];
  }
  return claims;
}
