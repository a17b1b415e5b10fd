// What the broker needs from an identity: a token for a scope, and a way to notice rotated material.

/** A token as the identity provider issued it; times are relative so any clock can place them. */
export interface IssuedToken {
  token: string;
  /** Milliseconds of life left when the call returned. */
  lifetimeMs: number;
  /** When the provider asks for a refresh (Entra's refresh_in), relative like lifetimeMs. */
  refreshInMs?: number;
}

export interface TokenSource {
  /** Asks the identity provider (never a cache) for a token. Throws AadbtErrors. */
  getToken(scope: string, signal?: AbortSignal): Promise<IssuedToken>;
  /** A cheap fingerprint of the credential material; changes when a secret or certificate file is rotated. */
  materialVersion(): string;
  /** A one-line description for status and logs, e.g. "client-secret app 1c2d…". */
  readonly description: string;
}

/** The embedded dev identity provider, as credentials of type `dev` reach it. */
export interface DevAuthority {
  url: string;
  caPem: string;
  tenantId: string;
  /** The secret of a demo client, registering it (with groups / idtyp) on first use. */
  secretFor(client: { clientId: string; groups?: string[]; idtyp?: 'app' | 'user' }): string;
}
