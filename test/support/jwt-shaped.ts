// A string shaped like a signed JWT, made at run time for redaction and masking tests: no token is committed.

import { randomBytes } from 'node:crypto';

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** header.payload.signature with the given claims and a random, meaningless signature. */
export function jwtShaped(claims: Record<string, unknown> = { sub: 'x' }): string {
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`;
}
