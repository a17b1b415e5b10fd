// The dev provider's built-in client-assertion check: federated credentials (CI OIDC tokens) and certificate-signed JWTs, as Entra does.
import { X509Certificate, createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { UsageError } from '../errors.js';
import { fetchIssuerKeys } from './issuer-keys.js';
import type { AssertionContext, AssertionVerdict, AssertionVerifier } from './token-endpoint.js';

/** Entra's default audience for federated credentials. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** A federated identity credential on an app: which external tokens may stand in for its secret. */
export interface FederatedCredential {
  clientId: string;
  /** Matched exactly (case-sensitive), like Entra. */
  issuer: string;
  /** Matched exactly (case-sensitive), e.g. `repo:org/repo:environment:prod`. */
  subject: string;
  /** Default api://AzureADTokenExchange. */
  audience?: string;
  /** The issuer's JWKS URL; default: `jwks_uri` from `${issuer}/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** The issuer's keys, inline (no fetch). */
  jwks?: JSONWebKeySet;
  /** PEM of a CA to trust when fetching the issuer's keys over HTTPS. */
  ca?: string;
}

export interface ClientAssertionVerifier {
  /** Adds a federated credential to `clientId`; assertions are checked against every credential of the app. */
  addFederatedCredential(credential: FederatedCredential): void;
  /** Registers the public certificate (PEM) whose key may sign the app's client assertions (certificate credentials). */
  registerCertificate(clientId: string, certPem: string): void;
  /** The AssertionVerifier for the token endpoint. Never logs or keeps an assertion. */
  readonly verify: AssertionVerifier;
}

interface RegisteredCertificate {
  cert: X509Certificate;
  /** base64url of the DER's SHA-1 and SHA-256 (what MSAL puts in `x5t` / `x5t#S256`). */
  x5t: string;
  x5tS256: string;
}

/** Entra tolerates this much clock difference on an assertion's `nbf`. */
const NBF_LEEWAY_S = 300;
const clip = (v: unknown): string => String(v ?? '').slice(0, 200);
const CHECK_FIC = 'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.';
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function audiences(claims: JWTPayload): string[] {
  return Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
}

/** 700024 when the assertion is outside its time range on the provider's clock. */
function timeVerdict(claims: JWTPayload, now: number): AssertionVerdict {
  const nowS = Math.floor(now / 1000);
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
  if (exp === undefined || exp <= nowS || (nbf !== undefined && nbf > nowS + NBF_LEEWAY_S)) {
    return {
      aadsts: 700024,
      detail: `Current time: ${iso(nowS)}, assertion valid from ${nbf === undefined ? 'unspecified' : iso(nbf)}, expiry time of assertion ${exp === undefined ? 'unspecified' : iso(exp)}.`,
    };
  }
  return true;
}

function parseCertificate(certPem: string): RegisteredCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new UsageError('devidp: registerCertificate needs a PEM certificate');
  }
  return {
    cert,
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
  };
}

/** An empty verifier: with nothing registered, every assertion fails (70021 for CI tokens, 700027 otherwise). */
export function createClientAssertionVerifier(): ClientAssertionVerifier {
  const federated = new Map<string, FederatedCredential[]>();
  const certificates = new Map<string, RegisteredCertificate[]>();
  // Keys are fetched once per issuer source and refetched when a token names a kid the set lacks.
  const keyCache = new Map<string, Promise<JSONWebKeySet>>();

  const keysFor = (fic: FederatedCredential, refresh: boolean): Promise<JSONWebKeySet> => {
    const key = `${fic.issuer}\u0000${fic.jwksUri ?? ''}`;
    if (fic.jwks) return Promise.resolve(fic.jwks);
    let keys = refresh ? undefined : keyCache.get(key);
    if (!keys) {
      keys = fetchIssuerKeys(fic);
      keyCache.set(key, keys);
      keys.catch(() => keyCache.delete(key));
    }
    return keys;
  };

  /**
   * Entra's order: the app's credentials for the token's issuer (70021 when the app has none at all, 700211 when
   * none is for this issuer), then the signature against that issuer's keys (700027), the time range (700024),
   * and only then the authenticated claims: subject (700213), audience (700212).
   */
  async function verifyFederated(assertion: string, claims: JWTPayload, header: ProtectedHeaderParameters, ctx: AssertionContext): Promise<AssertionVerdict> {
    const auds = audiences(claims);
    const all = federated.get(ctx.clientId) ?? [];
    const presented = `Assertion Issuer: '${clip(claims.iss)}'. Assertion Subject: '${clip(claims.sub)}'. Assertion Audience: '${clip(auds.join(','))}'.`;
    if (all.length === 0) return { aadsts: 70021, detail: presented };
    const sameIssuer = all.filter((f) => f.issuer === claims.iss);
    if (sameIssuer.length === 0) return { aadsts: 700211, detail: `'${clip(claims.iss)}'. ${CHECK_FIC}` };
    const keySource = sameIssuer[0];
    let jwks: JSONWebKeySet;
    try {
      jwks = await keysFor(keySource, false);
      if (header.kid !== undefined && !jwks.keys.some((k) => k.kid === header.kid)) jwks = await keysFor(keySource, true);
    } catch {
      return { aadsts: 700027, detail: `[Reason - The signing keys of issuer '${clip(keySource.issuer)}' could not be retrieved.]` };
    }
    try {
      await compactVerify(assertion, createLocalJWKSet(jwks), { algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] });
    } catch {
      return { aadsts: 700027, detail: '[Reason - The signature does not match a key of the issuer.]' };
    }
    const time = timeVerdict(claims, ctx.now);
    if (time !== true) return time;
    const sameSubject = sameIssuer.filter((f) => f.subject === claims.sub);
    if (sameSubject.length === 0) return { aadsts: 700213, detail: `'${clip(claims.sub)}'. ${CHECK_FIC}` };
    if (!sameSubject.some((f) => auds.includes(f.audience ?? TOKEN_EXCHANGE_AUDIENCE))) {
      return { aadsts: 700212, detail: `'${clip(auds.join(','))}'. ${CHECK_FIC}` };
    }
    return true;
  }

  async function verifyCertificate(assertion: string, claims: JWTPayload, header: ProtectedHeaderParameters, ctx: AssertionContext): Promise<AssertionVerdict> {
    const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
    const registered = (certificates.get(ctx.clientId) ?? []).find((c) => (x5tS256 !== undefined && c.x5tS256 === x5tS256) || (x5t !== undefined && c.x5t === x5t));
    if (!registered) {
      return { aadsts: 700027, detail: `[Reason - The key was not found., Thumbprint of key used by client: '${clip(x5tS256 ?? x5t ?? 'none')}']` };
    }
    try {
      await compactVerify(assertion, registered.cert.publicKey, { algorithms: ['RS256', 'PS256'] });
    } catch {
      return { aadsts: 700027, detail: '[Reason - The signature is invalid.]' };
    }
    const nowS = Math.floor(ctx.now / 1000);
    const notAfter = Math.floor(Date.parse(registered.cert.validTo) / 1000);
    const notBefore = Math.floor(Date.parse(registered.cert.validFrom) / 1000);
    if (nowS > notAfter || nowS < notBefore) {
      return { aadsts: 700027, detail: `[Reason - The key used is expired., Found key 'Start=${iso(notBefore)}, End=${iso(notAfter)}']` };
    }
    // MSAL addresses the token endpoint of the authority it was given; the tenant segment may be an alias.
    const sameEndpoint = (aud: string) => {
      try {
        const a = new URL(aud);
        const b = new URL(ctx.tokenEndpoint);
        return a.origin === b.origin && a.pathname.split('/').slice(2).join('/') === b.pathname.split('/').slice(2).join('/');
      } catch {
        return false;
      }
    };
    if (!audiences(claims).some(sameEndpoint)) {
      return { aadsts: 700027, detail: `[Reason - The audience '${clip(audiences(claims).join(','))}' is not this token endpoint.]` };
    }
    return timeVerdict(claims, ctx.now);
  }

  return {
    addFederatedCredential(credential) {
      for (const field of ['clientId', 'issuer', 'subject'] as const) {
        if (typeof credential[field] !== 'string' || credential[field].length === 0) throw new UsageError(`devidp: a federated credential needs ${field}`);
      }
      federated.set(credential.clientId, [...(federated.get(credential.clientId) ?? []), { ...credential }]);
    },
    registerCertificate(clientId, certPem) {
      certificates.set(clientId, [...(certificates.get(clientId) ?? []), parseCertificate(certPem)]);
    },
    async verify(assertion, ctx) {
      let header: ProtectedHeaderParameters;
      let claims: JWTPayload;
      try {
        header = decodeProtectedHeader(assertion);
        claims = decodeJwt(assertion);
      } catch {
        return false;
      }
      // MSAL's certificate assertion is issued by the app itself (iss = sub = client id) and names the key by thumbprint.
      const selfIssued = claims.iss === ctx.clientId && claims.sub === ctx.clientId;
      if (selfIssued && (header.x5t !== undefined || header['x5t#S256'] !== undefined)) return verifyCertificate(assertion, claims, header, ctx);
      return verifyFederated(assertion, claims, header, ctx);
    },
  };
}
