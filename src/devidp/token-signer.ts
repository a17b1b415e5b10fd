// RS256 signing of the dev identity provider's access tokens, and the JWKS that verifies them.
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** Signs JWTs with one RSA key; `jwks()` publishes its public half under `kid`. */
export interface TokenSigner {
  readonly kid: string;
  /** A compact RS256 JWT with header `{ typ: 'JWT', alg: 'RS256', kid }`. */
  sign(claims: JWTPayload): Promise<string>;
  /** `{ keys: [ { kty, n, e, kid, use: 'sig', alg: 'RS256' } ] }`. */
  jwks(): { keys: JWK[] };
}

interface SigningKey { privateKey: CryptoKey; jwk: JWK; kid: string }

// RSA key generation costs 100–500 ms on a small machine; one key per process keeps createDevIdp fast
// when tests start many providers. The key never leaves memory and is never exported in private form.
let shared: Promise<SigningKey> | undefined;

async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { privateKey, kid, jwk: { kty: pub.kty, n: pub.n, e: pub.e, kid, use: 'sig', alg: 'RS256' } };
}

/** Returns a signer over the process-wide dev signing key (generated on first use). */
export async function createTokenSigner(): Promise<TokenSigner> {
  shared ??= generateSigningKey().catch((err: unknown) => {
    shared = undefined; // let the next caller try again
    throw err;
  });
  const key = await shared;
  return {
    kid: key.kid,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: key.kid }).sign(key.privateKey),
    jwks: () => ({ keys: [{ ...key.jwk }] }),
  };
}
