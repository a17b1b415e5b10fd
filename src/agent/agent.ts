// The agent's wiring: identity sources, broker, audit, API on the socket, and an orderly shutdown.

import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createAccessGate } from '../access/access-gate.js';
import { createGraphMembership, GRAPH_SCOPE, type GraphEndpoint } from '../access/graph-membership.js';
import type { AuditEvent, AuditStore } from '../audit/audit-event.js';
import { createAuditStore } from '../audit/audit-store.js';
import type { Clock } from '../clock.js';
import type { AadbtConfig, EnvironmentConfig } from '../config/config-schema.js';
import type { AadbtPaths } from '../config/config-paths.js';
import { createDevIdp, type DevIdp } from '../devidp/dev-idp.js';
import { createTokenSource } from '../identity/create-token-source.js';
import { isInteractiveSource } from '../identity/interactive-sign-in.js';
import { UsageError } from '../errors.js';
import type { DevAuthority, TokenSource } from '../identity/token-source.js';
import type { Logger } from '../log.js';
import { createTokenBroker, type BrokerObserver, type TokenBroker } from '../tokens/token-broker.js';
import { createAgentApi } from './agent-api.js';
import { combineObservers, createAgentMetrics } from './metrics.js';
import { scheduledJobs } from './scheduled-jobs.js';
import { createScheduler } from './scheduler.js';
import { listenOnSocket } from './socket-listener.js';
import { serveStatusApp, type StatusServer } from './status-app.js';
import type { StatusReport } from './status-page.js';

export interface AgentOptions {
  config: AadbtConfig;
  paths: AadbtPaths;
  clock: Clock;
  log: Logger;
  /** The agent's environment (secretEnv, CI variables); never read at import time. */
  env: NodeJS.ProcessEnv;
  /** Run the embedded dev identity provider (or use the one given). */
  dev?: boolean | DevIdp;
  random?: () => number;
  observer?: BrokerObserver;
  /** The loopback status app's port; 0 or undefined = off. A taken port is logged, not fatal. */
  statusPort?: number;
}

export interface Agent {
  readonly socketPath: string;
  readonly broker: TokenBroker;
  readonly audit: AuditStore;
  readonly devIdp: DevIdp | undefined;
  /** http://127.0.0.1:PORT/ once start() bound the status app; undefined when it is off or its port was taken. */
  readonly statusUrl: string | undefined;
  start(): Promise<void>;
  /** Applies a new config: unchanged environments keep their tokens, changed and removed ones drop theirs. */
  reload(next: AadbtConfig): { added: string[]; changed: string[]; removed: string[] };
  /** Stops accepting, finishes in-flight requests, closes the audit DB, removes the socket. */
  stop(): Promise<void>;
}

export const AGENT_VERSION = '0.1.0';

export async function createAgent(options: AgentOptions): Promise<Agent> {
  const { clock, log, paths } = options;
  let config = options.config;
  const startedAt = clock.now();

  let devIdp: DevIdp | undefined;
  let ownDevIdp = false;
  if (options.dev && typeof options.dev === 'object') devIdp = options.dev;
  else if (options.dev) {
    devIdp = await createDevIdp({});
    ownDevIdp = true;
    log.info('dev identity provider started', { url: devIdp.url });
  }
  const devAuthority = devIdp ? devAuthorityOf(devIdp) : undefined;

  const audit = createAuditStore({ path: paths.auditDb, clock });
  const sources = new Map<string, TokenSource>();
  const sourceFor = (env: string): TokenSource => {
    let source = sources.get(env);
    if (!source) {
      source = createTokenSource(config.environments[env], { env: options.env, devAuthority, clock, dataDir: paths.dataDir });
      sources.set(env, source);
    }
    return source;
  };
  // Build every source now so a credential that cannot work fails the start, not the first request.
  for (const name of Object.keys(config.environments)) sourceFor(name);

  const record = (event: AuditEvent) => audit.record(event);
  const metrics = createAgentMetrics({
    clock, config: () => config, scopes: () => broker.status(), auditRowsWritten: () => audit.stats().rowsWritten, version: AGENT_VERSION,
  });
  const broker = createTokenBroker({
    clock, log: log.child({ component: 'broker' }), audit: record, random: options.random, observer: combineObservers(metrics.observer, options.observer),
    policy: (env) => ({ source: sourceFor(env), refreshAheadMs: config.environments[env]?.refresh.ahead ?? 900_000 }),
  });

  const graphEndpoint = (env: EnvironmentConfig): GraphEndpoint => {
    if (env.credential.type === 'dev' && devIdp) return { url: `${devIdp.url}/graph`, ca: devIdp.caPem };
    const url = env.graphHost ?? 'https://graph.microsoft.com';
    // A private CA replaces the default roots, so it is used only for the authority's own origin.
    const sameOrigin = env.authorityHost && new URL(env.authorityHost).origin === new URL(url).origin;
    return { url, ca: sameOrigin && env.authorityCaFile ? readFileSync(env.authorityCaFile, 'utf8') : undefined };
  };
  const access = createAccessGate({
    checkMemberGroups: createGraphMembership({
      clock, endpoint: graphEndpoint,
      graphToken: async (env) => (await broker.get({ env: env.name, scope: GRAPH_SCOPE })).token,
    }),
  });

  const api = createAgentApi({
    config: () => config, broker, audit, clock, log: log.child({ component: 'api' }), access,
    async signIn(env, onPrompt, signal) {
      const source = sourceFor(env.name);
      if (!isInteractiveSource(source)) throw new UsageError(`environment '${env.name}' has no sign-in of its own`);
      const who = await source.signIn(onPrompt, signal);
      broker.forget(env.name); // drops the "needs a sign-in" refusal the broker holds from before
      return who;
    },
    agentInfo: () => ({
      version: AGENT_VERSION, pid: process.pid, startedAt, socket: paths.socketPath, config: config.source,
      auditDb: audit.path, devIdentityProvider: devIdp?.url ?? null, statusUrl: statusServer?.url ?? null,
    }),
  });

  const scheduler = createScheduler(log.child({ component: 'scheduler' }));
  const jobs = () => scheduledJobs(config, { broker, audit, clock });

  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, getRequestListener(metrics.instrument(api.fetch)));

  let statusServer: StatusServer | undefined;
  const startStatus = async (port: number) => {
    try {
      statusServer = await serveStatusApp({
        log: log.child({ component: 'status' }),
        status: async () => (await (await api.request('/v1/status')).json()) as StatusReport,
        recentEvents: (limit, env) => audit.list({ limit, env }),
        metrics: () => metrics.render(),
      }, port);
      log.info('status page listening', { url: statusServer.url });
    } catch (err) {
      // The socket API is what clients need; the page is a convenience.
      log.warn('status page off: its port is unavailable', { error: err, hint: (err as { hint?: string }).hint });
    }
  };

  let stopping: Promise<void> | undefined;
  return {
    socketPath: paths.socketPath,
    broker,
    audit,
    devIdp,
    get statusUrl() { return statusServer?.url; },
    async start() {
      const inherited = systemdSocket(options.env);
      if (inherited !== undefined) {
        await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ fd: inherited }, () => resolve()); });
      } else {
        await listenOnSocket(server, paths.socketPath);
      }
      scheduler.replace(jobs());
      if (options.statusPort) await startStatus(options.statusPort);
      log.info('agent listening', { socket: inherited !== undefined ? `fd ${inherited} (socket activation)` : paths.socketPath, config: config.source, environments: Object.keys(config.environments) });
    },
    reload(next) {
      const before = config.environments;
      const same = (name: string) => JSON.stringify(before[name]) === JSON.stringify(next.environments[name]);
      const added = Object.keys(next.environments).filter((n) => !before[n]);
      const removed = Object.keys(before).filter((n) => !next.environments[n]);
      const changed = Object.keys(next.environments).filter((n) => before[n] && !same(n));
      for (const name of [...removed, ...changed]) {
        broker.forget(name);
        sources.delete(name);
      }
      config = next;
      for (const name of [...added, ...changed]) sourceFor(name);
      scheduler.replace(jobs());
      log.info('config reloaded', { config: config.source, added, changed, removed });
      return { added, changed, removed };
    },
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve()); // stops accepting; resolves when in-flight requests finish
          server.closeIdleConnections();
        });
        await statusServer?.close();
        scheduler.stop();
        broker.close();
        await audit.close();
        if (ownDevIdp) await devIdp?.close();
        log.info('agent stopped');
      })();
      return stopping;
    },
  };
}

/** The listening fd systemd passed (LISTEN_FDS/LISTEN_PID, first fd is 3), if this process was socket-activated. */
function systemdSocket(env: NodeJS.ProcessEnv): number | undefined {
  if (env.LISTEN_PID !== String(process.pid)) return undefined;
  return Number(env.LISTEN_FDS) >= 1 ? 3 : undefined;
}

/** Adapts the embedded provider for credentials of type `dev`: clients are registered on first use. */
function devAuthorityOf(idp: DevIdp): DevAuthority {
  const secrets = new Map<string, string>();
  return {
    url: idp.url,
    caPem: idp.caPem,
    tenantId: idp.tenantId,
    secretFor({ clientId, groups, idtyp }) {
      let secret = secrets.get(clientId);
      if (!secret) {
        secret = idp.registerClient({ clientId, groups, idtyp });
        secrets.set(clientId, secret);
      }
      return secret;
    },
  };
}
