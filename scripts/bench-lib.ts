// Shared pieces of the benchmark scripts: a demo agent on a private socket, statistics, and result rows.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS } from '../src/cli/agent-node-flags.js';
import { probeSocket } from '../src/agent/socket-listener.js';

export const BIN = fileURLToPath(new URL('../../bin/aadbt.js', import.meta.url));

/** One line of docs/benchmarks.md. Ratios compare against a baseline measured in the same run. */
export interface BenchResult {
  figure: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  baseline?: { name: string; median: number };
  ratio?: number;
  target?: string;
  pass?: boolean;
  note?: string;
}

export function summary(samples: number[]): { median: number; min: number; max: number; p99: number } {
  if (samples.length === 0) throw new Error('summary of no samples');
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantileOfSorted(s, 0.5), min: s[0], max: s[s.length - 1], p99: quantileOfSorted(s, 0.99) };
}

/** The p-quantile (0..1) of the samples. */
export function quantile(samples: number[], q: number): number {
  return quantileOfSorted([...samples].sort((a, b) => a - b), q);
}

function quantileOfSorted(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
}

/** A result row for a figure measured beside a baseline: ratio = median / baseline median. */
export function versus(figure: string, unit: string, samples: number[], baselineName: string, baselineSamples: number[],
  target?: { text: string; ok(ratio: number): boolean }, note?: string): BenchResult {
  const s = summary(samples);
  const b = summary(baselineSamples);
  const ratio = s.median / b.median;
  return {
    figure, unit, median: s.median, min: s.min, max: s.max, baseline: { name: baselineName, median: b.median }, ratio,
    ...(target ? { target: target.text, pass: target.ok(ratio) } : {}), ...(note ? { note } : {}),
  };
}

export interface DemoAgent {
  env: NodeJS.ProcessEnv;
  socketPath: string;
  child: ChildProcess;
  dir: string;
  /** The agent's stdout and stderr so far (kept in a file, so a long run does not flood the console). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `aadbt agent --dev` on a private socket and data dir, with the status page off, so a benchmark
 * never meets a user's agent: the demo environments, or `config` (YAML) when given. It runs with the V8
 * flags every agent gets (AGENT_NODE_FLAGS); `nodeArgs` go after them,
 * before the script (e.g. --cpu-prof).
 */
export async function startDemoAgent(options: { config?: string; nodeArgs?: string[]; extraArgs?: string[] } = {}): Promise<DemoAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'aadbt-bench-'));
  // Without `config`, no config file exists anywhere (XDG_CONFIG_HOME is empty), so --dev serves the demo environments.
  const env: NodeJS.ProcessEnv = {
    ...process.env, AADBT_SOCKET: join(dir, 'run', 'agent.sock'), AADBT_DATA_DIR: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'xdg'), AADBT_NO_AUTOSTART: '1', AADBT_LOG_LEVEL: 'warn',
  };
  delete env.AADBT_CONFIG;
  delete env.AADBT_ENV;
  if (options.config !== undefined) {
    env.AADBT_CONFIG = join(dir, 'config.yaml');
    writeFileSync(env.AADBT_CONFIG, options.config, { mode: 0o600 });
  }
  const logFile = join(dir, 'agent.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...(options.nodeArgs ?? []), BIN, 'agent', '--dev', '--foreground', '--status-port', '0', ...(options.extraArgs ?? [])],
    { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const log = () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let up = false;
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    if ((up = await probeSocket(env.AADBT_SOCKET!, 200))) break;
    await new Promise((r) => setTimeout(r, 25)); // readiness poll
  }
  if (!up) {
    child.kill('SIGKILL');
    const output = log();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`bench: the agent did not come up on its socket\n${output}`);
  }
  return {
    env, socketPath: env.AADBT_SOCKET!, child, dir, log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident set size (KiB) of a live process, from /proc/<pid>/status VmRSS. */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`bench: no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/**
 * The environment for timing Node start-up: without NODE_OPTIONS and NODE_EXTRA_CA_CERTS, which make
 * every node start slower (a CA bundle adds ~40 ms here) and would hide the CLI's own cost in the baseline.
 */
export function startupEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS, NODE_EXTRA_CA_CERTS, ...rest } = env;
  void NODE_OPTIONS; void NODE_EXTRA_CA_CERTS;
  return rest;
}

/** Wall time of one command in milliseconds. */
export function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return ms;
}

/** Peak RSS (KiB) of one command, read from the kernel's rusage of waited-for children. */
export function peakRssKiB(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const probe = 'import resource, subprocess, sys\nsubprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const run = spawnSync('python3', ['-c', probe, command, ...args], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`rss probe failed: ${run.stderr}`);
  return Number(run.stdout.trim());
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

export function printResults(title: string, results: BenchResult[]): void {
  console.log(`\n${title}`);
  for (const r of results) {
    const base = r.baseline ? `  baseline ${r.baseline.name} ${fmt(r.baseline.median)}` : '';
    const ratio = r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(2)}` : '';
    const verdict = r.target ? `  target ${r.target}: ${r.pass ? 'pass' : 'MISS'}` : '';
    console.log(`  ${r.figure}: median ${fmt(r.median)} ${r.unit} (${fmt(r.min)}–${fmt(r.max)})${base}${ratio}${verdict}${r.note ? `  (${r.note})` : ''}`);
  }
}

/** Runs main() when the script is the entry point. */
export function runIfMain(url: string, main: () => Promise<BenchResult[]>, title: string): void {
  if (process.argv[1] && fileURLToPath(url) === process.argv[1]) {
    main().then((r) => printResults(title, r), (err) => { console.error(err); process.exitCode = 1; });
  }
}
