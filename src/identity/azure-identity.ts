// The one import of @azure/identity: the SDK's classes for the rest of identity/, and its tokens in aadbt's shape.

import { AuthenticationError, type AccessToken } from '@azure/identity';
import type { IssuedToken } from './token-source.js';

export {
  AuthenticationError, AuthenticationRequiredError, AzureCliCredential, ClientAssertionCredential, ClientCertificateCredential,
  ClientSecretCredential, CredentialUnavailableError, DeviceCodeCredential, InteractiveBrowserCredential, ManagedIdentityCredential,
  deserializeAuthenticationRecord, serializeAuthenticationRecord,
  type AccessToken, type AuthenticationRecord, type TokenCredential, type TokenCredentialOptions,
} from '@azure/identity';

/** The SDK speaks wall-clock time; the broker gets durations, so its own (possibly fake) clock can place them. */
export function issuedToken(result: AccessToken, now = Date.now()): IssuedToken {
  return {
    token: result.token,
    lifetimeMs: result.expiresOnTimestamp - now,
    refreshInMs: result.refreshAfterTimestamp !== undefined ? result.refreshAfterTimestamp - now : undefined,
  };
}

/** The AADSTS codes Entra returned, when the SDK parsed its error response; undefined otherwise (read the message). */
export function entraErrorCodes(err: unknown): number[] | undefined {
  return err instanceof AuthenticationError && err.errorResponse.errorCodes?.length ? err.errorResponse.errorCodes : undefined;
}
