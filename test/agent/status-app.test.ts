// The loopback status app: routes, Host check, headers, Prometheus text, and no token anywhere, in-process and through a real agent.

import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditRow } from '../../src/audit/audit-event.js';
import type { AadbtConfig } from '../../src/config/config-schema.js';
import { silentLogger } from '../../src/log.js';
import { createAgentMetrics, createMetricsRegistry, escapeLabelValue } from '../../src/agent/metrics.js';
import { createStatusApp, type StatusAppDeps } from '../../src/agent/status-app.js';
import type { StatusReport } from '../../src/agent/status-page.js';
import type { ScopeState, ScopeStatus } from '../../src/tokens/token-broker.js';
import { createFakeClock } from '../../src/clock.js';
import {
  FABRIC, isolatedEnv, runCli, spawnAgent, startProvider, tempDir, type AgentProcess, type Provider, type TempDir, until,
} from '../support/harness.js';
import { jwtShaped } from '../support/jwt-shaped.js';

// ---------------------------------------------------------------- a strict Prometheus text (0.0.4) parser

interface PromSample { name: string; labels: Record<string, string>; value: number }

/** Parses the text exposition format and checks its grammar and invariants; throws on any violation. */
function parsePrometheus(text: string): PromSample[] {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (!meta) continue; // a plain comment
      if (meta[1] === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3])) throw new Error(`bad TYPE ${where}`);
        if (types.has(meta[2])) throw new Error(`TYPE twice ${where}`);
        if (samples.some((s) => s.name === meta[2] || s.name.startsWith(meta[2] + '_'))) throw new Error(`TYPE after samples ${where}`);
        types.set(meta[2], meta[3]);
      } else if (/\\[^\\n]/.test(meta[3].replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP ${where}`);
      continue;
    }
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    if (!m) throw new Error(`not a sample ${where}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest.length > 0) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
      if (!l) throw new Error(`bad labels ${where}`);
      if (l[1] in labels) throw new Error(`label twice ${where}`);
      labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
      if (!l[3] && rest.length > 0) throw new Error(`missing comma ${where}`);
    }
    const raw = m[3];
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value ${where}`);
    const family = [...types.keys()].find((f) => m[1] === f || (types.get(f) === 'histogram' && [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(m[1])));
    if (!family) throw new Error(`sample without a TYPE ${where}`);
    if (types.get(family) === 'counter' && !(value >= 0)) throw new Error(`negative counter ${where}`);
    if (m[1].endsWith('_bucket') && types.get(family) === 'histogram' && !('le' in labels)) throw new Error(`bucket without le ${where}`);
    samples.push({ name: m[1], labels, value });
  }
  // Histograms: buckets cumulative in le order, +Inf bucket equals _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, PromSample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      void le;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const sorted = [...buckets].sort((a, b) => Number(a.labels.le.replace('+Inf', 'Infinity')) - Number(b.labels.le.replace('+Inf', 'Infinity')));
      sorted.forEach((b, i) => { if (i > 0 && b.value < sorted[i - 1].value) throw new Error(`${family} buckets not cumulative for ${key}`); });
      const inf = sorted.at(-1)!;
      if (inf.labels.le !== '+Inf') throw new Error(`${family} has no +Inf bucket for ${key}`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      if (!count || count.value !== inf.value) throw new Error(`${family}_count differs from the +Inf bucket for ${key}`);
    }
  }
  return samples;
}

const value = (samples: PromSample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0;

// ---------------------------------------------------------------- in-process: app.request() without a port

const NOW = Date.parse('2026-03-01T12:00:00Z');
const FP16 = '0123456789abcdef';

function scope(env: string, state: ScopeState, extra: Partial<ScopeStatus> = {}): ScopeStatus {
  const valid = state === 'fresh' || state === 'degraded' || state === 'refreshing';
  return {
    env, scope: FABRIC, state, consecutiveFailures: state === 'failed' || state === 'degraded' ? 2 : 0,
    ...(valid ? { expiresOn: NOW + 1_800_000, lastRefresh: NOW - 1_800_000, principal: { appid: `${env}-app` }, fingerprint: FP16.slice(0, 8) } : {}),
    ...(state === 'failed' ? { lastError: { code: 'AUTH_FAILED', message: `${env}: AADSTS7000215: Invalid client secret provided`, at: NOW - 5_000 } } : {}),
    ...extra,
  };
}

function reportOf(envs: Record<string, ScopeStatus[]>): StatusReport {
  return {
    agent: { version: '0.1.0', pid: 1234, startedAt: NOW - 60_000, config: '/etc/aadbt/config.yaml' },
    now: NOW, default: Object.keys(envs)[0] ?? null,
    environments: Object.entries(envs).map(([name, scopes]) => ({ name, automation: false, credential: 'client-secret', targets: [name], scopes })),
  };
}

function row(id: number, extra: Partial<AuditRow> = {}): AuditRow {
  return {
    id, ts: NOW - id * 1000, env: 'dev', scope: FABRIC, action: 'serve', principal_oid: null, principal_app: 'dev-app', principal_upn: null,
    idtyp: 'app', tid: null, fingerprint: FP16, expires_on: null, caller: null, outcome: 'ok', detail: null, prev_hash: '0', hash: '1', ...extra,
  };
}

function appWith(report: StatusReport, events: AuditRow[] = [], port = 7878, metrics = () => '# TYPE x gauge\nx 1\n') {
  const deps: StatusAppDeps = { port: () => port, status: async () => report, recentEvents: (n, env) => events.filter((e) => !env || e.env === env).slice(0, n), metrics, log: silentLogger };
  return createStatusApp(deps);
}

const local = { host: '127.0.0.1:7878' };

test('healthz is 503 only when every environment is failed', async () => {
  const cases: [string, Record<string, ScopeStatus[]>, number, string][] = [
    ['all fresh', { dev: [scope('dev', 'fresh')], ci: [scope('ci', 'fresh')] }, 200, 'ok'],
    ['one of two failed', { dev: [scope('dev', 'fresh')], ci: [scope('ci', 'failed')] }, 200, 'ok'],
    ['nothing fetched yet', { dev: [scope('dev', 'cold')] }, 200, 'ok'],
    ['degraded still serves', { dev: [scope('dev', 'degraded')], ci: [scope('ci', 'failed')] }, 200, 'ok'],
    ['every environment failed', { dev: [scope('dev', 'failed')], ci: [scope('ci', 'failed')] }, 503, 'failing'],
    ['failed beside an untried scope', { dev: [scope('dev', 'failed'), { ...scope('dev', 'cold'), scope: 'x/.default' }] }, 503, 'failing'],
    ['a failed scope beside a fresh one', { dev: [scope('dev', 'failed'), { ...scope('dev', 'fresh'), scope: 'x/.default' }] }, 200, 'ok'],
  ];
  for (const [name, envs, status, word] of cases) {
    const res = await appWith(reportOf(envs)).request('/healthz', { headers: local });
    assert.is(res.status, status, name);
    const body = await res.json() as { status: string; environments: Record<string, string> };
    assert.is(body.status, word, name);
    assert.equal(Object.keys(body.environments), Object.keys(envs), name);
  }
});

test('a Host other than 127.0.0.1:PORT or localhost:PORT gets 421 (DNS rebinding)', async () => {
  const app = appWith(reportOf({ dev: [scope('dev', 'fresh')] }));
  const cases: [string | undefined, number][] = [
    ['127.0.0.1:7878', 200], ['localhost:7878', 200], ['LOCALHOST:7878', 200],
    ['evil.example', 421], ['evil.example:7878', 421], ['127.0.0.1:7879', 421], ['127.0.0.1', 421], ['localhost', 421],
    ['[::1]:7878', 421], ['127.0.0.1:7878.evil.example', 421], [undefined, 421],
  ];
  for (const [host, status] of cases) {
    for (const path of ['/', '/healthz', '/v1/status', '/metrics']) {
      const res = await app.request(path, { headers: host === undefined ? {} : { host } });
      assert.is(res.status, status, `${host} ${path}`);
      if (status === 421) assert.not.match(await res.text(), /dev-app|AADSTS|TYPE/, 'a refusal says nothing about the agent');
    }
  }
});

test('every answer carries nosniff, a strict CSP, no-store and no-referrer', async () => {
  const app = appWith(reportOf({ dev: [scope('dev', 'fresh')] }), [row(1)]);
  for (const [path, host, status] of [['/', local.host, 200], ['/healthz', local.host, 200], ['/v1/status', local.host, 200], ['/metrics', local.host, 200],
    ['/nope', local.host, 404], ['/', 'evil.example', 421]] as const) {
    const res = await app.request(path, { headers: { host } });
    assert.is(res.status, status, path);
    assert.is(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.is(res.headers.get('cache-control'), 'no-store', path);
    assert.is(res.headers.get('referrer-policy'), 'no-referrer', path);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /^default-src 'none';/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.not.match(csp, /unsafe-inline|unsafe-eval|\*/, path);
  }
});

test('the page is self-contained: its one style element carries this response\'s nonce, no script, no outside URL', async () => {
  const app = appWith(reportOf({ dev: [scope('dev', 'fresh')], ci: [scope('ci', 'failed')] }), [row(1)]);
  const nonces = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const res = await app.request('/', { headers: local });
    const html = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get('content-security-policy')!)![1];
    nonces.add(nonce);
    assert.ok(html.includes(`<style nonce="${nonce}">`), 'the style element is allowed by the CSP');
    assert.is(html.match(/<style/g)?.length, 1);
    assert.not.match(html, /<script|\sstyle=|\son[a-z]+=|<img|<link|@import|url\(/i);
    assert.not.match(html, /(src|href)="(https?:)?\/\//i, 'no outside asset');
    assert.match(html, /<meta http-equiv="refresh" content="5">/, 'it refreshes itself');
  }
  assert.is(nonces.size, 2, 'a fresh nonce per response');
});

test('the page shows states, principal, times, errors and events, escaping every value and cutting fingerprints to 8 hex', async () => {
  const jwt = jwtShaped();
  const evil = '<script>alert("x")</script>';
  const report = reportOf({
    dev: [scope('dev', 'fresh', { fingerprint: FP16, principal: { appid: 'dev-app', upn: `bob${evil}@contoso.com` } })],
    ci: [scope('ci', 'failed', { lastError: { code: 'AUTH_FAILED', message: `ci: provider said ${evil} and leaked ${jwt}`, at: NOW - 1000 } })],
    [`odd"&'name`]: [scope('odd', 'cold')],
  });
  const events = Array.from({ length: 30 }, (_, i) => row(i + 1, { env: i === 0 ? evil : 'dev', action: i === 1 ? 'deny' : 'serve', outcome: i === 1 ? 'denied' : 'ok' }));
  const html = await (await appWith(report, events).request('/', { headers: local })).text();
  assert.not.ok(html.includes(evil), 'no raw markup from a value');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'escaped instead');
  assert.ok(html.includes('odd&quot;&amp;&#39;name'));
  assert.not.ok(html.includes(jwt) || html.includes('c2lnbmF0dXJlLXBhcnQ'), 'a token-shaped value in an error is redacted');
  assert.not.ok(html.includes(FP16), 'never a full fingerprint');
  assert.ok(html.includes(FP16.slice(0, 8)), 'the 8-hex prefix is shown');
  for (const word of ['fresh', 'failed', 'cold', 'AUTH_FAILED', 'ci: provider said', 'dev-app', 'Azure SQL / Fabric', '30m left']) {
    assert.ok(html.includes(word), word);
  }
  assert.is(html.match(/<tr>/g)?.length, 1 + 20, 'the header row and the last 20 events');
  assert.match(html, /class="badge lg s-failed"/);
  assert.match(html, /class="badge lg s-fresh"/);
  assert.match(html, /class="bar \w+"[^>]*aria-valuenow="50"/, 'half the lifetime left');
});

test('/v1/status serves the socket API\'s report, with secret-shaped values redacted', async () => {
  const jwt = jwtShaped();
  const report = reportOf({ dev: [scope('dev', 'failed', { lastError: { code: 'X', message: `leak ${jwt}`, at: NOW } })] });
  const res = await appWith(report).request('/v1/status', { headers: local });
  assert.is(res.status, 200);
  const text = await res.text();
  assert.not.ok(text.includes(jwt));
  const body = JSON.parse(text) as StatusReport;
  assert.is(body.environments[0].scopes[0].state, 'failed');
  assert.is(body.now, NOW);
});

// ---------------------------------------------------------------- metrics registry

test('/v1/events: the last events of one environment, without hashes, fingerprints cut to 8 hex', async () => {
  const events = [row(1, { env: 'prod' }), row(2), row(3, { env: 'prod' }), row(4, { env: 'prod' })];
  const res = await appWith(reportOf({ dev: [scope('dev', 'fresh')] }), events).request('/v1/events?env=prod&limit=2', { headers: local });
  assert.is(res.status, 200);
  const body = await res.json() as { events: Record<string, unknown>[] };
  assert.equal(body.events.map((e) => e.id), [1, 3]);
  assert.ok(body.events.every((e) => e.fingerprint === FP16.slice(0, 8) && !('hash' in e) && !('prev_hash' in e)));
  assert.not.ok(JSON.stringify(body).includes(FP16));
});

test('label values are escaped as the text format requires, and parse back', () => {
  const cases: [string, string][] = [['plain', 'plain'], ['a"b', 'a\\"b'], ['back\\slash', 'back\\\\slash'], ['two\nlines', 'two\\nlines'], ['', '']];
  for (const [raw, escaped] of cases) assert.is(escapeLabelValue(raw), escaped, raw);
  const registry = createMetricsRegistry();
  const c = registry.counter('t_requests_total', 'help with \\ and\nnewline', ['env']);
  for (const [raw] of cases) c.inc({ env: raw }, 2);
  const samples = parsePrometheus(registry.render());
  for (const [raw] of cases) assert.is(value(samples, 't_requests_total', { env: raw }), 2, raw);
});

test('a histogram is cumulative with +Inf, _sum and _count; counters refuse to go down', () => {
  const registry = createMetricsRegistry();
  const h = registry.histogram('t_seconds', 'latency', ['env'], [0.1, 1, 10]);
  for (const v of [0.05, 0.1, 0.5, 2, 20]) h.observe({ env: 'dev' }, v);
  const samples = parsePrometheus(registry.render());
  const buckets = samples.filter((s) => s.name === 't_seconds_bucket').map((s) => [s.labels.le, s.value]);
  assert.equal(buckets, [['0.1', 2], ['1', 3], ['10', 4], ['+Inf', 5]]);
  assert.is(value(samples, 't_seconds_count'), 5);
  assert.ok(Math.abs(value(samples, 't_seconds_sum') - 22.65) < 1e-9);
  const c = registry.counter('t_total', 'n');
  try {
    c.inc({}, -1);
    assert.unreachable('a counter went down');
  } catch (err) {
    assert.match((err as Error).message, /only go up/);
  }
});

test('token requests on the socket API are counted by environment and the answer\'s outcome', async () => {
  const clock = createFakeClock(NOW);
  const config = { default: 'dev', environments: { dev: {}, ci: {} } } as unknown as AadbtConfig;
  const metrics = createAgentMetrics({ clock, config: () => config, scopes: () => [], auditRowsWritten: () => 0, version: 't' });
  const cases: [string, string, number, string | undefined, string | undefined][] = [
    ['POST', '/v1/environments/dev/token', 200, 'dev', 'ok'],
    ['POST', '/v1/environments/ci/token', 403, 'ci', 'denied'],
    ['POST', '/v1/environments/ci/token', 422, 'ci', 'error'],
    ['GET', '/v1/environments/dev/env', 503, 'dev', 'error'],
    ['POST', '/v1/environments/%40default/token', 200, 'dev', 'ok'],
    ['POST', '/v1/environments/made-up-123/token', 404, 'unknown', 'error'],
    ['GET', '/v1/status', 200, undefined, undefined],
    ['GET', '/v1/environments', 200, undefined, undefined],
  ];
  for (const [method, path, status, env, outcome] of cases) {
    const before = parsePrometheus(metrics.render());
    const fetch = metrics.instrument(async (_req: Request) => new Response('{}', { status }));
    assert.is((await fetch(new Request(`http://localhost${path}`, { method }))).status, status);
    const after = parsePrometheus(metrics.render());
    const total = (s: PromSample[]) => s.filter((x) => x.name === 'aadbt_token_requests_total').reduce((n, x) => n + x.value, 0);
    if (env === undefined) {
      assert.is(total(after), total(before), `${path} is not a token request`);
    } else {
      assert.is(value(after, 'aadbt_token_requests_total', { env, outcome: outcome! }) - value(before, 'aadbt_token_requests_total', { env, outcome: outcome! }), 1, path);
    }
  }
});

// ---------------------------------------------------------------- through a real agent

let dir: TempDir;
let provider: Provider;

test.before(async () => {
  dir = tempDir();
  provider = await startProvider(dir);
});
test.after(async () => {
  await provider?.idp.close();
  dir?.remove();
});

/** A port nothing listens on right now (the agent binds it moments later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}


/** Starts an agent with a status port and returns the URL it logged. */
async function agentWithStatus(name: string, yaml: string): Promise<{ agent: AgentProcess; env: NodeJS.ProcessEnv; url: string }> {
  const env = isolatedEnv(dir, {
    AADBT_SOCKET: join(dir.path, name, 'agent.sock'), AADBT_DATA_DIR: join(dir.path, `${name}-data`), AADBT_CONFIG: dir.file(`${name}.yaml`, yaml),
  });
  const agent = await spawnAgent(env, ['--status-port', String(await freePort())]);
  await until(() => /"status page listening"/.test(agent.output()), 'the status URL in the log', agent.output);
  const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(agent.output().split('\n').find((l) => l.includes('status page listening'))!)![1];
  return { agent, env, url };
}

function envYaml(name: string, clientId: string, scope: string, extra = ''): string {
  return [
    `  ${name}:`,
    `    tenant: ${provider.idp.tenantId}`,
    `    authorityHost: ${provider.idp.url}`,
    `    authorityCaFile: ${provider.caFile}`,
    `    credential: { type: client-secret, clientId: ${clientId}, secretFile: ${provider.secretFile(clientId, { groups: ['0a0a0000-0000-4000-8000-000000000001'] })} }`,
    `    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${scope}" }`,
    ...(extra ? [extra] : []),
  ].join('\n');
}

interface Got { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function get(url: string, path: string, host?: string): Promise<Got> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('real agent: metrics move with requests, healthz stays 200 beside a failed environment, and no route shows the token', async () => {
  const yaml = `default: good\nenvironments:\n${envYaml('good', 'status-good', FABRIC)}\n`
    + `${envYaml('locked', 'status-locked', FABRIC, '    access: { groups: ["5a1e0000-0000-4000-8000-00000000a11d"] }')}\n`
    + `${envYaml('broken', 'status-broken', 'https://unknown.example/.default')}\n`;
  const { agent, env, url } = await agentWithStatus('real', yaml);
  try {
    const before = parsePrometheus((await get(url, '/metrics')).body);
    const first = await runCli(['token', 'good'], env);
    assert.is(first.code, 0, first.stderr);
    const second = await runCli(['token', 'good'], env);
    const token = second.stdout.trim();
    assert.is(token, first.stdout.trim(), 'the second request is served from the cache');
    assert.is((await runCli(['token', 'locked'], env)).code, 3, 'denied by group');
    assert.is.not((await runCli(['token', 'broken'], env)).code, 0, 'the broken environment fails');

    const metrics = await get(url, '/metrics');
    assert.is(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const after = parsePrometheus(metrics.body);
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    assert.is(delta('aadbt_token_requests_total', { env: 'good', outcome: 'ok' }), 2);
    assert.is(delta('aadbt_token_requests_total', { env: 'locked', outcome: 'denied' }), 1);
    assert.is(delta('aadbt_token_requests_total', { env: 'broken', outcome: 'error' }), 1);
    assert.is(delta('aadbt_cache_hits_total', { env: 'good' }), 1);
    assert.is(delta('aadbt_upstream_calls_total', { env: 'good', outcome: 'ok' }), 1);
    assert.is(delta('aadbt_upstream_calls_total', { env: 'broken', outcome: 'error' }), 1);
    assert.is(delta('aadbt_refresh_duration_seconds_count', { env: 'good' }), 1);
    assert.ok(delta('aadbt_audit_rows_written_total', {}) >= 4, 'issue, two serves, deny and error rows');
    const ttl = value(after, 'aadbt_token_expiry_seconds', { env: 'good', scope: FABRIC });
    assert.ok(ttl > 3000 && ttl <= 3600, `seconds to expiry ${ttl}`);
    assert.is(value(after, 'aadbt_build_info', { version: '0.1.0', node: process.version }), 1);

    const health = await get(url, '/healthz');
    assert.is(health.status, 200, health.body);
    assert.equal(JSON.parse(health.body).environments, { good: 'fresh', locked: 'fresh', broken: 'failed' });

    const status = JSON.parse((await get(url, '/v1/status')).body) as StatusReport;
    assert.equal(status.environments.map((e) => [e.name, e.scopes[0].state]), [['good', 'fresh'], ['locked', 'fresh'], ['broken', 'failed']]);

    const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 16);
    const page = await get(url, '/');
    assert.ok(page.body.includes(fingerprint.slice(0, 8)), 'the page shows the token by its 8-hex fingerprint');
    assert.ok(page.body.includes('last request denied'), 'the denial shows on the locked environment');
    for (const path of ['/', '/v1/status', '/metrics', '/healthz', '/nope']) {
      const res = await get(url, path);
      for (const secret of [token, token.split('.')[1], token.split('.')[2], fingerprint]) {
        assert.not.ok(res.body.includes(secret), `${path} leaks ${secret === fingerprint ? 'the full fingerprint' : 'the token'}`);
      }
      assert.is(res.headers['x-content-type-options'], 'nosniff', path);
    }

    const rebound = await get(url, '/v1/status', 'evil.example');
    assert.is(rebound.status, 421);
    assert.not.ok(rebound.body.includes('good'));
  } finally {
    await agent.stop();
  }
});

test('real agent: healthz is 503 when its only environment has failed', async () => {
  const { agent, env, url } = await agentWithStatus('failing', `environments:\n${envYaml('broken', 'status-broken-2', 'https://unknown.example/.default')}\n`);
  try {
    assert.is((await get(url, '/healthz')).status, 200, 'untried is not failed');
    assert.is.not((await runCli(['token', 'broken'], env)).code, 0);
    const health = await get(url, '/healthz');
    assert.is(health.status, 503, health.body);
    assert.is(JSON.parse(health.body).status, 'failing');
  } finally {
    await agent.stop();
  }
});

test('real agent: a taken status port is a warning; the socket API serves anyway', async () => {
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const { port } = squatter.address() as AddressInfo;
  const env = isolatedEnv(dir, {
    AADBT_SOCKET: join(dir.path, 'taken', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'taken-data'),
    AADBT_CONFIG: dir.file('taken.yaml', `environments:\n${envYaml('good', 'status-taken', FABRIC)}\n`),
  });
  const agent = await spawnAgent(env, ['--status-port', String(port)]);
  try {
    await until(() => agent.output().includes('agent listening'), 'the agent to start', agent.output);
    assert.match(agent.output(), /status page off/);
    assert.match(agent.output(), new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    assert.is((await runCli(['token', 'good'], env)).code, 0);
  } finally {
    await agent.stop();
    await new Promise<void>((r) => squatter.close(() => r()));
  }
});

test('real agent: --status-port 0 turns the status page off', async () => {
  const env = isolatedEnv(dir, {
    AADBT_SOCKET: join(dir.path, 'off', 'agent.sock'), AADBT_DATA_DIR: join(dir.path, 'off-data'),
    AADBT_CONFIG: dir.file('off.yaml', `environments:\n${envYaml('good', 'status-off', FABRIC)}\n`),
  });
  const agent = await spawnAgent(env, ['--status-port', '0']);
  try {
    await until(() => agent.output().includes('agent listening'), 'the agent to start', agent.output);
    assert.not.match(agent.output(), /status page/);
    const status = (await runCli(['status', '--json'], env));
    assert.is(JSON.parse(status.stdout).agent.statusUrl, null);
  } finally {
    await agent.stop();
  }
});

test.run();
