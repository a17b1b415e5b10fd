// Decides whether a token's identity may be handed out for an environment (groups, automation guard).

import type { EnvironmentConfig } from '../config/config-schema.js';
import { AccessDenied } from '../errors.js';
import type { CachedToken } from '../tokens/token-cache.js';

export interface AccessGate {
  /** Throws AccessDenied when the token's identity may not be used for env. */
  check(env: EnvironmentConfig, token: CachedToken): Promise<void>;
}

export interface AccessGateDeps {
  /** Resolves membership when the token has no usable groups claim (overage); undefined = unknown. */
  checkMemberGroups?(env: EnvironmentConfig, token: CachedToken, groups: readonly string[]): Promise<string[] | undefined>;
}

export function createAccessGate(deps: AccessGateDeps = {}): AccessGate {
  return {
    async check(env, token) {
      const claims = token.claims;
      if (env.automation && (token.principal.idtyp === 'user' || (claims.scp !== undefined && claims.roles === undefined))) {
        throw new AccessDenied(`environment '${env.name}' is for automation, and this token belongs to a person (${token.principal.upn ?? token.principal.oid ?? 'unknown user'})`,
          'use a workload identity, managed identity or service principal for automation; people use a non-automation environment');
      }
      const required = env.access?.groups;
      if (!required?.length) return;
      let memberOf: readonly string[] | undefined = claims.hasGroupOverage ? undefined : claims.groups;
      if (memberOf === undefined && deps.checkMemberGroups) memberOf = await deps.checkMemberGroups(env, token, required);
      if (memberOf === undefined) {
        throw new AccessDenied(`environment '${env.name}': cannot tell whether ${who(token)} is in the required groups (the token has no groups claim)`,
          'configure the app registration to emit group claims (groupMembershipClaims: SecurityGroup), or grant it GroupMember.Read.All for the Graph check');
      }
      if (!required.some((g) => memberOf!.includes(g))) {
        throw new AccessDenied(`environment '${env.name}' is limited to members of ${required.join(', ')}, and ${who(token)} is in none of them`,
          'ask an owner of one of those Entra groups to add you (membership, not config, grants access)');
      }
    },
  };
}

const who = (t: CachedToken) => t.principal.upn ?? (t.principal.appid ? `app ${t.principal.appid}` : t.principal.oid ?? 'this identity');
