// A person's sign-in (device code or browser) through @azure/identity, the account record kept in the data dir.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DeviceCodeCredential, entraErrorCodes, InteractiveBrowserCredential, deserializeAuthenticationRecord,
  issuedToken, serializeAuthenticationRecord, type AuthenticationRecord, type TokenCredentialOptions,
} from './azure-identity.js';
import type { EnvironmentConfig } from '../config/config-schema.js';
import { AadbtError, AuthenticationFailed, ConfigError, CredentialUnavailable, InteractionRequired } from '../errors.js';
import { redactText } from '../log.js';
import { aadstsCodesIn, adviceFor } from './aadsts-messages.js';
import type { TokenSource } from './token-source.js';

/** What the person must do to finish a sign-in; it goes to the terminal that ran `aadbt login`, never to a log. */
export interface SignInPrompt {
  message: string;
  userCode?: string;
  verificationUri?: string;
}

/** Who signed in (from the account record: no token). */
export interface SignedIn {
  username: string;
  tenantId: string;
  /** What the person should know about how long the sign-in lasts. */
  note?: string;
}

/** A TokenSource that a person signs in to first. */
export interface InteractiveTokenSource extends TokenSource {
  /** Runs the sign-in; the device code (or the browser notice) goes to onPrompt. Persists the account record. */
  signIn(onPrompt: (prompt: SignInPrompt) => void, signal?: AbortSignal): Promise<SignedIn>;
  /** The account of the last sign-in, from memory or the persisted record. */
  account(): SignedIn | undefined;
}

export interface InteractiveSourceDeps {
  /** Where account records live (`<data dir>/sign-in/<env>.json`, 0600); undefined keeps them in memory only. */
  dataDir?: string;
  /** The authority to use instead of login.microsoftonline.com, with its private CA. */
  authorityHost?: string;
  caPem?: string;
}

/** Azure CLI's public client id: @azure/identity's default for device code and browser sign-in. */
export const DEFAULT_PUBLIC_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

/**
 * Why a restart asks for a new sign-in: @azure/identity keeps refresh tokens on disk only through its
 * cache-persistence plugin, which needs an OS keyring; aadbt never writes tokens to plain files.
 */
export const NO_PERSISTENT_CACHE_NOTE = 'tokens stay in the agent\'s memory only (no OS keyring for a persistent token cache), so after an agent restart run `aadbt login` again';

export function isInteractiveSource(source: TokenSource): source is InteractiveTokenSource {
  return typeof (source as Partial<InteractiveTokenSource>).signIn === 'function';
}

/** The source for a `device-code` or `browser` environment. One SDK credential lives as long as the source: its memory holds the sign-in. */
export function createInteractiveSource(envConfig: EnvironmentConfig, deps: InteractiveSourceDeps): InteractiveTokenSource {
  const cred = envConfig.credential;
  if (cred.type !== 'device-code' && cred.type !== 'browser') throw new ConfigError(`environment '${envConfig.name}': '${cred.type}' is not a person's sign-in`);
  if (!envConfig.tenant) {
    throw new ConfigError(`environment '${envConfig.name}': credential '${cred.type}' needs a tenant`, [], 'add tenant: <GUID or domain> to the environment');
  }
  const clientId = cred.clientId ?? DEFAULT_PUBLIC_CLIENT_ID;
  const recordFile = deps.dataDir ? join(deps.dataDir, 'sign-in', `${envConfig.name}.json`) : undefined;
  let record = loadRecord(recordFile);
  let signedInHere = false;
  let prompt: ((p: SignInPrompt) => void) | undefined;

  const options: TokenCredentialOptions = {
    ...(deps.authorityHost ? { authorityHost: deps.authorityHost, disableInstanceDiscovery: true } : {}),
    ...(deps.caPem ? { tlsOptions: { ca: deps.caPem } } : {}),
    retryOptions: { maxRetries: 0 },
  };
  const common = { ...options, tenantId: envConfig.tenant, clientId, authenticationRecord: record, disableAutomaticAuthentication: true };
  const credential = cred.type === 'device-code'
    ? new DeviceCodeCredential({
      ...common,
      userPromptCallback: (info) => prompt?.({ message: info.message, userCode: info.userCode, verificationUri: info.verificationUri }),
    })
    : new InteractiveBrowserCredential({ ...common, loginHint: record?.username });

  const fail = (err: unknown, during: 'token' | 'sign-in'): AadbtError => {
    if (err instanceof AadbtError) return err;
    const name = (err as { name?: string })?.name;
    if (name === 'AuthenticationRequiredError' && during === 'token') {
      return new InteractionRequired(envConfig.name, record && !signedInHere
        ? `environment '${envConfig.name}' needs a new sign-in (last signed in as ${record.username}; ${NO_PERSISTENT_CACHE_NOTE})`
        : undefined);
    }
    const message = err instanceof Error ? err.message : String(err);
    const codes = entraErrorCodes(err) ?? aadstsCodesIn(message);
    const advice = adviceFor(codes);
    if (advice) return new AuthenticationFailed(`${envConfig.name}: ${advice.message} (AADSTS${codes[0]})`, { transient: !advice.permanent, aadstsCodes: codes, hint: advice.hint });
    if (during === 'sign-in' && /expired|cancel|abort/i.test(message)) {
      return new InteractionRequired(envConfig.name, `${envConfig.name}: the sign-in was not finished in time, or was cancelled`);
    }
    const reason = redactText(message.split(/\r?\n/)[0]).slice(0, 300);
    return during === 'sign-in'
      ? new AuthenticationFailed(`${envConfig.name}: the sign-in failed: ${reason}`, { transient: false, hint: `run \`aadbt doctor ${envConfig.name}\`, then aadbt login ${envConfig.name} again` })
      : new CredentialUnavailable(`${envConfig.name}: ${reason}`, `run \`aadbt doctor ${envConfig.name}\` for a diagnosis`);
  };

  return {
    description: `${cred.type} sign-in${record ? ` (${record.username})` : ''}`,
    materialVersion: () => record?.homeAccountId ?? 'signed-out',
    account: () => (record ? { username: record.username, tenantId: record.tenantId } : undefined),

    async getToken(scope, signal) {
      try {
        return issuedToken(await credential.getToken(scope, { abortSignal: signal }));
      } catch (err) {
        throw fail(err, 'token');
      }
    },

    async signIn(onPrompt, signal) {
      if (prompt) throw new AadbtError(`a sign-in to '${envConfig.name}' is already waiting`, { code: 'SIGN_IN_BUSY', status: 409, hint: 'finish it in its terminal, or wait until it times out' });
      prompt = onPrompt;
      try {
        if (cred.type === 'browser') onPrompt({ message: 'a browser window opens on the agent\'s machine: sign in there' });
        const scopes = Object.values(envConfig.tokens);
        const result = await credential.authenticate(scopes[0], { abortSignal: signal });
        if (!result) throw new CredentialUnavailable(`${envConfig.name}: the sign-in returned no account`);
        record = result;
        signedInHere = true;
        saveRecord(recordFile, result);
        return { username: result.username, tenantId: result.tenantId, note: NO_PERSISTENT_CACHE_NOTE };
      } catch (err) {
        throw fail(err, 'sign-in');
      } finally {
        prompt = undefined;
      }
    },
  };
}

function loadRecord(file: string | undefined): AuthenticationRecord | undefined {
  if (!file) return undefined;
  try {
    return deserializeAuthenticationRecord(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // none yet, or unreadable: the next sign-in writes a new one
  }
}

/** The record names the account (username, tenant, home account id); it holds no token. Written 0600, atomically. */
function saveRecord(file: string | undefined, record: AuthenticationRecord): void {
  if (!file) return;
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, serializeAuthenticationRecord(record) + '\n', { mode: 0o600 });
  renameSync(temp, file);
}
