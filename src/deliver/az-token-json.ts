// The JSON that `az account get-access-token` prints, as azure-identity's AzureCliCredential and dbt adapters parse it.

export interface AzAccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresOnMs: number;
  tenant: string;
  subscription?: string;
}

/** az's shape: `expiresOn` in local time (`%Y-%m-%d %H:%M:%S.%f`) for old clients, `expires_on` in epoch seconds for new ones. */
export function renderAzAccessToken(input: AzAccessToken): string {
  const body: Record<string, string | number> = {
    accessToken: input.token,
    expiresOn: localTimestamp(input.expiresOnMs),
    expires_on: Math.floor(input.expiresOnMs / 1000),
  };
  if (input.subscription) body.subscription = input.subscription;
  body.tenant = input.tenant;
  body.tokenType = 'Bearer';
  return JSON.stringify(body, null, 2);
}

// Date's local getters, not Intl.DateTimeFormat: loading ICU's formatter costs the az shim ~13 ms per call.
function localTimestamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  const micros = String(d.getMilliseconds() * 1000).padStart(6, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${micros}`;
}
