// The token broker: single-flight acquisition, refresh-ahead, min-TTL, and one failure path with backoff.

import type { AuditEvent } from '../audit/audit-event.js';
import type { Clock, TimerHandle } from '../clock.js';
import { AadbtError, AuthenticationFailed } from '../errors.js';
import { formatDuration } from '../duration.js';
import type { TokenSource } from '../identity/token-source.js';
import type { Logger } from '../log.js';
import {
  backoffMs, cacheKey, decodeClaims, fingerprintOf, isUsable, plannedRefreshAt, principalOf, tokenClaimsOf,
  type CachedToken,
} from './token-cache.js';

export type ScopeState = 'cold' | 'fresh' | 'refreshing' | 'degraded' | 'expired' | 'failed';

export interface ScopeStatus {
  env: string;
  scope: string;
  state: ScopeState;
  expiresOn?: number;
  lastRefresh?: number;
  nextRefresh?: number;
  consecutiveFailures: number;
  lastError?: { code: string; message: string; at: number };
  principal?: CachedToken['principal'];
  fingerprint?: string;
}

/** Per-environment policy the broker reads on every decision (so a reload takes effect). */
export interface EnvironmentPolicy {
  source: TokenSource;
  refreshAheadMs: number;
}

/** Counters for metrics; every method is optional to implement. */
export interface BrokerObserver {
  upstream?(env: string, scope: string, outcome: 'ok' | 'error', ms: number): void;
  served?(env: string, scope: string, from: 'cache' | 'upstream'): void;
}

export interface TokenBrokerDeps {
  clock: Clock;
  log: Logger;
  policy(env: string): EnvironmentPolicy;
  audit(event: AuditEvent): Promise<unknown>;
  observer?: BrokerObserver;
  /** Uniform in [0, 1); injected so tests can pin jitter. */
  random?: () => number;
  /** How long one call to the identity provider may take. */
  upstreamTimeoutMs?: number;
  /** How long a permanent error is answered from memory before one new attempt. */
  permanentHoldMs?: number;
}

export interface TokenRequest {
  env: string;
  scope: string;
  /** The token must live at least this long after it is handed out. */
  minTtlMs?: number;
}

export interface TokenBroker {
  /** A token for (env, scope) that lives at least minTtlMs. Never an expired one. */
  get(request: TokenRequest): Promise<CachedToken>;
  /** Fetches fresh tokens for the given scopes now (nightly prewarm). */
  prewarm(env: string, scopes: readonly string[]): Promise<void>;
  status(): ScopeStatus[];
  /** Drops an environment's tokens and timers (config reload removed or changed it). */
  forget(env: string): void;
  close(): void;
}

interface Slot {
  env: string;
  scope: string;
  current?: CachedToken;
  inflight?: Promise<CachedToken>;
  timer?: TimerHandle;
  nextRefresh?: number;
  failures: number;
  lastError?: AadbtError;
  lastErrorAt?: number;
  /** No provider call before this time (backoff, Retry-After, or a permanent error's hold). */
  blockedUntil?: number;
  /** The credential material that produced the last permanent error. */
  blockedMaterial?: string;
  lastRefresh?: number;
  lastMaterial?: string;
  /** Served since the last refresh timer fired: an environment unused for a whole period is not refreshed again. */
  demanded: boolean;
}

export function createTokenBroker(deps: TokenBrokerDeps): TokenBroker {
  const { clock, log } = deps;
  const random = deps.random ?? Math.random;
  const upstreamTimeoutMs = deps.upstreamTimeoutMs ?? 30_000;
  const permanentHoldMs = deps.permanentHoldMs ?? 60_000;
  const slots = new Map<string, Slot>();

  const slotFor = (env: string, scope: string): Slot => {
    const key = cacheKey(env, scope);
    let slot = slots.get(key);
    if (!slot) slots.set(key, (slot = { env, scope, failures: 0, demanded: false }));
    return slot;
  };

  const schedule = (slot: Slot, at: number, reason: 'refresh' | 'retry') => {
    slot.timer?.cancel();
    slot.nextRefresh = at;
    slot.timer = clock.setTimeout(() => {
      slot.timer = undefined;
      slot.nextRefresh = undefined;
      const valid = slot.current !== undefined && isUsable(slot.current, clock.now());
      if (reason === 'refresh' && !slot.demanded) return; // unused for a whole refresh period: let it lapse
      if (reason === 'retry' && !valid && !slot.demanded) return;
      slot.demanded = false;
      acquire(slot).catch(() => { /* recorded by the failure path */ });
    }, at - clock.now());
  };

  /** The one path to the identity provider: single-flight, audited, with one failure path. */
  const acquire = (slot: Slot): Promise<CachedToken> => {
    if (slot.inflight) return slot.inflight;
    const { source, refreshAheadMs } = deps.policy(slot.env);
    slot.inflight = (async () => {
      const started = clock.now();
      const material = source.materialVersion();
      if (slot.lastMaterial !== undefined && material !== slot.lastMaterial) {
        void deps.audit({ env: slot.env, scope: slot.scope, action: 'credential-reloaded', outcome: 'ok', detail: { credential: source.description } }).catch(auditFailed);
        log.info('credential reloaded', { env: slot.env, credential: source.description });
      }
      slot.lastMaterial = material;
      const abort = new AbortController();
      const timeout = clock.setTimeout(() => abort.abort(), upstreamTimeoutMs);
      try {
        const issued = await source.getToken(slot.scope, abort.signal);
        const now = clock.now();
        const claims = decodeClaims(issued.token);
        const token: CachedToken = {
          env: slot.env, scope: slot.scope, token: issued.token, obtainedAt: now,
          expiresOn: expiryOf(now + issued.lifetimeMs, claims),
          refreshAfter: issued.refreshInMs !== undefined ? now + issued.refreshInMs : undefined,
          fingerprint: fingerprintOf(issued.token), principal: principalOf(claims), claims: tokenClaimsOf(claims),
        };
        const first = slot.lastRefresh === undefined;
        Object.assign(slot, { current: token, failures: 0, lastError: undefined, blockedUntil: undefined, lastRefresh: now });
        deps.observer?.upstream?.(slot.env, slot.scope, 'ok', now - started);
        void deps.audit({
          env: slot.env, scope: slot.scope, action: first ? 'issue' : 'refresh', outcome: 'ok',
          principal: token.principal, fingerprint: token.fingerprint, expiresOn: token.expiresOn,
        }).catch(auditFailed);
        schedule(slot, plannedRefreshAt(token, refreshAheadMs, random()), 'refresh');
        return token;
      } catch (err) {
        throw fail(slot, err, material, started);
      } finally {
        timeout.cancel();
        slot.inflight = undefined;
      }
    })();
    return slot.inflight;
  };

  const fail = (slot: Slot, err: unknown, material: string, started: number): AadbtError => {
    const now = clock.now();
    const error = err instanceof AadbtError ? err
      : new AuthenticationFailed(`${slot.env}: unexpected failure getting a token`, { transient: true, code: 'AUTH_UNAVAILABLE', cause: err });
    slot.failures += 1;
    slot.lastError = error;
    slot.lastErrorAt = now;
    const transient = error instanceof AuthenticationFailed ? error.transient : error.code === 'AUTH_UNAVAILABLE';
    const retryAfterMs = error instanceof AuthenticationFailed ? error.retryAfterMs : undefined;
    let wait: number | undefined;
    if (transient) {
      wait = retryAfterMs ?? backoffMs(slot.failures, random());
      slot.blockedUntil = now + wait;
      slot.blockedMaterial = undefined;
      schedule(slot, now + wait, 'retry');
    } else {
      slot.blockedUntil = now + permanentHoldMs;
      slot.blockedMaterial = material;
      slot.timer?.cancel();
      slot.nextRefresh = undefined;
    }
    deps.observer?.upstream?.(slot.env, slot.scope, 'error', now - started);
    log.warn('token request failed', {
      env: slot.env, scope: slot.scope, code: error.code, message: error.message, failures: slot.failures,
      retryInMs: wait, permanent: !transient,
    });
    void deps.audit({
      env: slot.env, scope: slot.scope, action: 'error', outcome: 'error',
      detail: {
        code: error.code, message: error.message, failures: slot.failures, permanent: !transient,
        ...(error instanceof AuthenticationFailed ? { aadsts: error.aadstsCodes, correlationId: error.correlationId, httpStatus: error.httpStatus } : {}),
        ...(wait !== undefined ? { retryInMs: wait } : {}),
      },
    }).catch(auditFailed);
    return error;
  };

  const auditFailed = (err: unknown) => log.error('audit write failed', { error: err });

  /** Fails fast while the provider may not be called (backoff, Retry-After, permanent hold). */
  const blocked = (slot: Slot): AadbtError | undefined => {
    if (slot.blockedUntil === undefined || clock.now() >= slot.blockedUntil || !slot.lastError) return undefined;
    const { source } = deps.policy(slot.env);
    if (slot.blockedMaterial !== undefined && source.materialVersion() !== slot.blockedMaterial) return undefined; // rotated: try now
    const e = slot.lastError;
    const retryIn = formatDuration(slot.blockedUntil - clock.now());
    return new AadbtError(`${e.message} (no valid token cached; next attempt in ${retryIn})`, {
      code: e.code === 'AUTH_FAILED' ? 'AUTH_FAILED' : 'AUTH_UNAVAILABLE', hint: e.hint, status: e.status === 502 ? 503 : e.status, exitCode: e.exitCode,
    });
  };

  const tooShort = (t: CachedToken, minTtlMs: number) => new AadbtError(
    `${t.env}: the identity provider issues tokens that live ${formatDuration(Math.ceil((t.expiresOn - t.obtainedAt) / 1000) * 1000)}, and this request needs at least ${formatDuration(minTtlMs)} of life`,
    { code: 'TOKEN_TOO_SHORT', hint: 'lower --min-ttl (or minTtl in the config) below the token lifetime, or use the az shim / --msi so tools fetch fresh tokens per connection', status: 422, exitCode: 2 });

  return {
    async get({ env, scope, minTtlMs = 0 }) {
      const slot = slotFor(env, scope);
      const now = clock.now();
      slot.demanded = true;
      if (slot.current && isUsable(slot.current, now, minTtlMs)) {
        deps.observer?.served?.(env, scope, 'cache');
        if (!slot.timer && !slot.inflight) schedule(slot, plannedRefreshAt(slot.current, deps.policy(env).refreshAheadMs, random()), 'refresh');
        return slot.current;
      }
      // A token fetched moments ago that is still too short will not get longer by asking again.
      if (slot.current && isUsable(slot.current, now) && now - slot.current.obtainedAt < 30_000 && !slot.inflight) {
        throw tooShort(slot.current, minTtlMs);
      }
      if (!slot.inflight) {
        const refusal = blocked(slot);
        if (refusal) throw refusal;
      }
      const token = await acquire(slot);
      if (!isUsable(token, clock.now(), minTtlMs)) throw tooShort(token, minTtlMs);
      deps.observer?.served?.(env, scope, 'upstream');
      return token;
    },

    async prewarm(env, scopes) {
      await Promise.allSettled(scopes.map((scope) => {
        const slot = slotFor(env, scope);
        slot.demanded = true;
        return slot.inflight ?? (blocked(slot) ? Promise.resolve() : acquire(slot));
      }));
    },

    status() {
      const now = clock.now();
      return [...slots.values()].map((slot): ScopeStatus => {
        const valid = slot.current !== undefined && isUsable(slot.current, now);
        const state: ScopeState = slot.inflight ? 'refreshing'
          : valid ? (slot.failures > 0 ? 'degraded' : 'fresh')
          : slot.lastError ? 'failed'
          : slot.current ? 'expired' : 'cold';
        return {
          env: slot.env, scope: slot.scope, state,
          expiresOn: slot.current?.expiresOn, lastRefresh: slot.lastRefresh, nextRefresh: slot.nextRefresh,
          consecutiveFailures: slot.failures,
          lastError: slot.lastError ? { code: slot.lastError.code, message: slot.lastError.message, at: slot.lastErrorAt! } : undefined,
          principal: slot.current?.principal, fingerprint: slot.current?.fingerprint.slice(0, 8),
        };
      });
    },

    forget(env) {
      for (const [key, slot] of slots) {
        if (slot.env !== env) continue;
        slot.timer?.cancel();
        slots.delete(key);
      }
    },

    close() {
      for (const slot of slots.values()) slot.timer?.cancel();
      slots.clear();
    },
  };
}

/**
 * `expires_in` counts from the response, `exp` from the issuer's whole second, so the first can overstate by up to a
 * second: trust `exp` when the two clocks agree within a minute, and the local estimate (skew-proof) when they don't.
 */
function expiryOf(localEstimate: number, claims: Record<string, unknown>): number {
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  return exp !== undefined && Math.abs(exp - localEstimate) < 60_000 ? Math.min(exp, localEstimate) : localEstimate;
}
