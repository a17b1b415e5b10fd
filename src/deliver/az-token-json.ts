// The JSON that `az account get-access-token` prints, as azure-identity's AzureCliCredential and dbt adapters parse it.

export interface AzAccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresOnMs: number;
  tenant: string;
  subscription?: string;
  /** For tests; the local zone otherwise, as az prints it. */
  timeZone?: string;
}

/** az's shape: `expiresOn` in local time (`%Y-%m-%d %H:%M:%S.%f`) for old clients, `expires_on` in epoch seconds for new ones. */
export function renderAzAccessToken(input: AzAccessToken): string {
  const body: Record<string, string | number> = {
    accessToken: input.token,
    expiresOn: localTimestamp(input.expiresOnMs, input.timeZone),
    expires_on: Math.floor(input.expiresOnMs / 1000),
  };
  if (input.subscription) body.subscription = input.subscription;
  body.tenant = input.tenant;
  body.tokenType = 'Bearer';
  return JSON.stringify(body, null, 2);
}

function localTimestamp(ms: number, timeZone?: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const micros = String((ms % 1000) * 1000).padStart(6, '0');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${micros}`;
}
