// The status app on 127.0.0.1: /healthz, /v1/status, /metrics and the HTML page; never a token, and only for loopback Hosts.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { AuditRow } from '../audit/audit-event.js';
import { AadbtError } from '../errors.js';
import { redactValue, type Logger } from '../log.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { environmentState, renderStatusPage, shortFingerprint, type StatusReport } from './status-page.js';

export const STATUS_EVENTS = 20;

export interface StatusAppDeps {
  /** The port the app listens on; read per request because it is known only once bound. */
  port(): number;
  /** The same report as the socket API's GET /v1/status. */
  status(): Promise<StatusReport>;
  /** The newest audit rows first, of one environment or all. */
  recentEvents(limit: number, env?: string): readonly AuditRow[];
  /** Prometheus text. */
  metrics(): string;
  log: Logger;
}

/** The headers every answer carries; the nonce lets the page's single inline style element through. */
export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  };
}

type StatusEnv = { Variables: { nonce: string } };

export function createStatusApp(deps: StatusAppDeps): Hono<StatusEnv> {
  const app = new Hono<StatusEnv>();

  app.use('*', async (c, next) => {
    const nonce = randomBytes(16).toString('base64');
    c.set('nonce', nonce);
    const port = deps.port();
    const host = (c.req.header('host') ?? '').toLowerCase();
    // A page on evil.example whose name rebinds to 127.0.0.1 still sends its own name as Host: refuse it.
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      const refused = c.text(`status app: Host '${host.slice(0, 100)}' is not this agent's (use http://127.0.0.1:${port}/)\n`, 421);
      for (const [k, v] of Object.entries(securityHeaders(nonce))) refused.headers.set(k, v);
      return refused;
    }
    await next();
    for (const [k, v] of Object.entries(securityHeaders(nonce))) c.res.headers.set(k, v);
  });

  app.onError((err, c) => {
    deps.log.error('status request failed', { path: c.req.path, error: err });
    return c.json({ error: { code: 'INTERNAL', message: 'internal error in the status app', hint: 'see the agent log' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}`, hint: 'routes: /, /healthz, /v1/status, /v1/events, /metrics' } }, 404));

  app.get('/healthz', async (c) => {
    const report = await deps.status();
    const environments = Object.fromEntries(report.environments.map((e) => [e.name, environmentState(e.scopes)]));
    const states = Object.values(environments);
    const failing = states.length > 0 && states.every((s) => s === 'failed');
    return c.json({ status: failing ? 'failing' : 'ok', environments }, failing ? 503 : 200);
  });

  app.get('/v1/status', async (c) => c.json(redactValue(await deps.status()) as StatusReport));

  // The last events of an environment, for dashboards; without the chain's hashes, fingerprints cut to 8 hex.
  app.get('/v1/events', (c) => {
    const limit = Math.min(Math.max(1, Number.parseInt(c.req.query('limit') ?? '', 10) || STATUS_EVENTS), 200);
    const events = deps.recentEvents(limit, c.req.query('env') || undefined)
      .map(({ prev_hash: _p, hash: _h, ...event }) => ({ ...event, fingerprint: event.fingerprint ? shortFingerprint(event.fingerprint) : null }));
    return c.json({ events });
  });

  app.get('/metrics', (c) => c.body(deps.metrics(), 200, { 'Content-Type': METRICS_CONTENT_TYPE }));

  app.get('/', async (c) => {
    const html = renderStatusPage({ report: await deps.status(), events: deps.recentEvents(STATUS_EVENTS), nonce: c.get('nonce') });
    return c.html(html);
  });

  return app;
}

/** A status app bound to a loopback port. */
export interface StatusServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting and ends idle keep-alive connections (a browser tab holds one open). */
  close(): Promise<void>;
}

/** Binds the status app to 127.0.0.1:port (never another interface). A taken port is an AadbtError the caller may tolerate. */
export async function serveStatusApp(deps: Omit<StatusAppDeps, 'port'>, port: number): Promise<StatusServer> {
  let bound = port;
  const app = createStatusApp({ ...deps, port: () => bound });
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, getRequestListener(app.fetch));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' || err.code === 'EACCES'
      ? new AadbtError(`status app: 127.0.0.1:${port} is ${err.code === 'EADDRINUSE' ? 'already in use' : 'not allowed'}`, {
        code: 'STATUS_PORT_UNAVAILABLE', hint: 'set agent.status.port (or --status-port) to a free port, or 0 to turn the status page off',
      })
      : err));
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
