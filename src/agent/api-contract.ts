// The socket API's shared vocabulary, importable by the CLI without loading the server.

/** Path segment that means "the configured default environment". */
export const DEFAULT_ENV = '@default';

/** Answer of POST /v1/environments/:name/token. */
export interface TokenResponse {
  token: string;
  /** Epoch seconds. */
  expiresOn: number;
  scope: string;
  env: string;
  principal: { oid?: string; appid?: string; upn?: string; idtyp?: string; tid?: string };
}

/** Answer of GET /v1/environments/:name/env. */
export interface EnvResponse {
  env: string;
  /** Epoch seconds of the soonest expiry among the variables. */
  expiresOn: number;
  variables: Record<string, string>;
  principal: TokenResponse['principal'];
}
