// Matching a requested scope or resource against an environment's configured scopes.

import type { EnvironmentConfig } from './config-schema.js';

const normalize = (scope: string): string => scope.trim().replace(/\/\.default$/, '').replace(/\/+$/, '').toLowerCase();

/**
 * The configured scope that a request means, accepting a resource with or without `/.default`
 * and a trailing slash (what az and MSI callers send); undefined when it is not configured.
 */
export function matchConfiguredScope(env: Pick<EnvironmentConfig, 'tokens'>, requested: string): string | undefined {
  const wanted = normalize(requested);
  return Object.values(env.tokens).find((scope) => normalize(scope) === wanted);
}

/** Every distinct scope an environment hands out. */
export function configuredScopes(env: Pick<EnvironmentConfig, 'tokens'>): string[] {
  return [...new Set(Object.values(env.tokens))];
}
