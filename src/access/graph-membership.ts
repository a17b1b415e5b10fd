// Group membership from Microsoft Graph (checkMemberGroups), for tokens whose groups claim overflowed; cached briefly.

import { request } from 'node:https';
import type { Clock } from '../clock.js';
import type { EnvironmentConfig } from '../config/config-schema.js';
import { AccessDenied } from '../errors.js';
import type { CachedToken } from '../tokens/token-cache.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export interface GraphEndpoint {
  /** Graph's base URL, e.g. https://graph.microsoft.com (the dev provider serves a fake one). */
  url: string;
  /** A private CA to trust for it, if any. */
  ca?: string;
}

export interface GraphMembershipDeps {
  clock: Clock;
  /** A Graph token of the environment's own identity. */
  graphToken(env: EnvironmentConfig): Promise<string>;
  endpoint(env: EnvironmentConfig): GraphEndpoint;
}

/** Returns which of `groups` the token's identity is in, asking Graph at most once per cacheFor. */
export function createGraphMembership(deps: GraphMembershipDeps) {
  const cache = new Map<string, { at: number; memberOf: string[] }>();
  return async (env: EnvironmentConfig, token: CachedToken, groups: readonly string[]): Promise<string[] | undefined> => {
    const oid = token.principal.oid;
    if (!oid) return undefined;
    const key = `${env.name}\u0000${oid}\u0000${groups.join(',')}`;
    const hit = cache.get(key);
    const now = deps.clock.now();
    if (hit && now - hit.at < (env.access?.cacheFor ?? 300_000)) return hit.memberOf;
    const graphToken = await deps.graphToken(env);
    const { url, ca } = deps.endpoint(env);
    const target = `${url.replace(/\/+$/, '')}/v1.0/directoryObjects/${encodeURIComponent(oid)}/checkMemberGroups`;
    const body = await postJson(target, { groupIds: groups }, graphToken, ca);
    const memberOf = Array.isArray((body as { value?: unknown }).value) ? ((body as { value: unknown[] }).value.filter((g): g is string => typeof g === 'string')) : [];
    cache.set(key, { at: now, memberOf });
    return memberOf;
  };
}

function postJson(url: string, payload: unknown, bearer: string, ca?: string): Promise<unknown> {
  const data = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST', ca, timeout: 15_000,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) {
          reject(new AccessDenied(`Microsoft Graph refused the group membership check (HTTP ${res.statusCode})`,
            'grant the app GroupMember.Read.All (application permission) with admin consent, or emit group claims in its tokens'));
          return;
        }
        try { resolve(JSON.parse(text)); } catch { reject(new AccessDenied('Microsoft Graph answered the membership check with something that is not JSON')); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new AccessDenied(`cannot reach Microsoft Graph for the group membership check (${err.message})`, 'check the network path to graph.microsoft.com')));
    req.end(data);
  });
}
