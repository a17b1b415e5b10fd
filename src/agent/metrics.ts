// The agent's Prometheus metrics: a small hand-written registry and the text exposition format (version 0.0.4).

import type { AadbtConfig } from '../config/config-schema.js';
import type { Clock } from '../clock.js';
import type { BrokerObserver, ScopeStatus } from '../tokens/token-broker.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string>;

/** A monotonically increasing count per label set. */
export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

/** Observations sorted into cumulative buckets, with their sum and count. */
export interface Histogram {
  observe(labels: Labels, value: number): void;
}

/** One sample of a gauge computed when scraped. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** Holds metric families and renders them in the Prometheus text format. */
export interface MetricsRegistry {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram;
  /** A gauge (or a counter read from elsewhere) whose samples are computed at each scrape. */
  collected(name: string, type: 'gauge' | 'counter', help: string, collect: () => Sample[]): void;
  render(): string;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and line feed (the format's only escapes). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  lines(): string[];
}

export function createMetricsRegistry(): MetricsRegistry {
  const families: Family[] = [];

  const register = (family: Family, labelNames: readonly string[]) => {
    if (!METRIC_NAME.test(family.name)) throw new Error(`metrics: invalid metric name ${family.name}`);
    for (const l of labelNames) if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`metrics: invalid label name ${l}`);
    if (families.some((f) => f.name === family.name)) throw new Error(`metrics: ${family.name} is registered twice`);
    families.push(family);
  };

  // Keys the label set in the declared order so {a,b} and {b,a} are the same series.
  const keyOf = (labelNames: readonly string[], labels: Labels) => JSON.stringify(labelNames.map((n) => labels[n] ?? ''));
  const labelsOf = (labelNames: readonly string[], labels: Labels): Labels =>
    Object.fromEntries(labelNames.map((n) => [n, labels[n] ?? '']));

  return {
    counter(name, help, labelNames = []) {
      const series = new Map<string, { labels: Labels; value: number }>();
      register({
        name, type: 'counter', help,
        lines: () => [...series.values()].map((s) => `${name}${formatLabels(s.labels)} ${formatValue(s.value)}`),
      }, labelNames);
      return {
        inc(labels = {}, by = 1) {
          if (!(by >= 0)) throw new Error(`metrics: ${name} can only go up`);
          const key = keyOf(labelNames, labels);
          const s = series.get(key) ?? { labels: labelsOf(labelNames, labels), value: 0 };
          s.value += by;
          series.set(key, s);
        },
      };
    },

    histogram(name, help, labelNames, buckets) {
      const bounds = [...buckets].sort((a, b) => a - b);
      const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
      register({
        name, type: 'histogram', help,
        lines: () => [...series.values()].flatMap((s) => {
          let cumulative = 0;
          return [
            ...bounds.map((le, i) => {
              cumulative += s.counts[i];
              return `${name}_bucket${formatLabels({ ...s.labels, le: formatValue(le) })} ${cumulative}`;
            }),
            `${name}_bucket${formatLabels({ ...s.labels, le: '+Inf' })} ${s.count}`,
            `${name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`,
            `${name}_count${formatLabels(s.labels)} ${s.count}`,
          ];
        }),
      }, labelNames);
      return {
        observe(labels, value) {
          const key = keyOf(labelNames, labels);
          const s = series.get(key) ?? { labels: labelsOf(labelNames, labels), counts: bounds.map(() => 0), sum: 0, count: 0 };
          const i = bounds.findIndex((le) => value <= le);
          if (i >= 0) s.counts[i] += 1;
          s.sum += value;
          s.count += 1;
          series.set(key, s);
        },
      };
    },

    collected(name, type, help, collect) {
      register({
        name, type, help,
        lines: () => collect().map((s) => `${name}${formatLabels(s.labels)} ${formatValue(s.value)}`),
      }, []);
    },

    render() {
      return families.map((f) => [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.lines()].join('\n')).join('\n') + '\n';
    },
  };
}

export type TokenRequestOutcome = 'ok' | 'denied' | 'error';

export interface AgentMetricsDeps {
  clock: Clock;
  config(): AadbtConfig;
  /** The broker's per-scope state, read at each scrape. */
  scopes(): ScopeStatus[];
  /** Rows the audit store has committed since the agent started. */
  auditRowsWritten(): number;
  version: string;
}

/** The agent's metric families, fed by the broker observer and the socket API's token routes. */
export interface AgentMetrics {
  /** Pass to the broker: counts upstream calls, cache hits and refresh latency. */
  readonly observer: BrokerObserver;
  tokenRequest(env: string, outcome: TokenRequestOutcome): void;
  /** Wraps the socket API's fetch so each token or env request is counted by its answer's status. */
  instrument<A extends unknown[]>(fetch: (request: Request, ...rest: A) => Response | Promise<Response>): (request: Request, ...rest: A) => Promise<Response>;
  render(): string;
}

const TOKEN_ROUTE = /^\/v1\/environments\/([^/]+)\/(?:token|env)\/?$/;

export function createAgentMetrics(deps: AgentMetricsDeps): AgentMetrics {
  const registry = createMetricsRegistry();
  const tokenRequests = registry.counter('aadbt_token_requests_total', 'Token requests the socket API answered (token and env routes), by environment and outcome.', ['env', 'outcome']);
  const upstreamCalls = registry.counter('aadbt_upstream_calls_total', 'Calls to the identity provider, by environment and outcome.', ['env', 'outcome']);
  const cacheHits = registry.counter('aadbt_cache_hits_total', 'Tokens served from the agent\'s cache without calling the identity provider.', ['env']);
  const refreshSeconds = registry.histogram('aadbt_refresh_duration_seconds', 'Time one call to the identity provider took, successful or not.', ['env'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  registry.collected('aadbt_token_expiry_seconds', 'gauge', 'Seconds until the cached token for an environment and scope expires (negative once expired).', () => {
    const now = deps.clock.now();
    return deps.scopes().filter((s) => s.expiresOn !== undefined)
      .map((s) => ({ labels: { env: s.env, scope: s.scope }, value: Math.round((s.expiresOn! - now) / 1000) }));
  });
  registry.collected('aadbt_token_state', 'gauge', 'The state of each environment and scope the broker knows (1 for its current state).', () =>
    deps.scopes().map((s) => ({ labels: { env: s.env, scope: s.scope, state: s.state }, value: 1 })));
  registry.collected('aadbt_audit_rows_written_total', 'counter', 'Audit rows committed since the agent started.', () => [{ labels: {}, value: deps.auditRowsWritten() }]);
  registry.collected('aadbt_build_info', 'gauge', 'The agent\'s version and Node.js runtime; always 1.', () => [{ labels: { version: deps.version, node: process.version }, value: 1 }]);

  const tokenRequest = (env: string, outcome: TokenRequestOutcome) => tokenRequests.inc({ env, outcome });

  // A label per configured environment only: a request for a made-up name must not mint a new series.
  const envLabel = (segment: string) => {
    const config = deps.config();
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return 'unknown';
    }
    const resolved = name === '@default' ? config.default : name;
    return resolved !== undefined && config.environments[resolved] ? resolved : 'unknown';
  };

  return {
    observer: {
      upstream(env, _scope, outcome, ms) {
        upstreamCalls.inc({ env, outcome });
        refreshSeconds.observe({ env }, ms / 1000);
      },
      served(env, _scope, from) {
        if (from === 'cache') cacheHits.inc({ env });
      },
    },
    tokenRequest,
    instrument(fetch) {
      return async (request, ...rest) => {
        const match = TOKEN_ROUTE.exec(new URL(request.url).pathname);
        const response = await fetch(request, ...rest);
        if (match) tokenRequest(envLabel(match[1]), response.status < 300 ? 'ok' : response.status === 403 ? 'denied' : 'error');
        return response;
      };
    },
    render: () => registry.render(),
  };
}

/** One observer that tells each of the given ones (metrics plus whatever the caller passed). */
export function combineObservers(...observers: (BrokerObserver | undefined)[]): BrokerObserver {
  const all = observers.filter((o): o is BrokerObserver => o !== undefined);
  return {
    upstream: (...args) => { for (const o of all) o.upstream?.(...args); },
    served: (...args) => { for (const o of all) o.served?.(...args); },
  };
}
