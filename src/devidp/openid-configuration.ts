// The dev identity provider's OIDC discovery document, with every field MSAL reads from Entra's.

/**
 * Entra's v2.0 discovery document for `tenantId` served at `baseUrl`. MSAL requires `authorization_endpoint`,
 * `token_endpoint`, `issuer` and `jwks_uri`, and accepts the issuer only on the authority's own origin.
 */
export function openIdConfiguration(baseUrl: string, tenantId: string): Record<string, unknown> {
  const root = `${baseUrl}/${tenantId}`;
  return {
    token_endpoint: `${root}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${root}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${root}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${root}/openid/userinfo`,
    authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${root}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'appid', 'azp', 'idtyp', 'groups', 'roles', 'upn', 'scp', 'uti', 'ver'],
    kerberos_endpoint: `${root}/kerberos`,
    tenant_region_scope: null,
    cloud_instance_name: 'dev.aadbt.local',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}
