// The dev identity provider's app registrations: client ids, their secrets (kept only as hashes) and identity shape.
import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, UsageError } from '../errors.js';

/** An app (or, with idtyp 'user', a stand-in user) the provider issues tokens to. */
export interface DevClient {
  clientId: string;
  secret?: string;
  groups?: string[];
  idtyp?: 'app' | 'user';
  oid?: string;
  upn?: string;
  /** Emit the `_claim_names` groups overage instead of `groups`. */
  groupOverage?: boolean;
  /** App roles for app tokens (`roles` claim); omitted when empty, as Entra does. */
  roles?: string[];
}

/** A registration as the token endpoint sees it: no secrets. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly idtyp: 'app' | 'user';
  readonly oid: string;
  readonly upn: string | undefined;
  readonly groups: readonly string[];
  readonly groupOverage: boolean;
  readonly roles: readonly string[];
}

export interface ClientRegistry {
  /** Registers or replaces a client; returns its secret (generated when not given). */
  register(client: DevClient): string;
  addSecret(clientId: string, secret: string): void;
  /** Throws NotFoundError when the client or the secret is unknown. */
  revokeSecret(clientId: string, secret: string): void;
  get(clientId: string): RegisteredClient | undefined;
  /** The client whose object id is `oid` (Graph addresses directory objects by oid). */
  byOid(oid: string): RegisteredClient | undefined;
  /** Replaces a client's group memberships (tokens issued from now on, and Graph answers). */
  setGroups(clientId: string, groups: readonly string[]): void;
  /** True when `secret` is one of the client's current secrets. */
  checkSecret(clientId: string, secret: string): boolean;
}

/** A GUID derived from `parts`, so a client's oid stays the same across restarts. */
export function stableGuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6] & 0x0f) | 0x50; // version 5 (name-based)
  h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A secret shaped like Entra's (40 characters with the `~` marker). */
export function generateSecret(): string {
  return `dev8Q~${randomBytes(26).toString('base64url').slice(0, 34)}`;
}

const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || /\s/.test(value)) {
    throw new UsageError(`devidp: ${what} must be a non-empty string without spaces`);
  }
  return value;
}

/** An empty registry for `tenantId` (the tenant seeds the derived oids). */
export function createClientRegistry(tenantId: string): ClientRegistry {
  const clients = new Map<string, { info: RegisteredClient; secrets: Set<string> }>();

  function entry(clientId: string) {
    const e = clients.get(clientId);
    if (!e) throw new NotFoundError(`devidp: no client '${clientId}' is registered`, 'call registerClient first');
    return e;
  }

  return {
    register(client) {
      const clientId = requireText(client.clientId, 'clientId');
      const secret = client.secret === undefined ? generateSecret() : requireText(client.secret, 'secret');
      const idtyp = client.idtyp ?? 'app';
      if (idtyp !== 'app' && idtyp !== 'user') throw new UsageError(`devidp: idtyp must be 'app' or 'user'`);
      const info: RegisteredClient = Object.freeze({
        clientId,
        idtyp,
        oid: client.oid ?? stableGuid(tenantId, clientId, 'oid'),
        upn: idtyp === 'user' ? client.upn ?? `${clientId.slice(0, 8)}@dev.aadbt.local` : client.upn,
        groups: Object.freeze([...(client.groups ?? [])]),
        groupOverage: client.groupOverage === true,
        roles: Object.freeze([...(client.roles ?? [])]),
      });
      clients.set(clientId, { info, secrets: new Set([digest(secret)]) });
      return secret;
    },
    addSecret(clientId, secret) {
      entry(clientId).secrets.add(digest(requireText(secret, 'secret')));
    },
    revokeSecret(clientId, secret) {
      if (!entry(clientId).secrets.delete(digest(secret))) {
        throw new NotFoundError(`devidp: client '${clientId}' has no such secret`);
      }
    },
    get: (clientId) => clients.get(clientId)?.info,
    byOid(oid) {
      for (const e of clients.values()) if (e.info.oid.toLowerCase() === oid.toLowerCase()) return e.info;
      return undefined;
    },
    setGroups(clientId, groups) {
      const e = entry(clientId);
      if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || g.length === 0)) {
        throw new UsageError('devidp: groups must be a list of non-empty strings');
      }
      e.info = Object.freeze({ ...e.info, groups: Object.freeze([...groups]) });
    },
    checkSecret: (clientId, secret) => clients.get(clientId)?.secrets.has(digest(secret)) ?? false,
  };
}
