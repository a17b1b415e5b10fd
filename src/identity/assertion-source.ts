// Where a federated (workload identity) credential gets its CI-issued OIDC token: GitHub, Azure Pipelines, a variable or a file.

import { readFileSync, statSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { AuthenticationFailed, CredentialUnavailable } from '../errors.js';

export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export interface AssertionSource {
  /** A current assertion; fetched fresh unless the last one is young and far from expiry. */
  get(): Promise<string>;
  /** Changes when the underlying material changes (file rotated). */
  version(): string;
  readonly description: string;
}

export interface AssertionSourceDeps {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  fetch?: typeof fetch;
}

/** Parses `github-actions | azure-pipelines | env:VAR | file:PATH` into a source. */
export function createAssertionSource(spec: string, options: { serviceConnectionId?: string; audience?: string }, deps: AssertionSourceDeps): AssertionSource {
  const audience = options.audience ?? FEDERATION_AUDIENCE;
  const doFetch = deps.fetch ?? fetch;
  if (spec === 'github-actions') {
    return cached(deps.clock, 'GitHub Actions OIDC token', async () => {
      const url = deps.env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const bearer = deps.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
      if (!url || !bearer) {
        throw new CredentialUnavailable('GitHub Actions did not give this job an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set)',
          'add `permissions: { id-token: write, contents: read }` to the workflow job');
      }
      const target = new URL(url);
      target.searchParams.set('audience', audience);
      return fieldOf(await call(doFetch, target, { headers: { Authorization: `Bearer ${bearer}` } }, 'GitHub Actions'), 'value', 'GitHub Actions');
    });
  }
  if (spec === 'azure-pipelines') {
    return cached(deps.clock, 'Azure Pipelines OIDC token', async () => {
      const url = deps.env.SYSTEM_OIDCREQUESTURI;
      const bearer = deps.env.SYSTEM_ACCESSTOKEN;
      const connection = options.serviceConnectionId ?? deps.env.AZURESUBSCRIPTION_SERVICE_CONNECTION_ID;
      if (!url || !bearer) {
        throw new CredentialUnavailable('Azure Pipelines did not give this job an OIDC token (SYSTEM_OIDCREQUESTURI or SYSTEM_ACCESSTOKEN is not set)',
          'map the token into the step: `env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }`');
      }
      if (!connection) throw new CredentialUnavailable('Azure Pipelines needs the service connection id', 'set credential.serviceConnectionId to the workload-identity service connection\'s id');
      const target = new URL(url);
      target.searchParams.set('api-version', '7.1');
      target.searchParams.set('serviceConnectionId', connection);
      return fieldOf(await call(doFetch, target, { method: 'POST', headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' } }, 'Azure Pipelines'), 'oidcToken', 'Azure Pipelines');
    });
  }
  if (spec.startsWith('env:')) {
    const name = spec.slice(4);
    return {
      description: `OIDC token from $${name}`,
      version: () => 'env',
      async get() {
        const value = deps.env[name];
        if (!value) throw new CredentialUnavailable(`$${name} (credential.assertion) is not set in the agent's environment`, 'on GitLab, declare it under id_tokens: with aud: api://AzureADTokenExchange');
        return value.trim();
      },
    };
  }
  if (spec.startsWith('file:')) {
    const path = spec.slice(5);
    return {
      description: `OIDC token file ${path}`,
      version() {
        try {
          const s = statSync(path);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return 'missing';
        }
      },
      async get() {
        try {
          return readFileSync(path, 'utf8').trim();
        } catch (err) {
          throw new CredentialUnavailable(`cannot read the OIDC token file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check credential.assertion (file:PATH), e.g. $AZURE_FEDERATED_TOKEN_FILE');
        }
      },
    };
  }
  throw new CredentialUnavailable(`unknown assertion source '${spec}'`, 'use github-actions, azure-pipelines, env:VARIABLE or file:PATH');
}

/** Reuses a fetched assertion only while it is young (60 s) and has 2 minutes left: CI tokens live ~5 minutes. */
function cached(clock: Clock, description: string, fetchOne: () => Promise<string>): AssertionSource {
  let last: { value: string; fetchedAt: number; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  return {
    description,
    version: () => 'fetched',
    get() {
      const now = clock.now();
      if (last && now - last.fetchedAt < 60_000 && last.expiresAt - now > 120_000) return Promise.resolve(last.value);
      inflight ??= fetchOne().then((value) => {
        last = { value, fetchedAt: clock.now(), expiresAt: expiryOf(value) ?? clock.now() };
        return value;
      }).finally(() => { inflight = undefined; });
      return inflight;
    },
  };
}

function expiryOf(jwt: string): number | undefined {
  try {
    const exp = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

async function call(doFetch: typeof fetch, url: URL, init: RequestInit, ci: string): Promise<unknown> {
  let response: Response;
  try {
    response = await doFetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new AuthenticationFailed(`cannot reach ${ci}'s OIDC endpoint ${url.host} (${(err as Error).message})`, { transient: true, code: 'AUTH_UNAVAILABLE' });
  }
  if (!response.ok) {
    throw new AuthenticationFailed(`${ci}'s OIDC endpoint refused the request (HTTP ${response.status})`, {
      transient: response.status >= 500 || response.status === 429, httpStatus: response.status,
      hint: response.status === 401 || response.status === 403 ? 'the job\'s request token is missing or expired; check the job\'s id-token permission' : undefined,
    });
  }
  try {
    return await response.json();
  } catch {
    throw new AuthenticationFailed(`${ci}'s OIDC endpoint answered with something that is not JSON`, { transient: true });
  }
}

function fieldOf(body: unknown, field: string, ci: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string' || !value) throw new AuthenticationFailed(`${ci}'s OIDC endpoint answered without "${field}"`, { transient: false });
  return value;
}
