// Shared pieces of the benchmark scripts: a demo agent on a private socket, statistics, and result rows.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
  return { median: at(0.5), min: s[0], max: s[s.length - 1], p99: at(0.99) };
}

export interface DemoAgent { env: NodeJS.ProcessEnv; socketPath: string; child: ChildProcess; dir: string; stop(): Promise<void> }

/** Starts `aadbt agent --dev` (demo environments, embedded provider) on a private socket. */
export async function startDemoAgent(extraArgs: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<DemoAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'aadbt-bench-'));
  // No config file anywhere (XDG_CONFIG_HOME is empty), so --dev serves the demo environments.
  const env: NodeJS.ProcessEnv = {
    ...process.env, AADBT_SOCKET: join(dir, 'agent.sock'), AADBT_DATA_DIR: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'xdg'), AADBT_NO_AUTOSTART: '1', ...extraEnv,
  };
  delete env.AADBT_CONFIG;
  const child = spawn(process.execPath, [BIN, 'agent', '--dev', '--foreground', '--status-port', '0', ...extraArgs], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 400 && !(await probeSocket(env.AADBT_SOCKET!, 200)); i++) await new Promise((r) => setTimeout(r, 25));
  return {
    env, socketPath: env.AADBT_SOCKET!, child, dir,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wall time of one command in milliseconds. */
export function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr}`);
  return ms;
}

/** Peak RSS (KiB) of one command, read from the kernel's rusage of waited-for children. */
export function peakRssKiB(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const probe = 'import resource, subprocess, sys\nsubprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const run = spawnSync('python3', ['-c', probe, command, ...args], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`rss probe failed: ${run.stderr}`);
  return Number(run.stdout.trim());
}

export function printResults(title: string, results: BenchResult[]): void {
  console.log(`\n${title}`);
  for (const r of results) {
    const base = r.baseline ? `  baseline ${r.baseline.name} ${r.baseline.median.toFixed(2)}` : '';
    const ratio = r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(2)}` : '';
    const verdict = r.target ? `  target ${r.target}: ${r.pass ? 'pass' : 'MISS'}` : '';
    console.log(`  ${r.figure}: median ${r.median.toFixed(2)} ${r.unit} (${r.min.toFixed(2)}–${r.max.toFixed(2)})${base}${ratio}${verdict}${r.note ? `  (${r.note})` : ''}`);
  }
}

/** Runs main() when the script is the entry point. */
export function runIfMain(url: string, main: () => Promise<BenchResult[]>, title: string): void {
  if (process.argv[1] && fileURLToPath(url) === process.argv[1]) {
    main().then((r) => printResults(title, r), (err) => { console.error(err); process.exitCode = 1; });
  }
}
