// Structured logger: JSON lines (or pretty lines on a TTY), with redaction no call can bypass.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. component, env) to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  pretty?: boolean;
  /** Where finished lines go; stderr by default. */
  write?: (line: string) => void;
  now?: () => number;
}

// JWTs (and JWS/JWE compact forms) have base64url segments starting with eyJ ("{\"").
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const PEM = /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g;
const SECRET_ASSIGNMENT = /\b(client_secret|client_assertion|access_token|refresh_token|password|secret|assertion|token)(["']?\s*[=:]\s*["']?)([^\s"'&,;}]{8,})/gi;
const SECRET_KEY = /secret|token|assertion|password|authorization|private.?key/i;
const SAFE_KEYS = new Set(['tokenType', 'tokenRequests', 'tokens', 'token_type']);

/** Removes anything that looks like a token, key or secret from text. */
export function redactText(text: string): string {
  return text.replace(JWT, '[redacted-jwt]').replace(PEM, '[redacted-pem]').replace(SECRET_ASSIGNMENT, '$1$2[redacted]');
}

/** Deep-copies a value with secret-looking keys and values redacted. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value instanceof Error) return redactValue({ name: value.name, message: value.message, code: (value as { code?: unknown }).code }, depth);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && !SAFE_KEYS.has(k) && typeof v === 'string' ? '[redacted]' : redactValue(v, depth + 1);
  }
  return out;
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    const record = redactValue({ ts: new Date(now()).toISOString(), level, ...bound, event, ...fields }) as LogFields;
    if (!options.pretty) return write(JSON.stringify(record));
    const { ts, level: _l, event: _e, ...rest } = record;
    const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    write(`${String(ts).slice(11, 19)} ${level.padEnd(5)} ${event}${extra ? ' ' + extra : ''}`);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (for tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ write: () => {} });
