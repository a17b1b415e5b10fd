// git's credential-helper protocol: key=value lines in, key=value lines out.

export interface CredentialRequest {
  protocol?: string;
  host?: string;
  path?: string;
  username?: string;
}

/** Parses what git writes to a helper's stdin; `url=` is split into its parts, as git itself does. */
export function parseCredentialRequest(text: string): CredentialRequest {
  const request: CredentialRequest = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1).replace(/\r$/, '');
    if (key === 'url') {
      try {
        const url = new URL(value);
        request.protocol = url.protocol.replace(/:$/, '');
        request.host = url.host;
        if (url.pathname.length > 1) request.path = decodeURIComponent(url.pathname.slice(1));
        if (url.username) request.username = decodeURIComponent(url.username);
      } catch { /* git ignores what it cannot parse; so do we */ }
    } else if (key === 'protocol' || key === 'host' || key === 'path' || key === 'username') {
      request[key] = value;
    }
  }
  return request;
}

/** Azure DevOps hosts: dev.azure.com and the legacy *.visualstudio.com. */
export function isAzureReposHost(host: string): boolean {
  const name = host.toLowerCase().replace(/:443$/, '');
  return name === 'dev.azure.com' || name.endsWith('.visualstudio.com');
}

/** The answer git reads; `password_expiry_utc` lets git (2.41+) drop the token when it expires. */
export function renderCredentialResponse(input: { username: string; password: string; expiresOnMs: number }): string {
  for (const value of [input.username, input.password]) {
    if (/[\n\0]/.test(value)) throw new Error('git-credential: a value with a newline or NUL cannot be sent to git');
  }
  return `username=${input.username}\npassword=${input.password}\npassword_expiry_utc=${Math.floor(input.expiresOnMs / 1000)}\n`;
}
