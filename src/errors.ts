// Errors that carry a stable code, the fix, and their HTTP status and CLI exit code.

/** CLI exit codes (DESIGN §4). */
export const EXIT = { ok: 0, usage: 1, auth: 2, denied: 3, unreachable: 4 } as const;

export interface AadbtErrorOptions {
  code: string;
  hint?: string;
  status?: number;
  exitCode?: number;
  cause?: unknown;
}

/** Base of every error aadbt throws on purpose. `message` never holds a secret. */
export class AadbtError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly status: number;
  readonly exitCode: number;
  constructor(message: string, options: AadbtErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.hint = options.hint;
    this.status = options.status ?? 500;
    this.exitCode = options.exitCode ?? EXIT.usage;
  }
}

/** Bad config: names the file, the path inside it and the fix. */
export class ConfigError extends AadbtError {
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = [], hint?: string) {
    super(message, { code: 'CONFIG_INVALID', hint, status: 500, exitCode: EXIT.usage });
    this.problems = problems;
  }
}

/** The caller asked for something malformed. */
export class UsageError extends AadbtError {
  constructor(message: string, hint?: string, code = 'BAD_REQUEST') {
    super(message, { code, hint, status: 400, exitCode: EXIT.usage });
  }
}

export class NotFoundError extends AadbtError {
  constructor(message: string, hint?: string, code = 'NOT_FOUND') {
    super(message, { code, hint, status: 404, exitCode: EXIT.usage });
  }
}

/** The credential cannot even try here (missing env, no az, no IMDS). */
export class CredentialUnavailable extends AadbtError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { code: 'CREDENTIAL_UNAVAILABLE', hint, status: 503, exitCode: EXIT.auth, cause });
  }
}

export interface AuthenticationFailedDetails {
  /** HTTP status from the identity provider, when there was an answer. */
  httpStatus?: number;
  aadstsCodes?: readonly number[];
  correlationId?: string;
  /** Transient failures are retried with backoff; permanent ones wait for a fix. */
  transient: boolean;
  /** From Retry-After, in milliseconds. */
  retryAfterMs?: number;
  hint?: string;
  code?: string;
  cause?: unknown;
}

/** The identity provider refused or failed to issue a token. */
export class AuthenticationFailed extends AadbtError {
  readonly httpStatus: number | undefined;
  readonly aadstsCodes: readonly number[];
  readonly correlationId: string | undefined;
  readonly transient: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: AuthenticationFailedDetails) {
    super(message, { code: details.code ?? 'AUTH_FAILED', hint: details.hint, status: 502, exitCode: EXIT.auth, cause: details.cause });
    this.httpStatus = details.httpStatus;
    this.aadstsCodes = details.aadstsCodes ?? [];
    this.correlationId = details.correlationId;
    this.transient = details.transient;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** A person has to sign in before this environment can get tokens. */
export class InteractionRequired extends AadbtError {
  constructor(env: string, message?: string) {
    super(message ?? `environment '${env}' needs a sign-in`, {
      code: 'INTERACTION_REQUIRED', hint: `run: aadbt login ${env}`, status: 401, exitCode: EXIT.auth,
    });
  }
}

/** The identity may not use this environment. */
export class AccessDenied extends AadbtError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'ACCESS_DENIED', hint, status: 403, exitCode: EXIT.denied });
  }
}

/** No agent answers on the socket. */
export class AgentUnreachable extends AadbtError {
  constructor(socketPath: string, cause?: unknown) {
    super(`no agent at ${socketPath}`, {
      code: 'AGENT_UNREACHABLE', hint: 'start one with `aadbt agent`', status: 503, exitCode: EXIT.unreachable, cause,
    });
  }
}

/** Wire shape of an error (DESIGN §4). */
export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

export function toErrorBody(err: AadbtError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } };
}

const EXIT_BY_STATUS: Record<number, number> = { 400: EXIT.usage, 404: EXIT.usage, 401: EXIT.auth, 403: EXIT.denied, 413: EXIT.usage };

/** Rebuilds an error that crossed the socket, keeping its code and exit code. */
export function fromErrorBody(status: number, body: unknown): AadbtError {
  const e = (body as Partial<ErrorBody> | undefined)?.error;
  const code = typeof e?.code === 'string' ? e.code : 'AGENT_ERROR';
  const message = typeof e?.message === 'string' ? e.message : `agent answered HTTP ${status}`;
  const exitCode = code === 'ACCESS_DENIED' ? EXIT.denied
    : code.startsWith('AUTH') || code === 'CREDENTIAL_UNAVAILABLE' || code === 'INTERACTION_REQUIRED' || code === 'TOKEN_TOO_SHORT' ? EXIT.auth
    : EXIT_BY_STATUS[status] ?? EXIT.auth;
  return new AadbtError(message, { code, hint: e?.hint, status, exitCode });
}
