// The agent's /v1 API on the Unix socket: environments, tokens, rendered env, status and audit.

import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AccessGate } from '../access/access-gate.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditFilter, type AuditStore, type Caller } from '../audit/audit-event.js';
import { EXPORT_FORMATS, exportHeader, exportLine, type ExportFormat } from '../audit/audit-export.js';
import type { Clock } from '../clock.js';
import type { AadbtConfig, EnvironmentConfig } from '../config/config-schema.js';
import { configuredScopes, matchConfiguredScope } from '../config/scope-match.js';
import { AadbtError, NotFoundError, UsageError, toErrorBody } from '../errors.js';
import type { Logger } from '../log.js';
import type { TokenBroker } from '../tokens/token-broker.js';
import { DEFAULT_ENV, type EnvResponse, type TokenResponse } from './api-contract.js';
import type { CachedToken } from '../tokens/token-cache.js';
import type { SignedIn, SignInPrompt } from '../identity/interactive-sign-in.js';
import { INTERACTIVE_TYPES } from '../config/config-schema.js';

export const MAX_BODY_BYTES = 64 * 1024;

export interface AgentApiDeps {
  config(): AadbtConfig;
  broker: TokenBroker;
  audit: Pick<AuditStore, 'record' | 'list' | 'get' | 'iterate' | 'verify'>;
  access: AccessGate;
  clock: Clock;
  log: Logger;
  /** Extra facts for /v1/status (pid, socket, audit path, start time). */
  agentInfo(): Record<string, unknown>;
  /** Runs a person's sign-in for a device-code or browser environment; the prompt goes to onPrompt. */
  signIn?(env: EnvironmentConfig, onPrompt: (prompt: SignInPrompt) => void, signal: AbortSignal): Promise<SignedIn>;
  /** Peer credentials of the connection, when the listener learned them. */
  peerOf?(c: Context): { pid?: number; uid?: number } | undefined;
}

const callerSchema = z.object({
  pid: z.number().int().optional(),
  program: z.string().max(256).optional(),
  cwd: z.string().max(4096).optional(),
  ci: z.record(z.string(), z.string().max(256)).optional(),
  dbtInvocationId: z.string().max(128).optional(),
}).strip();

const tokenRequestSchema = z.object({
  scope: z.string().min(1).max(512).optional(),
  var: z.string().min(1).max(256).optional(),
  minTtlSeconds: z.number().int().min(0).max(86_400).optional(),
  caller: callerSchema.optional(),
}).strict();

const clientEventSchema = z.object({
  env: z.string().min(1).max(128),
  caller: callerSchema.optional(),
  events: z.array(z.object({
    action: z.enum(['exec-start', 'exec-end', 'model']),
    outcome: z.enum(['ok', 'error', 'warning']),
    detail: z.record(z.string(), z.unknown()),
  }).strict()).min(1).max(10_000),
}).strict();

/** Per-request state: the correlation id that ties log lines to one request. */
export type AgentApiEnv = { Variables: { correlationId: string } };

export function createAgentApi(deps: AgentApiDeps): Hono<AgentApiEnv> {
  const app = new Hono<AgentApiEnv>();

  // A caller may send its own id (to follow one dbt run across tools); otherwise the agent makes one.
  app.use('*', async (c, next) => {
    const given = c.req.header('x-correlation-id')?.replace(/[^\w.:-]/g, '').slice(0, 64);
    const correlationId = given || randomUUID();
    c.set('correlationId', correlationId);
    // Set before next(): a header added after the handler makes hono rebuild the finished Response.
    c.header('x-correlation-id', correlationId);
    const started = performance.now();
    await next();
    deps.log.debug('request', { correlationId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 });
  });

  // A declared length is checked from the header alone; hono's bodyLimit makes @hono/node-server build a full
  // Request for every request (see docs/benchmarks.md), so it is kept for chunked bodies, whose size needs reading.
  const tooLarge = () => { throw new AadbtError(`request body over ${MAX_BODY_BYTES / 1024} KiB`, { code: 'BODY_TOO_LARGE', status: 413 }); };
  const chunkedBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) return Number(length) > MAX_BODY_BYTES ? tooLarge() : next();
    return chunkedBodyLimit(c, next);
  });

  app.onError((err, c) => {
    const e = err instanceof AadbtError ? err : new AadbtError('internal error in the agent', { code: 'INTERNAL', status: 500 });
    if (!(err instanceof AadbtError)) deps.log.error('request failed', { correlationId: c.get('correlationId'), path: c.req.path, error: err });
    else if (e.status >= 500 || e.status === 403) deps.log.warn('request refused', { correlationId: c.get('correlationId'), path: c.req.path, code: e.code, message: e.message });
    return c.json(toErrorBody(e), e.status as 400);
  });
  app.notFound((c) => c.json(toErrorBody(new NotFoundError(`no route ${c.req.method} ${c.req.path}`, 'see DESIGN §4 for the /v1 routes')), 404));

  const environment = (name: string): EnvironmentConfig => {
    const config = deps.config();
    const known = Object.keys(config.environments);
    const resolved = name === DEFAULT_ENV ? config.default : name;
    if (resolved === undefined) {
      throw new UsageError('no environment named and no default in the config', `name one of: ${known.join(', ')}, or set default: in ${config.source}`, 'NO_DEFAULT_ENVIRONMENT');
    }
    const env = config.environments[resolved];
    if (!env) throw new NotFoundError(`no environment '${resolved}'`, `known environments: ${known.join(', ')}`, 'UNKNOWN_ENVIRONMENT');
    return env;
  };

  const callerOf = (c: Context, fromBody?: z.infer<typeof callerSchema>): Caller => {
    let caller: Caller = fromBody ?? {};
    const header = c.req.header('x-aadbt-caller');
    if (!fromBody && header) {
      const parsed = callerSchema.safeParse(safeJson(header));
      if (parsed.success) caller = parsed.data;
    }
    const peer = deps.peerOf?.(c);
    return peer ? { ...caller, pid: peer.pid ?? caller.pid, uid: peer.uid } : caller;
  };

  /** Broker → access gate → audit `serve` (committed) → the caller. */
  const serve = async (env: EnvironmentConfig, scope: string, minTtlMs: number, caller: Caller): Promise<CachedToken> => {
    const token = await deps.broker.get({ env: env.name, scope, minTtlMs });
    try {
      await deps.access.check(env, token);
    } catch (err) {
      if (err instanceof AadbtError) {
        await deps.audit.record({ env: env.name, scope, action: 'deny', outcome: 'denied', principal: token.principal, caller, detail: { code: err.code, message: err.message } });
      }
      throw err;
    }
    await deps.audit.record({ env: env.name, scope, action: 'serve', outcome: 'ok', principal: token.principal, fingerprint: token.fingerprint, expiresOn: token.expiresOn, caller });
    return token;
  };

  const minTtlOf = (env: EnvironmentConfig, requestedSeconds: number | undefined, useEnvDefault: boolean) =>
    requestedSeconds !== undefined ? requestedSeconds * 1000 : useEnvDefault ? env.minTtl : 0;

  app.get('/v1/environments', (c) => {
    const config = deps.config();
    return c.json({
      default: config.default ?? null,
      environments: Object.values(config.environments).map((e) => ({
        name: e.name, automation: e.automation, credential: e.credential.type, tokens: e.tokens, targets: e.targets,
        minTtlSeconds: Math.round(e.minTtl / 1000), access: e.access ? { groups: e.access.groups } : null,
      })),
    });
  });

  app.post('/v1/environments/:name/token', async (c) => {
    const env = environment(c.req.param('name'));
    const body = tokenRequestSchema.safeParse(await readJson(c));
    if (!body.success) throw new UsageError(`bad token request: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`, 'send { scope?, var?, minTtlSeconds?, caller }');
    const { scope: requested, var: variable, minTtlSeconds, caller } = body.data;
    let scope: string | undefined;
    if (variable !== undefined) {
      scope = env.tokens[variable];
      if (!scope) throw new NotFoundError(`environment '${env.name}' has no token variable '${variable}'`, `its variables: ${Object.keys(env.tokens).join(', ')}`, 'UNKNOWN_VARIABLE');
    } else if (requested !== undefined) {
      scope = matchConfiguredScope(env, requested);
      if (!scope) {
        throw new AadbtError(`environment '${env.name}' does not hand out tokens for '${requested}'`, {
          code: 'SCOPE_NOT_CONFIGURED', status: 400, exitCode: 1, hint: `configured scopes: ${configuredScopes(env).join(', ')}; add it under tokens: in ${deps.config().source} if it belongs there`,
        });
      }
    } else {
      scope = configuredScopes(env)[0];
    }
    const token = await serve(env, scope, minTtlOf(env, minTtlSeconds, false), callerOf(c, caller));
    return c.json({ token: token.token, expiresOn: Math.floor(token.expiresOn / 1000), scope, env: env.name, principal: token.principal } satisfies TokenResponse);
  });

  app.get('/v1/environments/:name/env', async (c) => {
    const env = environment(c.req.param('name'));
    const minTtlText = c.req.query('minTtlSeconds');
    if (minTtlText !== undefined && !/^\d{1,5}$/.test(minTtlText)) throw new UsageError('minTtlSeconds must be a whole number of seconds');
    const minTtlMs = minTtlOf(env, minTtlText === undefined ? undefined : Number(minTtlText), true);
    const caller = callerOf(c);
    const entries = Object.entries(env.tokens);
    const tokens = await Promise.all(entries.map(([, scope]) => serve(env, scope, minTtlMs, caller)));
    const expiresOn = Math.floor(Math.min(...tokens.map((t) => t.expiresOn)) / 1000);
    const variables: Record<string, string> = {};
    entries.forEach(([name], i) => { variables[name] = tokens[i].token; });
    return c.json({ env: env.name, expiresOn, variables, principal: tokens[0].principal } satisfies EnvResponse);
  });

  app.get('/v1/status', (c) => {
    const config = deps.config();
    const byEnv = new Map<string, ReturnType<TokenBroker['status']>>();
    for (const s of deps.broker.status()) byEnv.set(s.env, [...(byEnv.get(s.env) ?? []), s]);
    return c.json({
      agent: deps.agentInfo(),
      now: deps.clock.now(),
      default: config.default ?? null,
      environments: Object.values(config.environments).map((e) => ({
        name: e.name, automation: e.automation, credential: e.credential.type, targets: e.targets,
        scopes: configuredScopes(e).map((scope) => byEnv.get(e.name)?.find((s) => s.scope === scope) ?? { env: e.name, scope, state: 'cold', consecutiveFailures: 0 }),
      })),
    });
  });

  // `aadbt login`: NDJSON lines { event: 'prompt' | 'signed-in' | 'error' }, so the device code reaches the
  // terminal that asked and never the agent's log. Closing the request cancels the sign-in.
  app.post('/v1/environments/:name/login', (c) => {
    const env = environment(c.req.param('name'));
    if (!INTERACTIVE_TYPES.has(env.credential.type) || !deps.signIn) {
      throw new UsageError(`environment '${env.name}' uses ${env.credential.type}, which has no sign-in of its own`,
        env.credential.type === 'azure-cli' ? 'sign in with `az login`; the agent reuses it' : 'aadbt login is for device-code and browser environments');
    }
    const signIn = deps.signIn;
    const encoder = new TextEncoder();
    const abort = new AbortController();
    const correlationId = c.get('correlationId');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (line: Record<string, unknown>) => {
          if (!abort.signal.aborted) controller.enqueue(encoder.encode(JSON.stringify(line) + '\n'));
        };
        deps.log.info('sign-in started', { env: env.name, correlationId });
        signIn(env, (prompt) => send({ event: 'prompt', ...prompt }), abort.signal).then((who) => {
          deps.log.info('signed in', { env: env.name, correlationId, username: who.username });
          send({ event: 'signed-in', env: env.name, ...who });
        }, (err: unknown) => {
          const e = err instanceof AadbtError ? err : new AadbtError('sign-in failed in the agent', { code: 'INTERNAL', status: 500 });
          deps.log.warn('sign-in failed', { env: env.name, correlationId, code: e.code, message: e.message });
          send({ event: 'error', ...toErrorBody(e) });
        }).finally(() => { if (!abort.signal.aborted) controller.close(); });
      },
      cancel() { abort.abort(); },
    });
    return c.body(body, 200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  });

  // Clients report what only they see (exec start/end, dbt's model results); the agent stamps the principal.
  app.post('/v1/audit/events', async (c) => {
    const body = clientEventSchema.safeParse(await readJson(c));
    if (!body.success) throw new UsageError(`bad audit event: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const env = environment(body.data.env);
    const principal = deps.broker.status().find((s) => s.env === env.name && s.principal)?.principal;
    const caller = callerOf(c, body.data.caller);
    const rows = await Promise.all(body.data.events.map((e) => deps.audit.record({
      env: env.name, action: e.action, outcome: e.outcome, principal, caller, detail: e.detail,
    })));
    return c.json({ ids: rows.map((r) => r.id) }, 201);
  });

  app.get('/v1/audit', (c) => c.json({ events: deps.audit.list(auditFilterOf(c)) }));

  app.get('/v1/audit/verify', (c) => c.json(deps.audit.verify()));

  // Streams in slices so a million-row export neither holds the log in memory nor stalls token requests.
  app.get('/v1/audit/export', (c) => {
    const format = c.req.query('format') ?? 'jsonl';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`format must be one of ${EXPORT_FORMATS.join(', ')}`);
    const rows = deps.audit.iterate({ ...auditFilterOf(c), limit: undefined });
    let header = exportHeader(format as ExportFormat);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        let chunk = header;
        header = '';
        for (let i = 0; i < 1000; i++) {
          const next = rows.next();
          if (next.done) {
            if (chunk) controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          chunk += exportLine(next.value, format as ExportFormat);
        }
        controller.enqueue(encoder.encode(chunk));
      },
      cancel() { rows.return?.(); },
    });
    return c.body(body, 200, { 'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson' });
  });

  app.get('/v1/audit/:id', (c) => {
    const id = c.req.param('id');
    if (!/^\d{1,15}$/.test(id)) throw new UsageError('an audit event id is a whole number');
    const row = deps.audit.get(Number(id));
    if (!row) throw new NotFoundError(`no audit event ${id}`, 'list them with `aadbt audit list`');
    return c.json(row);
  });

  return app;
}

function auditFilterOf(c: Context): AuditFilter {
  const q = c.req.query();
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new UsageError(`${name} must be a whole number`);
    return Number(v);
  };
  if (q.action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(q.action)) {
    throw new UsageError(`action must be one of ${AUDIT_ACTIONS.join(', ')}`);
  }
  return {
    env: q.env, action: q.action as AuditAction | undefined, principal: q.principal,
    since: num('since', q.since), until: num('until', q.until), limit: Math.min(num('limit', q.limit) ?? 100, 10_000),
  };
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  const parsed = safeJson(text);
  if (parsed === undefined) throw new UsageError('request body is not valid JSON', 'send a JSON object', 'BAD_JSON');
  return parsed;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
