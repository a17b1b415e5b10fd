// Entra error codes (AADSTS…) as sentences that say what to do; the one table of them.

export interface AadstsAdvice {
  /** What happened, in a sentence. */
  message: string;
  /** What to do about it. */
  hint: string;
  /** Permanent errors wait for a fix instead of being retried. */
  permanent: boolean;
}

const TABLE: Record<number, AadstsAdvice> = {
  7000215: { permanent: true, message: 'the client secret is wrong', hint: 'copy the secret value (not its id) from the app registration into the secret file or variable' },
  7000222: { permanent: true, message: 'the client secret has expired', hint: 'create a new secret on the app registration and rotate it into the secret file; the agent picks it up without a restart' },
  700016: { permanent: true, message: 'no application with this client id exists in the tenant', hint: 'check credential.clientId and tenant, and that the app is registered (or consented) in that tenant' },
  700027: { permanent: true, message: 'the client assertion or certificate was not accepted', hint: 'check that the certificate uploaded to the app registration matches certificateFile' },
  70021: { permanent: true, message: 'no federated credential on the app matches the CI token (issuer, subject or audience)', hint: 'add a federated credential whose subject matches this pipeline (e.g. repo:ORG/REPO:environment:prod) and audience api://AzureADTokenExchange' },
  700211: { permanent: true, message: 'no federated credential on the app matches the CI token\'s issuer', hint: 'add a federated credential for this CI issuer on the app registration' },
  700212: { permanent: true, message: 'no federated credential on the app matches the CI token\'s audience', hint: 'use audience api://AzureADTokenExchange in the pipeline and on the federated credential' },
  700213: { permanent: true, message: 'no federated credential on the app matches the CI token\'s subject', hint: 'make the federated credential\'s subject match this pipeline\'s (branch, environment or service connection)' },
  700024: { permanent: false, message: 'the client assertion (CI token or certificate-signed request) has expired or is not yet valid', hint: 'the agent fetches a fresh CI token for each request; if this persists, check this machine\'s clock (aadbt doctor measures the skew)' },
  500011: { permanent: true, message: 'the resource (scope) is not known in this tenant', hint: 'check the scope in tokens:, and that the resource\'s service principal exists in the tenant' },
  65001: { permanent: true, message: 'the application has not been granted consent for this resource', hint: 'ask a tenant admin to grant admin consent for the API permission' },
  50076: { permanent: true, message: 'multi-factor authentication is required', hint: 'sign in again interactively: aadbt login ENV' },
  50078: { permanent: true, message: 'multi-factor authentication has expired', hint: 'sign in again interactively: aadbt login ENV' },
  50079: { permanent: true, message: 'multi-factor authentication enrollment is required', hint: 'enroll in MFA, then: aadbt login ENV' },
  53003: { permanent: true, message: 'a Conditional Access policy blocked the sign-in', hint: 'ask your Entra admin which policy applies (the correlation id identifies the attempt)' },
  700082: { permanent: true, message: 'the refresh token has expired after inactivity', hint: 'sign in again: aadbt login ENV' },
  90002: { permanent: true, message: 'the tenant was not found', hint: 'check the tenant id or domain in the config' },
  900023: { permanent: true, message: 'the tenant identifier is not valid', hint: 'use the tenant GUID or its verified domain (contoso.onmicrosoft.com)' },
  7000112: { permanent: true, message: 'the application is disabled', hint: 'ask an admin to enable the app registration / enterprise application' },
  50034: { permanent: true, message: 'the user account does not exist in this tenant', hint: 'sign in with an account of the tenant, or ask to be invited' },
  50053: { permanent: false, message: 'the account is temporarily locked after too many sign-in attempts', hint: 'wait, then try again; ask your admin if it persists' },
  50058: { permanent: true, message: 'no signed-in session was found', hint: 'sign in: aadbt login ENV' },
  50173: { permanent: true, message: 'the sign-in was revoked (password change or admin action)', hint: 'sign in again: aadbt login ENV' },
  7000218: { permanent: true, message: 'the request needs a client secret or assertion but has none', hint: 'use a confidential client credential, or enable public client flows on the app for device-code' },
};

/** Advice for the first known code, or undefined. */
export function adviceFor(codes: readonly number[]): AadstsAdvice | undefined {
  for (const code of codes) if (TABLE[code]) return TABLE[code];
  return undefined;
}

/** Pulls AADSTS codes out of an Entra error description. */
export function aadstsCodesIn(text: string): number[] {
  return [...text.matchAll(/AADSTS(\d{5,7})/g)].map((m) => Number(m[1]));
}
