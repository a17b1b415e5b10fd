// A CI system's OIDC issuer on loopback HTTP: its own RSA key, discovery and JWKS, plus one route the CI fake adds.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import { systemClock, type Clock } from '../../src/clock.js';

export interface FakeResponse { status: number; body: unknown }

export interface FakeIssuerOptions {
  /** Path of the issuer under the server's origin, e.g. '' or '/org-id' (Azure DevOps issuers have one). */
  issuerPath?: string;
  clock?: Clock;
  /** Answers every request that is not discovery or JWKS. */
  handle(req: IncomingMessage, url: URL, body: string): Promise<FakeResponse> | FakeResponse;
}

export interface FakeIssuer {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** The `iss` of its tokens; discovery is at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clock: Clock;
  /** Signs claims with the issuer's key, adding iss, iat, nbf and jti; `exp` must be given. */
  sign(claims: JWTPayload): Promise<string>;
  /** Its public keys. */
  jwks(): { keys: JWK[] };
  /** Requests for discovery and keys (the dev provider's fetches). */
  keyFetches(): number;
  close(): Promise<void>;
}

// One RSA key per process: generating costs a few hundred ms on a small machine.
let sharedKey: Promise<{ privateKey: CryptoKey; jwk: JWK }> | undefined;
function issuerKey() {
  sharedKey ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    return { privateKey, jwk: { kty: pub.kty, n: pub.n, e: pub.e, kid, alg: 'RS256', use: 'sig' } };
  })();
  return sharedKey;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (d) => { text += d; });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export async function startFakeIssuer(options: FakeIssuerOptions): Promise<FakeIssuer> {
  const clock = options.clock ?? systemClock;
  const key = await issuerKey();
  const path = (options.issuerPath ?? '').replace(/\/+$/, '');
  let origin = '';
  let keyFetches = 0;
  const server: Server = createServer((req, res) => {
    readBody(req).then(async (body) => {
      const url = new URL(req.url ?? '/', origin);
      let reply: FakeResponse;
      if (url.pathname === `${path}/.well-known/openid-configuration`) {
        keyFetches += 1;
        reply = { status: 200, body: { issuer: `${origin}${path}`, jwks_uri: `${origin}${path}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256'], response_types_supported: ['id_token'], subject_types_supported: ['public'] } };
      } else if (url.pathname === `${path}/.well-known/jwks`) {
        keyFetches += 1;
        reply = { status: 200, body: { keys: [key.jwk] } };
      } else {
        reply = await options.handle(req, url, body);
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    }).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const issuer = `${origin}${path}`;
  return {
    origin,
    issuer,
    clock,
    sign(claims) {
      const iat = Math.floor(clock.now() / 1000);
      return new SignJWT({ nbf: iat, iat, jti: crypto.randomUUID(), ...claims, iss: issuer })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.jwk.kid })
        .sign(key.privateKey);
    },
    jwks: () => ({ keys: [{ ...key.jwk }] }),
    keyFetches: () => keyFetches,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
