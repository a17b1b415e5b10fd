// Fetching an external OIDC issuer's signing keys (discovery → jwks_uri) for the dev provider's federation checks.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { JSONWebKeySet } from 'jose';

/** Where an issuer's keys are: inline, at a JWKS URL, or discovered from the issuer's openid-configuration. */
export interface IssuerKeySource {
  issuer: string;
  jwksUri?: string;
  jwks?: JSONWebKeySet;
  /** A private CA (PEM) to trust when the issuer is on HTTPS. */
  ca?: string;
}

const MAX_BYTES = 256 * 1024;

/** GETs JSON over http or https (loopback fakes use http); rejects on non-2xx, bad JSON or after 10 s. */
export function getJson(url: string, ca?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : undefined;
    if (!send) {
      reject(new Error(`unsupported URL scheme ${target.protocol}`));
      return;
    }
    const req = send(target, { method: 'GET', timeout: 10_000, agent: false, headers: { accept: 'application/json' }, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BYTES) chunks.push(c);
      });
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) return reject(new Error(`HTTP ${res.statusCode} from ${target.origin}${target.pathname}`));
        if (size > MAX_BYTES) return reject(new Error(`answer from ${target.origin} is too large`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error(`answer from ${target.origin}${target.pathname} is not JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The issuer's JWKS: inline, else from jwksUri, else from `${issuer}/.well-known/openid-configuration`. */
export async function fetchIssuerKeys(source: IssuerKeySource): Promise<JSONWebKeySet> {
  if (source.jwks) return source.jwks;
  let jwksUri = source.jwksUri;
  if (!jwksUri) {
    const discovery = await getJson(`${source.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, source.ca) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof discovery.jwks_uri !== 'string') throw new Error('the issuer\'s openid-configuration has no jwks_uri');
    jwksUri = discovery.jwks_uri;
  }
  const jwks = await getJson(jwksUri, source.ca) as Partial<JSONWebKeySet>;
  if (!Array.isArray(jwks.keys)) throw new Error('the issuer\'s JWKS has no keys');
  return jwks as JSONWebKeySet;
}
