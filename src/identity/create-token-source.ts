// Environment config → TokenSource, through @azure/identity's credential classes.

import { readFileSync, statSync } from 'node:fs';
import {
  AuthenticationError, AuthenticationRequiredError, AzureCliCredential, ClientAssertionCredential, ClientCertificateCredential,
  ClientSecretCredential, CredentialUnavailableError, ManagedIdentityCredential,
  entraErrorCodes, issuedToken, type TokenCredential, type TokenCredentialOptions,
} from './azure-identity.js';
import { systemClock, type Clock } from '../clock.js';
import type { EnvironmentConfig } from '../config/config-schema.js';
import { AadbtError, AuthenticationFailed, ConfigError, CredentialUnavailable, InteractionRequired } from '../errors.js';
import { redactText } from '../log.js';
import { aadstsCodesIn, adviceFor } from './aadsts-messages.js';
import { createAssertionSource } from './assertion-source.js';
import { readCertificateMaterial } from './certificate-material.js';
import { createInteractiveSource } from './interactive-sign-in.js';
import type { DevAuthority, TokenSource } from './token-source.js';

export interface TokenSourceDeps {
  /** The agent's process environment (for secretEnv and CI variables). */
  env: NodeJS.ProcessEnv;
  /** The embedded provider, for credentials of type `dev`. */
  devAuthority?: DevAuthority;
  clock?: Clock;
  /** The data dir, where device-code and browser sign-ins keep their account record. */
  dataDir?: string;
}

/** What one acquisition's own code threw inside the SDK (an assertion source), to rethrow unchanged. */
interface CallState { sourceError?: AadbtError }

/** What the pipeline saw of the provider's last answer: Retry-After is not in the SDK's errors. */
interface ObservedResponse { status?: number; retryAfterMs?: number }

/**
 * Builds the TokenSource for one environment. App credentials get a new SDK credential per
 * acquisition: the broker owns caching and refresh timing, and MSAL's own cache would hand back
 * the old token when the broker refreshes ahead of expiry.
 */
export function createTokenSource(envConfig: EnvironmentConfig, deps: TokenSourceDeps): TokenSource {
  const cred = envConfig.credential;
  const interactive = cred.type === 'device-code' || cred.type === 'browser';
  const authority = resolveAuthority(envConfig, deps);
  const tenant = () => {
    if (authority.tenantId) return authority.tenantId;
    throw new ConfigError(`environment '${envConfig.name}': credential '${cred.type}' needs a tenant`, [], 'add tenant: <GUID or domain> to the environment');
  };

  let build: (options: TokenCredentialOptions, call: CallState) => TokenCredential;
  let materialVersion = () => 'static';
  let explain: (err: unknown) => AadbtError | undefined = () => undefined;
  let description: string;
  switch (cred.type) {
    case 'dev': {
      const dev = deps.devAuthority;
      if (!dev) throw new ConfigError(`environment '${envConfig.name}': credential type 'dev' needs the embedded identity provider`, [], 'run the agent with --dev');
      const secret = () => dev.secretFor({ clientId: cred.clientId ?? `aadbt-dev-${envConfig.name}`, groups: cred.groups, idtyp: cred.idtyp });
      build = (o) => new ClientSecretCredential(dev.tenantId, cred.clientId ?? `aadbt-dev-${envConfig.name}`, secret(), o);
      description = `dev app ${cred.clientId ?? `aadbt-dev-${envConfig.name}`}`;
      break;
    }
    case 'client-secret': {
      const readSecret = () => cred.secretFile ? readSecretFile(cred.secretFile) : readSecretEnv(cred.secretEnv!, deps.env);
      build = (o) => new ClientSecretCredential(tenant(), cred.clientId, readSecret(), o);
      if (cred.secretFile) materialVersion = () => fileVersion(cred.secretFile!);
      description = `client-secret app ${cred.clientId}`;
      break;
    }
    case 'client-certificate': {
      // PEM or PFX, opened here so PFX never needs converting on disk and a bad file gets a clear error.
      const material = () => readCertificateMaterial(cred.certificateFile, cred.passwordEnv ? deps.env[cred.passwordEnv] : undefined, cred.passwordEnv);
      build = (o) => new ClientCertificateCredential(tenant(), cred.clientId, { certificate: material().pem }, o);
      materialVersion = () => fileVersion(cred.certificateFile);
      description = `client-certificate app ${cred.clientId}`;
      break;
    }
    case 'workload-identity': {
      const assertions = createAssertionSource(cred.assertion, { serviceConnectionId: cred.serviceConnectionId, audience: cred.audience },
        { env: deps.env, clock: deps.clock ?? systemClock });
      // The SDK rewraps what the callback throws as AuthenticationRequiredError, losing our code and hint.
      build = (o, call) => new ClientAssertionCredential(tenant(), cred.clientId, () => assertions.get().catch((err: unknown) => {
        if (err instanceof AadbtError) call.sourceError = err;
        throw err;
      }), o);
      materialVersion = () => assertions.version();
      description = `workload identity app ${cred.clientId} (${assertions.description})`;
      break;
    }
    case 'managed-identity': {
      build = (o) => {
        useManagedIdentityEnvironment(deps.env);
        return cred.resourceId ? new ManagedIdentityCredential({ ...o, resourceId: cred.resourceId })
          : cred.clientId ? new ManagedIdentityCredential({ ...o, clientId: cred.clientId }) : new ManagedIdentityCredential(o);
      };
      description = `managed identity ${cred.clientId ?? cred.resourceId ?? '(system-assigned)'}`;
      explain = (err) => explainManagedIdentityError(err, envConfig.name, cred.clientId ?? cred.resourceId);
      break;
    }
    case 'azure-cli': {
      build = (o) => new AzureCliCredential({ ...o, tenantId: authority.tenantId });
      description = 'Azure CLI sign-in';
      break;
    }
    case 'device-code':
    case 'browser':
      // A person's sign-in keeps one SDK credential alive (its memory holds the sign-in); see interactive-sign-in.ts.
      return createInteractiveSource(envConfig, { dataDir: deps.dataDir, authorityHost: authority.host, caPem: authority.caPem });
    default:
      throw new ConfigError(`environment '${envConfig.name}': credential type '${(cred as { type: string }).type}' is not supported`, [], 'use one of the types in README "Configuration"');
  }

  return {
    description,
    materialVersion,
    async getToken(scope, signal) {
      const observed: ObservedResponse = {};
      const call: CallState = {};
      const started = Date.now();
      try {
        const credential = build(credentialOptions(authority, observed), call);
        const result = await credential.getToken(scope, { abortSignal: signal });
        if (!result) throw new CredentialUnavailable(`environment '${envConfig.name}': the credential returned no token`);
        return issuedToken(result);
      } catch (err) {
        throw call.sourceError ?? explain(err) ?? toAadbtError(err, envConfig.name, observed, Date.now() - started, interactive, authority.host ?? 'login.microsoftonline.com');
      }
    },
  };
}

interface Authority { host?: string; caPem?: string; tenantId?: string }

function resolveAuthority(envConfig: EnvironmentConfig, deps: TokenSourceDeps): Authority {
  if (envConfig.credential.type === 'dev' && deps.devAuthority) {
    return { host: deps.devAuthority.url, caPem: deps.devAuthority.caPem, tenantId: deps.devAuthority.tenantId };
  }
  let caPem: string | undefined;
  if (envConfig.authorityCaFile) {
    try {
      caPem = readFileSync(envConfig.authorityCaFile, 'utf8');
    } catch {
      throw new ConfigError(`environment '${envConfig.name}': cannot read authorityCaFile ${envConfig.authorityCaFile}`, [], 'point it at a readable PEM file');
    }
  }
  return { host: envConfig.authorityHost, caPem, tenantId: envConfig.tenant };
}

function credentialOptions(authority: Authority, observed: ObservedResponse): TokenCredentialOptions {
  return {
    ...(authority.host ? { authorityHost: authority.host, disableInstanceDiscovery: true } : {}),
    // A private CA (the dev provider's, or a corporate proxy's) is trusted here, never by disabling TLS checks.
    ...(authority.caPem ? { tlsOptions: { ca: authority.caPem } } : {}),
    // The broker owns retries and backoff; the SDK must not sleep on Retry-After behind its back.
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{
      position: 'perRetry',
      policy: {
        name: 'aadbtObserveResponse',
        async sendRequest(request, next) {
          const response = await next(request);
          observed.status = response.status;
          const retryAfter = response.headers.get('retry-after');
          observed.retryAfterMs = retryAfter ? parseRetryAfter(retryAfter) : undefined;
          return response;
        },
      },
    }],
  };
}

function parseRetryAfter(value: string): number | undefined {
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

// Where MSAL (inside ManagedIdentityCredential) looks for the managed-identity endpoint. It reads them from
// process.env when it first asks for a token and keeps the endpoint it picked for the life of the process.
const MANAGED_IDENTITY_VARIABLES = [
  'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT', 'MSI_ENDPOINT', 'MSI_SECRET',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'DEFAULT_IDENTITY_CLIENT_ID',
  'APPSETTING_WEBSITE_SITE_NAME', 'AZUREML_IDENTITY_CLIENT_ID',
] as const;

/** Makes process.env agree with the agent's environment on the managed-identity variables, just before MSAL reads them. */
function useManagedIdentityEnvironment(env: NodeJS.ProcessEnv): void {
  if (env === process.env) return;
  for (const name of MANAGED_IDENTITY_VARIABLES) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
}

/**
 * ManagedIdentityCredential reports every failure as CredentialUnavailableError with MSAL's text inside;
 * this says which endpoint failed and what to check instead.
 */
function explainManagedIdentityError(err: unknown, env: string, identity: string | undefined): AadbtError | undefined {
  if (!(err instanceof CredentialUnavailableError) || !err.message.startsWith('ManagedIdentityCredential')) return undefined;
  if (/Network unreachable|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|network_error/i.test(err.message)) {
    return new AuthenticationFailed(`${env}: cannot reach the managed-identity endpoint (IMDS, or IDENTITY_ENDPOINT on App Service)`, {
      transient: true, code: 'AUTH_UNAVAILABLE',
      hint: 'managed identity works only on an Azure VM, App Service or container that has one; elsewhere use workload-identity or client-certificate',
    });
  }
  const description = /Description: (.*?) - Correlation ID/.exec(err.message)?.[1];
  const reason = description && description !== 'Not Available' ? description : firstLine(err.message.replace(/^ManagedIdentityCredential: /, ''));
  return new CredentialUnavailable(`${env}: the managed-identity endpoint refused the request: ${redactText(reason).slice(0, 300)}`, identity
    ? `check that the identity ${identity} (credential.clientId / resourceId) is assigned to this machine: Azure portal → the VM or app → Identity → User assigned`
    : 'turn on the system-assigned identity of this VM or app (Azure portal → Identity), or name a user-assigned one with credential.clientId');
}

function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new CredentialUnavailable(`cannot read the secret file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      'check credential.secretFile and that the agent can read it');
  }
}

function readSecretEnv(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (!value) throw new CredentialUnavailable(`the variable ${name} named by credential.secretEnv is not set in the agent's environment`, `export ${name} before starting the agent`);
  return value;
}

function fileVersion(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Maps whatever the SDK threw to an AadbtError whose message says what to do, and never holds a secret.
 * @azure/identity 4.13 reports token-endpoint refusals as AuthenticationRequiredError with the Entra
 * error only in its message, and an unreachable authority as CredentialUnavailableError; the HTTP
 * status and Retry-After come from our pipeline policy instead.
 */
function toAadbtError(err: unknown, env: string, observed: ObservedResponse, elapsedMs: number, interactive: boolean, host: string): AadbtError {
  if (err instanceof AadbtError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const status = err instanceof AuthenticationError ? err.statusCode : observed.status;
  const transientStatus = status !== undefined && (status >= 500 || status === 429 || status === 408);
  const codes = entraErrorCodes(err)
    ?? [...new Set([...aadstsCodesIn(message), ...(/Error\(s\): ([\d, ]+)/.exec(message)?.[1].split(/[, ]+/).filter(Boolean).map(Number) ?? [])])];
  const correlationId = err instanceof AuthenticationError ? err.errorResponse.correlationId : /Correlation ID: ([0-9a-f-]{36})/i.exec(message)?.[1];
  if (err instanceof AuthenticationRequiredError && interactive && codes.length === 0) return new InteractionRequired(env);
  if (err instanceof CredentialUnavailableError && codes.length === 0 && !transientStatus) {
    if (/endpoints_resolution_error|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|socket hang up|certificate|network/i.test(message) || observed.status === undefined && /authority/i.test(message)) {
      return new AuthenticationFailed(`${env}: cannot reach the identity provider at ${host} (${networkReason(err, elapsedMs)})`, {
        transient: true, code: 'AUTH_UNAVAILABLE',
        hint: 'the agent retries with backoff and keeps serving tokens that are still valid; if this persists, check the network, authorityHost and authorityCaFile',
      });
    }
    return new CredentialUnavailable(`${env}: ${firstLine(message)}`, `run \`aadbt doctor ${env}\` for a diagnosis`);
  }
  const advice = adviceFor(codes);
  const codeText = codes.length ? ` (AADSTS${codes[0]})` : '';
  if (advice) {
    return new AuthenticationFailed(`${env}: ${advice.message}${codeText}`, {
      httpStatus: status, aadstsCodes: codes, correlationId, transient: transientStatus || !advice.permanent,
      retryAfterMs: observed.retryAfterMs, hint: advice.hint,
    });
  }
  if (transientStatus || status === undefined) {
    const what = status === 429 ? 'the identity provider is throttling requests (HTTP 429)'
      : status !== undefined ? `the identity provider failed (HTTP ${status})`
      : `cannot reach the identity provider at ${host} (${networkReason(err, elapsedMs)})`;
    return new AuthenticationFailed(`${env}: ${what}${codeText}`, {
      httpStatus: status, aadstsCodes: codes, correlationId, transient: true, retryAfterMs: observed.retryAfterMs,
      hint: 'the agent retries with backoff and keeps serving tokens that are still valid', code: 'AUTH_UNAVAILABLE',
    });
  }
  return new AuthenticationFailed(`${env}: the identity provider refused the request${codeText}: ${firstLine(descriptionOf(err, message))}`, {
    httpStatus: status, aadstsCodes: codes, correlationId, transient: false, retryAfterMs: observed.retryAfterMs,
    hint: `run \`aadbt doctor ${env}\`; the correlation id${correlationId ? ` ${correlationId}` : ''} identifies the attempt in Entra's sign-in logs`,
  });
}

function descriptionOf(err: unknown, message: string): string {
  if (err instanceof AuthenticationError) return err.errorResponse.errorDescription;
  return /Description: (.*)/.exec(message)?.[1] ?? message;
}

function networkReason(err: unknown, elapsedMs: number): string {
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  if ((err as Error)?.name === 'AbortError') return `no answer after ${Math.round(elapsedMs / 1000)}s`;
  return code ?? firstLine(err instanceof Error ? err.message : String(err));
}

function firstLine(text: string): string {
  return redactText(text.split(/\r?\n/)[0].replace(/\s*Trace ID:.*$/, '')).slice(0, 300);
}
