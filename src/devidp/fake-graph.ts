// A fake of Microsoft Graph's checkMemberGroups, under the dev provider's /graph, answering from its registered clients' groups.
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import type { ClientRegistry } from './client-registry.js';
import { jsonReply, type HttpReply } from './http-reply.js';
import type { TokenSigner } from './token-signer.js';

/** The audiences Graph accepts: its URL (with or without the slash) and its app id. */
const GRAPH_AUDIENCES = ['https://graph.microsoft.com', 'https://graph.microsoft.com/', '00000003-0000-0000-c000-000000000000'];
const CHECK_MEMBER_GROUPS = /^\/graph\/v1\.0\/directoryObjects\/([^/]+)\/checkMemberGroups$/;
/** Graph's limit on groupIds per call. */
const MAX_GROUP_IDS = 20;

export interface FakeGraphDeps {
  clock: Clock;
  registry: ClientRegistry;
  signer: TokenSigner;
  issuer(): string;
}

export interface FakeGraph {
  /** Answers a request whose path starts with /graph. */
  handle(method: string, pathname: string, authorization: string | undefined, body: string): Promise<HttpReply>;
  /** Requests seen so far (to tell the overage path from the claim path). */
  count(): number;
}

function graphError(status: number, code: string, message: string, now: number): HttpReply {
  const id = randomUUID();
  return jsonReply(status, { error: { code, message, innerError: { date: new Date(now).toISOString().replace(/\.\d+Z$/, ''), 'request-id': id, 'client-request-id': id } } }, { 'request-id': id });
}

export function createFakeGraph(deps: FakeGraphDeps): FakeGraph {
  let requests = 0;
  const keys = createLocalJWKSet(deps.signer.jwks());

  async function authorize(authorization: string | undefined): Promise<HttpReply | undefined> {
    const now = deps.clock.now();
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!bearer) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', now);
    try {
      const { payload } = await jwtVerify(bearer, keys, { issuer: deps.issuer(), algorithms: ['RS256'], currentDate: new Date(now) });
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!aud.some((a) => a !== undefined && GRAPH_AUDIENCES.includes(a))) {
        return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.', now);
      }
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      return graphError(401, 'InvalidAuthenticationToken', expired ? 'Lifetime validation failed, the token is expired.' : 'Access token validation failure.', now);
    }
    return undefined;
  }

  return {
    count: () => requests,
    async handle(method, pathname, authorization, body) {
      requests += 1;
      const now = deps.clock.now();
      const match = CHECK_MEMBER_GROUPS.exec(pathname);
      if (!match) return graphError(400, 'BadRequest', `Resource not found for the segment '${pathname.split('/').at(-1)?.slice(0, 80) ?? ''}'.`, now);
      if (method !== 'POST') return graphError(405, 'Request_BadRequest', 'Unsupported method; checkMemberGroups is a POST.', now);
      const refused = await authorize(authorization);
      if (refused) return refused;
      let groupIds: unknown;
      try {
        groupIds = (JSON.parse(body) as { groupIds?: unknown }).groupIds;
      } catch {
        return graphError(400, 'BadRequest', 'Unable to read JSON request payload.', now);
      }
      if (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== 'string') || groupIds.length > MAX_GROUP_IDS) {
        return graphError(400, 'Request_BadRequest', `groupIds must be a list of at most ${MAX_GROUP_IDS} group ids.`, now);
      }
      const id = decodeURIComponent(match[1]);
      const client = deps.registry.byOid(id);
      if (!client) {
        return graphError(404, 'Request_ResourceNotFound', `Resource '${id.slice(0, 80)}' does not exist or one of its queried reference-property objects are not present.`, now);
      }
      return jsonReply(200, {
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)',
        value: (groupIds as string[]).filter((g) => client.groups.includes(g)),
      });
    },
  };
}
