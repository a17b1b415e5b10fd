// `npm run bench`: runs every benchmark part in turn and writes docs/benchmarks.md and docs/benchmarks.json.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { printResults, type BenchResult } from './bench-lib.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MD = `${ROOT}docs/benchmarks.md`;
const JSON_OUT = `${ROOT}docs/benchmarks.json`;
const ANALYSIS = /<!-- analysis -->[\s\S]*<!-- \/analysis -->/;

interface Part {
  name: string;
  title: string;
  run(): Promise<BenchResult[]>;
  /** Why the part did not run, when it cannot. */
  skip?(): string | undefined;
}

interface PartReport { name: string; title: string; seconds: number; results: BenchResult[]; error?: string; skipped?: string }

const PARTS: Part[] = [
  { name: 'cli', title: 'CLI latency and memory (bench-cli)', run: async () => (await import('./bench-cli.js')).benchCli() },
  { name: 'agent', title: 'Agent throughput over the socket (bench-agent)', run: async () => (await import('./bench-agent.js')).benchAgent() },
  { name: 'upstream', title: 'Upstream economy (bench-upstream)', run: async () => (await import('./bench-upstream.js')).benchUpstream() },
  { name: 'refresh', title: 'Refresh transparency (bench-refresh)', run: async () => (await import('./bench-refresh.js')).benchRefresh() },
  { name: 'memory', title: 'Agent memory (bench-memory)', run: async () => (await import('./bench-memory.js')).benchMemory() },
  {
    name: 'audit', title: 'Audit log (bench-audit)',
    skip: () => (existsSync(fileURLToPath(new URL('./bench-audit.js', import.meta.url))) ? undefined : 'scripts/bench-audit.ts has not landed'),
    run: async () => {
      const part = await import(String(new URL('./bench-audit.js', import.meta.url))) as { benchAudit?: () => Promise<BenchResult[]>; main?: () => Promise<BenchResult[]> };
      const run = part.benchAudit ?? part.main;
      if (!run) throw new Error('scripts/bench-audit.ts exports neither benchAudit nor main');
      return run();
    },
  },
];

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const num = (n: number): string => {
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en');
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
};

function table(results: BenchResult[]): string[] {
  const lines = ['| figure | median | min–max | baseline | ratio | target | pass/fail |', '|---|---:|---:|---|---:|---|---|'];
  for (const r of results) {
    const baseline = r.baseline ? `${r.baseline.name}: ${num(r.baseline.median)} ${r.unit}` : '—';
    const verdict = r.pass === undefined ? '—' : r.pass ? 'pass' : '**FAIL**';
    lines.push(`| ${r.figure} | ${num(r.median)} ${r.unit} | ${num(r.min)}–${num(r.max)} | ${baseline} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target ?? '—'} | ${verdict} |`);
  }
  const notes = results.filter((r) => r.note).map((r) => `- *${r.figure}*: ${r.note}`);
  return notes.length ? [...lines, '', ...notes] : lines;
}

function markdown(reports: PartReport[], meta: Record<string, string | number>, previous: string | undefined): string {
  const gated = reports.flatMap((p) => p.results).filter((r) => r.pass !== undefined);
  const failed = gated.filter((r) => !r.pass);
  const out = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (scripts/bench.ts); only the analysis block below is kept between runs. -->',
    '',
    `Run ${meta.date} on ${meta.cpu} (${meta.cores} cores, ${meta.memory}), Node ${meta.node}, commit ${meta.commit}${meta.dirty ? ' with uncommitted changes' : ''}; load average ${meta.load} at the start; ${meta.minutes} minutes in all.`,
    '',
    'Every figure is measured beside its baseline in the same run, interleaved (round by round), so a busy',
    'machine slows both alike; the ratio is median ÷ baseline median. Timings on a shared 2-core machine are',
    'noisy: read the ratios and the spread, not the absolute milliseconds.',
    '',
    `**${gated.length - failed.length} of ${gated.length} targets met.**${failed.length ? ` Missed: ${failed.map((r) => r.figure).join('; ')}.` : ''}`,
    '',
  ];
  for (const p of reports) {
    out.push(`## ${p.title}`, '');
    if (p.skipped) out.push(`Skipped: ${p.skipped}.`, '');
    else if (p.error) out.push(`Failed after ${p.seconds.toFixed(0)} s: \`${p.error.split('\n')[0]}\``, '');
    if (p.results.length) out.push(...table(p.results), '', `(${p.seconds.toFixed(0)} s)`, '');
  }
  out.push('## Method', '',
    '- Agents run as `aadbt agent --dev --foreground --status-port 0` with a private socket, data dir and config dir, so a run never meets a user\'s agent; the audit log is durable (WAL, `synchronous=FULL`, group commit).',
    '- CLI timings run without `NODE_OPTIONS` and `NODE_EXTRA_CA_CERTS` (a CA bundle costs every node start ~40 ms here and would hide the CLI\'s own cost in the baseline); the row "with NODE_EXTRA_CA_CERTS" shows the machine as found.',
    '- The load generator is a node:http client with a keep-alive Agent on the socket at fixed concurrency (closed loop); the ceiling is a bare node:http server on a Unix socket answering a JSON body of the agent\'s answer\'s size.',
    '- Refresh: two agents side by side, each with its own dev identity provider answering 300 ms late; one issues 10-second tokens (refreshed ahead every ~5 s), the other day-long ones. A paced load alternates between them; p99 is taken per refresh window.',
    '- Memory: VmRSS from /proc/<pid>/status, read while the agent is idle (after a settling pause).',
    '- Each part runs alone too: `node dist/scripts/bench-<part>.js` after `npm run build`.',
    '');
  const analysis = previous?.match(ANALYSIS)?.[0];
  out.push('## Analysis', '', analysis ?? '<!-- analysis -->\n(none yet)\n<!-- /analysis -->', '');
  return out.join('\n');
}

export async function runAll(only?: string[]): Promise<PartReport[]> {
  const started = Date.now();
  const meta: Record<string, string | number> = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`, load: loadavg().map((l) => l.toFixed(2)).join(' '),
    commit: git(['rev-parse', '--short', 'HEAD']), dirty: git(['status', '--porcelain', '--untracked-files=no']) ? 1 : 0,
  };
  const reports: PartReport[] = [];
  for (const part of PARTS.filter((p) => !only?.length || only.includes(p.name))) {
    const t = Date.now();
    const skipped = part.skip?.();
    if (skipped) {
      console.log(`\n${part.title}: skipped (${skipped})`);
      reports.push({ name: part.name, title: part.title, seconds: 0, results: [], skipped });
      continue;
    }
    console.log(`\n${part.title}: running…`);
    try {
      const results = await part.run();
      reports.push({ name: part.name, title: part.title, seconds: (Date.now() - t) / 1000, results });
      printResults(part.title, results);
    } catch (err) {
      // One broken part must not cost the others' figures; the run still fails at the end.
      console.error(`${part.title} failed:`, err);
      reports.push({ name: part.name, title: part.title, seconds: (Date.now() - t) / 1000, results: [], error: err instanceof Error ? err.message : String(err) });
    }
  }
  meta.minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (only?.length) {
    console.log(`\n${meta.minutes} min; docs/benchmarks.* are written only by a run of every part`);
    return reports;
  }
  const previous = existsSync(MD) ? readFileSync(MD, 'utf8') : undefined;
  mkdirSync(`${ROOT}docs`, { recursive: true });
  writeFileSync(MD, markdown(reports, meta, previous));
  writeFileSync(JSON_OUT, JSON.stringify({ ...meta, dirty: Boolean(meta.dirty), parts: reports }, null, 2) + '\n');
  console.log(`\nwrote ${MD} and ${JSON_OUT} (${meta.minutes} min)`);
  return reports;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // `node dist/scripts/bench.js [part…]` runs only the named parts (cli, agent, upstream, refresh, memory, audit).
  runAll(process.argv.slice(2)).then((reports) => {
    if (reports.some((r) => r.error)) process.exitCode = 1;
  }, (err) => { console.error(err); process.exitCode = 1; });
}
