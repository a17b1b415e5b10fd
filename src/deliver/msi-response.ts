// The App Service managed-identity token response (api-version 2019-08-01), as @azure/identity and azure-identity read it.

export interface MsiTokenResponse {
  access_token: string;
  /** Epoch seconds, as a string: the protocol's own choice. */
  expires_on: string;
  resource: string;
  token_type: 'Bearer';
}

export function renderMsiToken(input: { token: string; expiresOnMs: number; resource: string }): MsiTokenResponse {
  return { access_token: input.token, expires_on: String(Math.floor(input.expiresOnMs / 1000)), resource: input.resource, token_type: 'Bearer' };
}
