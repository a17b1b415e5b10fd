// Agent throughput and latency over the Unix socket at several concurrencies, beside a bare node:http server (the ceiling).

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeSocket } from '../src/agent/socket-listener.js';
import { runIfMain, startDemoAgent, summary, versus, type BenchResult } from './bench-lib.js';

export const TOKEN_PATH = '/v1/environments/dev/token';
const BODY = JSON.stringify({ scope: 'https://database.windows.net/.default', caller: { pid: 4242, program: 'bench', cwd: '/tmp' } });

export interface LoadResult { rps: number; latencies: number[]; bytes: number }

/** One POST of `body` over `agent`'s keep-alive connections; resolves with its latency (ms) and the answer's size. */
export function timedPost(socketPath: string, path: string, body: string, agent: Agent): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request({ socketPath, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => { bytes += d.length; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`bench: ${path} answered HTTP ${res.statusCode}`));
        resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, bytes });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends `total` POSTs over keep-alive connections with `concurrency` in flight (a closed loop, like
 * autocannon's -c); returns per-request latencies (ms), requests/second and the last body's size.
 */
export async function load(socketPath: string, path: string, concurrency: number, total: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let bytes = 0;
  let sent = 0;
  const one = async () => {
    const answer = await timedPost(socketPath, path, BODY, agent);
    latencies.push(answer.ms);
    bytes = answer.bytes;
  };
  const worker = async () => { while (sent < total) { sent++; await one(); } };
  const start = process.hrtime.bigint();
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rps: total / seconds, latencies, bytes };
}

export interface BareServer { socketPath: string; pid: number; stop(): void }

/** A bare node:http server on a Unix socket answering every request with a `bytes`-long JSON body: the ceiling for this transport. */
export async function startBareServer(bytes: number): Promise<BareServer> {
  const dir = mkdtempSync(join(tmpdir(), 'aadbt-bare-'));
  const socketPath = join(dir, 'bare.sock');
  // The body has the agent's answer's size but no token in it (nothing secret in a process argument).
  const code = `const n = Number(process.argv[2]); const head = '{"token":"'; const body = head + 'x'.repeat(Math.max(0, n - head.length - 2)) + '"}';
require('http').createServer((req, res) => { req.resume(); req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(body); }); }).listen(process.argv[1]);`;
  const child = spawn(process.execPath, ['-e', code, socketPath, String(bytes)], { stdio: 'ignore' });
  for (let i = 0; i < 400 && !(await probeSocket(socketPath, 200)); i++) await new Promise((r) => setTimeout(r, 25)); // readiness poll
  return { socketPath, pid: child.pid!, stop: () => { child.kill(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function benchAgent(total = Number(process.env.AADBT_BENCH_AGENT_REQUESTS ?? 20_000)): Promise<BenchResult[]> {
  const agent = await startDemoAgent();
  let bare: BareServer | undefined;
  const results: BenchResult[] = [];
  try {
    const warm = await load(agent.socketPath, TOKEN_PATH, 8, 2000); // the token gets cached, the JIT warms
    bare = await startBareServer(warm.bytes);
    await load(bare.socketPath, TOKEN_PATH, 8, 2000);
    for (const concurrency of [1, 64, 512]) {
      const n = concurrency === 1 ? Math.min(total, 3000) : total;
      const rpsA: number[] = [], rpsB: number[] = [], p99A: number[] = [], p99B: number[] = [], p50A: number[] = [], p50B: number[] = [];
      for (let round = 0; round < 3; round++) { // interleaved rounds, so drift and neighbours' load hit both alike
        const a = await load(agent.socketPath, TOKEN_PATH, concurrency, n);
        const b = await load(bare.socketPath, TOKEN_PATH, concurrency, n);
        rpsA.push(a.rps); rpsB.push(b.rps);
        const sa = summary(a.latencies), sb = summary(b.latencies);
        p99A.push(sa.p99); p99B.push(sb.p99); p50A.push(sa.median); p50B.push(sb.median);
      }
      const gated = concurrency === 64;
      results.push(versus(`agent throughput, POST ${TOKEN_PATH}, concurrency ${concurrency}`, 'req/s', rpsA, 'bare node:http', rpsB,
        gated ? { text: '≥ 0.6× bare', ok: (r) => r >= 0.6 } : undefined, `3 rounds of ${n} requests; audit group commit on (synchronous=FULL)`));
      results.push(versus(`agent p99 latency, concurrency ${concurrency}`, 'ms', p99A, 'bare node:http', p99B,
        gated ? { text: '≤ 2× bare', ok: (r) => r <= 2 } : undefined, `p50 ${summary(p50A).median.toFixed(2)} ms vs bare ${summary(p50B).median.toFixed(2)} ms`));
    }
    return results;
  } finally {
    bare?.stop();
    await agent.stop();
  }
}

runIfMain(import.meta.url, () => benchAgent(process.argv[2] ? Number(process.argv[2]) : undefined), 'Agent throughput (bench-agent)');
