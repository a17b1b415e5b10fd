// Matching a requested scope or resource against an environment's configured scopes.

import type { EnvironmentConfig } from './config-schema.js';

/** The resource a scope names, compared loosely: no `/.default`, no trailing slash, lower case. */
export const resourceOfScope = (scope: string): string => scope.trim().replace(/\/\.default$/, '').replace(/\/+$/, '').toLowerCase();

/**
 * The configured scope that a request means, accepting a resource with or without `/.default`
 * and a trailing slash (what az and MSI callers send); undefined when it is not configured.
 */
export function matchConfiguredScope(env: Pick<EnvironmentConfig, 'tokens'>, requested: string): string | undefined {
  const wanted = resourceOfScope(requested);
  return Object.values(env.tokens).find((scope) => resourceOfScope(scope) === wanted);
}

/** Every distinct scope an environment hands out. */
export function configuredScopes(env: Pick<EnvironmentConfig, 'tokens'>): string[] {
  return [...new Set(Object.values(env.tokens))];
}
