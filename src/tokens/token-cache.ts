// Pure token arithmetic: cache keys, fingerprints, claims, expiry, refresh and backoff timing. No I/O.

import { createHash } from 'node:crypto';
import type { Principal } from '../audit/audit-event.js';

/** A token held by the broker; all times are epoch ms in the broker's clock. */
export interface CachedToken {
  env: string;
  scope: string;
  token: string;
  obtainedAt: number;
  expiresOn: number;
  /** Entra's refresh_in, when it sent one. */
  refreshAfter?: number;
  fingerprint: string;
  principal: Principal;
  /** The token's claims that access checks read (groups, overage, roles, scp). */
  claims: TokenClaims;
}

export interface TokenClaims {
  groups?: string[];
  hasGroupOverage: boolean;
  roles?: string[];
  scp?: string;
  aud?: string;
}

export const cacheKey = (env: string, scope: string): string => `${env}\u0000${scope}`;

/** First 16 hex of sha256(token): enough to match audit rows, useless to an attacker. */
export function fingerprintOf(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** Reads a JWT's payload without verifying it (the agent is its recipient, not its audience). */
export function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' ? payload : {};
  } catch {
    return {};
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function principalOf(claims: Record<string, unknown>): Principal {
  return {
    oid: str(claims.oid),
    appid: str(claims.appid) ?? str(claims.azp),
    upn: str(claims.upn) ?? str(claims.preferred_username) ?? str(claims.unique_name),
    // v1 app tokens have no idtyp; an app token carries roles or no scp, a user token carries scp.
    idtyp: str(claims.idtyp) ?? (claims.scp !== undefined ? 'user' : claims.oid !== undefined ? 'app' : undefined),
    tid: str(claims.tid),
  };
}

export function tokenClaimsOf(claims: Record<string, unknown>): TokenClaims {
  const names = claims._claim_names as Record<string, unknown> | undefined;
  return {
    groups: Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : undefined,
    hasGroupOverage: Boolean(names && 'groups' in names) || claims.hasgroups === true,
    roles: Array.isArray(claims.roles) ? claims.roles.filter((g): g is string => typeof g === 'string') : undefined,
    scp: str(claims.scp),
    aud: str(claims.aud),
  };
}

export const remainingMs = (t: CachedToken, now: number): number => t.expiresOn - now;
const lifetimeMs = (t: CachedToken): number => t.expiresOn - t.obtainedAt;

/** A token this close to expiry counts as expired: clocks drift and requests take time. */
export const skewMarginMs = (t: CachedToken): number => Math.min(60_000, lifetimeMs(t) * 0.1);

/** Whether the token may be handed out to a caller who needs it for at least minTtlMs. */
export function isUsable(t: CachedToken, now: number, minTtlMs = 0): boolean {
  return remainingMs(t, now) > Math.max(minTtlMs, skewMarginMs(t));
}

/**
 * When to refresh in the background: the later of Entra's refresh_in and expiry minus `aheadMs`
 * (capped at half the lifetime, so short tokens are not refreshed in a loop), less a jitter of up
 * to a tenth of that window so many agents do not refresh in lockstep. `jitter` is in [0, 1).
 */
export function plannedRefreshAt(t: CachedToken, aheadMs: number, jitter: number): number {
  const ahead = Math.min(aheadMs, lifetimeMs(t) / 2);
  const at = Math.max(t.refreshAfter ?? -Infinity, t.expiresOn - ahead);
  const spread = Math.min(60_000, ahead / 10);
  return Math.max(t.obtainedAt, at - jitter * spread);
}

export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 300_000;

/** Exponential backoff with full jitter: the n-th consecutive failure waits random × min(cap, base·2ⁿ⁻¹). */
export function backoffMs(failures: number, random: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.max(1, Math.round(random * ceiling));
}
