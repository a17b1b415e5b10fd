// The status page: one self-contained HTML document (inline CSS, no script) showing environments, tokens and audit events.

import type { AuditRow } from '../audit/audit-event.js';
import { formatDuration } from '../duration.js';
import { redactText } from '../log.js';
import type { ScopeState, ScopeStatus } from '../tokens/token-broker.js';

/** One environment as the socket API's /v1/status reports it. */
export interface EnvironmentStatus {
  name: string;
  automation: boolean;
  credential: string;
  targets?: string[];
  scopes: ScopeStatus[];
}

/** The socket API's /v1/status answer (the status app reuses it unchanged). */
export interface StatusReport {
  agent: { version?: string; pid?: number; startedAt?: number; config?: string; devIdentityProvider?: string | null } & Record<string, unknown>;
  now: number;
  default: string | null;
  environments: EnvironmentStatus[];
}

export interface StatusPageInput {
  report: StatusReport;
  /** Recent audit rows, newest first. */
  events: readonly AuditRow[];
  /** The CSP nonce that allows the page's one inline style element. */
  nonce: string;
  refreshSeconds?: number;
}

/**
 * One state for an environment: `failed` only when every scope it tried failed (nothing can be served),
 * `degraded` when some scope failed or serves while retrying, else the liveliest of its scopes.
 */
export function environmentState(scopes: readonly Pick<ScopeStatus, 'state'>[]): ScopeState {
  const tried = scopes.filter((s) => s.state !== 'cold');
  if (tried.length === 0) return 'cold';
  if (tried.every((s) => s.state === 'failed')) return 'failed';
  for (const state of ['degraded', 'refreshing', 'fresh', 'expired'] as const) {
    if (state === 'degraded' ? tried.some((s) => s.state === 'failed' || s.state === 'degraded') : tried.some((s) => s.state === state)) return state;
  }
  return 'cold';
}

const STATE_TEXT: Record<ScopeState, string> = {
  fresh: 'a valid token is cached',
  refreshing: 'asking the identity provider now',
  degraded: 'serving, but the last refresh failed',
  expired: 'the cached token lapsed; the next request fetches one',
  failed: 'no valid token and the identity provider refuses or fails',
  cold: 'nothing fetched yet; the first request fetches a token',
};

/** Escapes text for HTML element content and quoted attributes, after removing anything secret-shaped. */
export function escapeHtml(value: unknown): string {
  return redactText(String(value ?? ''))
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const pad = (n: number) => String(n).padStart(2, '0');

function clockTime(ms: number, now: number): string {
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return new Date(now).toDateString() === d.toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

const relative = (ms: number, now: number) => (ms >= now ? `in ${formatDuration(ms - now)}` : `${formatDuration(now - ms)} ago`);

/** A short fingerprint: at most 8 hex, whatever the source holds. */
export function shortFingerprint(value: string | null | undefined): string {
  return value && /^[0-9a-f]+$/i.test(value) ? value.slice(0, 8) : '';
}

function badge(state: ScopeState, size: 'lg' | 'sm'): string {
  return `<span class="badge ${size} s-${state}" title="${escapeHtml(STATE_TEXT[state])}">${escapeHtml(state)}</span>`;
}

function timeLeftBar(s: ScopeStatus, now: number): string {
  if (s.expiresOn === undefined) {
    return '<div class="bar empty"><span class="w0"></span></div><div class="left muted">no token cached</div>';
  }
  const left = s.expiresOn - now;
  const lifetime = s.lastRefresh !== undefined && s.expiresOn > s.lastRefresh ? s.expiresOn - s.lastRefresh : Math.max(left, 1);
  const fraction = Math.max(0, Math.min(1, left / lifetime));
  const tone = left <= 0 ? 'gone' : fraction > 0.5 ? 'good' : fraction > 0.2 ? 'warn' : 'low';
  const label = left > 0 ? `${formatDuration(left)} left` : `expired ${formatDuration(-left)} ago`;
  // A width class in 2% steps keeps the CSP free of inline style attributes.
  const step = Math.round(fraction * 50) * 2;
  return `<div class="bar ${tone}" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${step}" aria-label="time left">`
    + `<span class="w${step}"></span></div>`
    + `<div class="left"><strong>${escapeHtml(label)}</strong><span class="muted"> · expires ${escapeHtml(clockTime(s.expiresOn, now))}</span></div>`;
}

// Resources people recognise by name rather than by id or host.
const KNOWN_RESOURCES: Record<string, string> = {
  'database.windows.net': 'Azure SQL / Fabric',
  '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d': 'Azure Databricks',
  '499b84ac-1321-427f-aa17-267ca6975798': 'Azure DevOps',
  'graph.microsoft.com': 'Microsoft Graph',
  'management.azure.com': 'Azure Resource Manager',
  'storage.azure.com': 'Azure Storage',
  'api.fabric.microsoft.com': 'Microsoft Fabric API',
};

/** A short name for a scope: the resource's common name when known, else its host or id. */
export function scopeLabel(scope: string): string {
  const resource = scope.replace(/^https?:\/\//, '').replace(/\/?\.default$/, '').replace(/\/$/, '');
  return KNOWN_RESOURCES[resource] ?? resource;
}

function scopeRow(s: ScopeStatus, now: number): string {
  const facts: string[] = [];
  if (s.lastRefresh !== undefined) facts.push(`refreshed <time title="${escapeHtml(clockTime(s.lastRefresh, now))}">${escapeHtml(relative(s.lastRefresh, now))}</time>`);
  if (s.nextRefresh !== undefined) facts.push(`next refresh <time title="${escapeHtml(clockTime(s.nextRefresh, now))}">${escapeHtml(relative(s.nextRefresh, now))}</time>`);
  if (s.fingerprint) facts.push(`fp <code>${escapeHtml(shortFingerprint(s.fingerprint))}</code>`);
  const error = s.lastError
    ? `<div class="error"><div class="error-head"><code>${escapeHtml(s.lastError.code)}</code>`
      + `<span class="muted">${escapeHtml(clockTime(s.lastError.at, now))} · ${s.consecutiveFailures} failure${s.consecutiveFailures === 1 ? '' : 's'} in a row</span></div>`
      + `<div class="error-msg">${escapeHtml(s.lastError.message)}</div></div>`
    : '';
  return `<div class="scope">
  <div class="scope-head"><div class="scope-id"><span class="scope-name">${escapeHtml(scopeLabel(s.scope))}</span><code class="scope-raw" title="${escapeHtml(s.scope)}">${escapeHtml(s.scope)}</code></div>${badge(s.state, 'sm')}</div>
  ${timeLeftBar(s, now)}
  ${facts.length ? `<div class="facts">${facts.map((f) => `<span>${f}</span>`).join(' <span class="sep">·</span> ')}</div>` : ''}
  ${error}
</div>`;
}

function principalLine(env: EnvironmentStatus): string {
  const p = env.scopes.find((s) => s.principal && (s.principal.appid || s.principal.upn))?.principal;
  if (!p) return '<span class="muted">not known until the first token</span>';
  const parts: string[] = [];
  if (p.upn) parts.push(`<span class="k">upn</span> ${escapeHtml(p.upn)}`);
  if (p.appid) parts.push(`<span class="k">app</span> <code>${escapeHtml(p.appid)}</code>`);
  if (p.idtyp) parts.push(`<span class="k">type</span> ${escapeHtml(p.idtyp)}`);
  return parts.join(' <span class="sep">·</span> ');
}

/** The newest request outcome for env among the recent events, when it was a denial (the token is fine, the caller is not). */
function recentDenial(env: string, events: readonly AuditRow[], now: number): string {
  const last = events.find((e) => e.env === env && (e.action === 'serve' || e.action === 'deny'));
  if (!last || last.action !== 'deny') return '';
  let message = 'access denied';
  try {
    const detail = JSON.parse(last.detail ?? '{}') as { message?: unknown };
    if (typeof detail.message === 'string') message = detail.message;
  } catch { /* keep the generic text */ }
  return `<div class="denied"><div class="error-head"><strong>last request denied</strong><span class="muted">${escapeHtml(clockTime(last.ts, now))}</span></div>`
    + `<div class="error-msg">${escapeHtml(message)}</div></div>`;
}

function environmentCard(env: EnvironmentStatus, report: StatusReport, events: readonly AuditRow[]): string {
  const state = environmentState(env.scopes);
  const tags = [
    `<span class="tag">credential ${escapeHtml(env.credential)}</span>`,
    env.automation ? '<span class="tag">automation</span>' : '',
    ...(env.targets ?? []).map((t) => `<span class="tag subtle">target ${escapeHtml(t)}</span>`),
  ].join('');
  return `<section class="card st-${state}">
  <header class="card-head">
    <div><h2>${escapeHtml(env.name)}${env.name === report.default ? ' <span class="default">default</span>' : ''}</h2><div class="tags">${tags}</div></div>
    ${badge(state, 'lg')}
  </header>
  <div class="principal">${principalLine(env)}</div>
  ${recentDenial(env.name, events, report.now)}
  ${env.scopes.map((s) => scopeRow(s, report.now)).join('\n')}
</section>`;
}

const OUTCOME_CLASS: Record<string, string> = { ok: 'o-ok', denied: 'o-bad', error: 'o-bad', warning: 'o-warn' };

function eventsTable(events: readonly AuditRow[], now: number): string {
  if (events.length === 0) return '<p class="muted empty-events">No audit events yet. Ask for a token: <code>aadbt token dev</code></p>';
  const rows = events.map((e) => `<tr>
    <td class="num"><time>${escapeHtml(clockTime(e.ts, now))}</time></td>
    <td>${escapeHtml(e.env ?? '')}</td>
    <td class="muted" title="${escapeHtml(e.scope ?? '')}">${escapeHtml(e.scope ? scopeLabel(e.scope) : '')}</td>
    <td><span class="action a-${escapeHtml(e.action)}">${escapeHtml(e.action)}</span></td>
    <td class="${OUTCOME_CLASS[e.outcome] ?? ''}">${escapeHtml(e.outcome)}</td>
    <td><code>${escapeHtml(e.principal_app ?? '')}</code></td>
    <td><code>${escapeHtml(shortFingerprint(e.fingerprint))}</code></td>
  </tr>`).join('\n');
  return `<table>
  <thead><tr><th>time</th><th>env</th><th>resource</th><th>action</th><th>outcome</th><th>principal app</th><th>fingerprint</th></tr></thead>
  <tbody>
${rows}
  </tbody>
</table>`;
}

const WIDTHS = Array.from({ length: 51 }, (_, i) => `.bar .w${i * 2}{width:${i * 2}%}`).join('');

const CSS = `
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2430;--muted:#687386;--line:#e3e6ec;--ok:#1f883d;--okbg:#dafbe1;--warn:#9a6700;--warnbg:#fff4cc;
--bad:#cf222e;--badbg:#ffebe9;--info:#0969da;--infobg:#ddf4ff;--idle:#57606a;--idlebg:#eaeef2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
.top{background:#161b22;color:#e6edf3;padding:14px 28px;display:flex;align-items:center;justify-content:space-between;gap:16px;flex-wrap:wrap}
.brand{display:flex;align-items:baseline;gap:12px}
.brand h1{margin:0;font-size:20px;letter-spacing:.3px}
.brand .sub{color:#9da7b3;font-size:13px}
.top .right{color:#9da7b3;font-size:13px;text-align:right}
.top .right strong{color:#e6edf3}
main{padding:22px 28px 32px;max-width:1400px;margin:0 auto}
.summary{display:flex;gap:10px;flex-wrap:wrap;margin:0 0 18px}
.pill{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:4px 12px;font-size:13px;color:var(--muted)}
.pill strong{color:var(--ink)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px;align-items:start}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px rgba(31,35,40,.06);border-top:4px solid var(--idle)}
.card.st-fresh{border-top-color:var(--ok)}.card.st-refreshing{border-top-color:var(--info)}.card.st-degraded{border-top-color:#d4a72c}
.card.st-expired{border-top-color:#8c959f}.card.st-failed{border-top-color:var(--bad)}.card.st-cold{border-top-color:#d0d7de}
.card-head{display:flex;justify-content:space-between;align-items:flex-start;gap:12px}
.card h2{margin:0 0 4px;font-size:18px}
.default{font-size:11px;font-weight:600;color:var(--info);background:var(--infobg);border-radius:4px;padding:1px 6px;vertical-align:middle}
.tags{display:flex;gap:6px;flex-wrap:wrap}
.tag{font-size:12px;color:var(--idle);background:var(--idlebg);border-radius:4px;padding:1px 7px}
.tag.subtle{background:transparent;border:1px solid var(--line)}
.badge{display:inline-block;border-radius:999px;font-weight:600;text-transform:uppercase;letter-spacing:.5px;white-space:nowrap}
.badge.lg{font-size:12px;padding:4px 12px}.badge.sm{font-size:10.5px;padding:1px 8px}
.s-fresh{color:var(--ok);background:var(--okbg)}.s-refreshing{color:var(--info);background:var(--infobg)}
.s-degraded{color:var(--warn);background:var(--warnbg)}.s-expired{color:var(--idle);background:var(--idlebg)}
.s-failed{color:#fff;background:var(--bad)}.s-cold{color:var(--muted);background:var(--idlebg)}
.principal{margin:12px 0 4px;padding:8px 10px;background:#f6f8fa;border-radius:6px;font-size:13px;overflow-wrap:anywhere}
.k{color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.4px}
.sep{color:#c1c8d0}
.scope{border-top:1px solid var(--line);margin-top:12px;padding-top:12px}
.scope-head{display:flex;justify-content:space-between;align-items:flex-start;gap:8px;margin-bottom:8px}
.scope-id{min-width:0;display:flex;flex-direction:column}
.scope-name{font-weight:600;font-size:13.5px}
.scope-raw{font-size:11px;color:var(--muted);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{height:8px;background:#eaeef2;border-radius:99px;overflow:hidden}
.bar span{display:block;height:100%;border-radius:99px}
.bar.good span{background:linear-gradient(90deg,#2da44e,#4ac26b)}.bar.warn span{background:linear-gradient(90deg,#bf8700,#d4a72c)}
.bar.low span,.bar.gone span{background:linear-gradient(90deg,#cf222e,#fa4549)}
${WIDTHS}
.left{margin-top:5px;font-size:13px}
.facts{margin-top:3px;font-size:12.5px;color:var(--muted)}
.facts>span{white-space:nowrap}
.muted{color:var(--muted)}
.error{margin-top:9px;background:var(--badbg);border:1px solid #ffcecb;border-radius:6px;padding:8px 10px}
.denied{margin-top:9px;background:var(--warnbg);border:1px solid #f5e0a0;border-radius:6px;padding:8px 10px}
.denied strong{color:var(--warn);font-size:12px}
.error-head{display:flex;justify-content:space-between;gap:8px;font-size:12px}
.error-head code{color:var(--bad);font-weight:600}
.error-msg{margin-top:3px;font-size:13px;overflow-wrap:anywhere}
h3{font-size:15px;margin:28px 0 10px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
table{width:100%;border-collapse:collapse;font-size:13px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.4px;background:#f6f8fa;padding:8px 14px;border-bottom:1px solid var(--line)}
td{padding:6px 14px;border-bottom:1px solid #eef0f3}
tr:last-child td{border-bottom:0}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.action{font-size:12px;border-radius:4px;padding:1px 7px;background:var(--idlebg);color:var(--idle)}
.a-serve{background:var(--okbg);color:var(--ok)}.a-issue,.a-refresh{background:var(--infobg);color:var(--info)}
.a-deny,.a-error{background:var(--badbg);color:var(--bad)}
.o-ok{color:var(--ok)}.o-bad{color:var(--bad);font-weight:600}.o-warn{color:var(--warn)}
.empty-events{padding:14px}
footer{margin-top:22px;color:var(--muted);font-size:12px}
footer a{color:var(--info)}
`;

/** Renders the whole page. Every value from the agent is escaped; no token or full fingerprint is part of the input. */
export function renderStatusPage({ report, events, nonce, refreshSeconds = 5 }: StatusPageInput): string {
  const now = report.now;
  const counts = new Map<ScopeState, number>();
  for (const env of report.environments) {
    const state = environmentState(env.scopes);
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const order: ScopeState[] = ['failed', 'degraded', 'refreshing', 'fresh', 'expired', 'cold'];
  const summary = [
    `<span class="pill"><strong>${report.environments.length}</strong> environment${report.environments.length === 1 ? '' : 's'}</span>`,
    ...order.filter((s) => counts.get(s)).map((s) => `<span class="pill"><strong>${counts.get(s)}</strong> ${escapeHtml(s)}</span>`),
  ].join('');
  const a = report.agent;
  const agentFacts = [
    a.version ? `v${escapeHtml(a.version)}` : '',
    a.pid !== undefined ? `pid ${escapeHtml(a.pid)}` : '',
    a.startedAt !== undefined ? `up ${escapeHtml(formatDuration(now - a.startedAt))}` : '',
    a.config ? `config ${escapeHtml(a.config)}` : '',
    a.devIdentityProvider ? 'dev identity provider' : '',
  ].filter(Boolean).join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${Math.max(1, Math.floor(refreshSeconds))}">
<meta name="referrer" content="no-referrer">
<title>aadbt agent status</title>
<style nonce="${escapeHtml(nonce)}">${CSS}</style>
</head>
<body>
<div class="top">
  <div class="brand"><h1>aadbt agent</h1><span class="sub">${agentFacts}</span></div>
  <div class="right">updated <strong>${escapeHtml(clockTime(now, now))}</strong> · refreshes every ${Math.floor(refreshSeconds)} s</div>
</div>
<main>
  <div class="summary">${summary}</div>
  <div class="grid">
${report.environments.map((e) => environmentCard(e, report, events)).join('\n')}
  </div>
  <h3>Recent audit events</h3>
  <div class="panel">
${eventsTable(events, now)}
  </div>
  <footer>Served on loopback only. Machine-readable: <a href="/v1/status">/v1/status</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a>. Tokens never appear here; fingerprints are cut to 8 hex.</footer>
</main>
</body>
</html>
`;
}
