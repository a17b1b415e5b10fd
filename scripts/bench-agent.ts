// Agent throughput and latency over the Unix socket at several concurrencies, beside a bare node:http server (the ceiling).

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeSocket } from '../src/agent/socket-listener.js';
import { runIfMain, startDemoAgent, summary, type BenchResult } from './bench-lib.js';

const BODY = JSON.stringify({ scope: 'https://database.windows.net/.default', caller: { pid: 1, program: 'bench', cwd: '/tmp' } });

/** Sends `total` POSTs with `concurrency` in flight; returns per-request latencies (ms) and requests/second. */
export async function load(socketPath: string, path: string, concurrency: number, total: number): Promise<{ rps: number; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let sent = 0;
  const one = () => new Promise<void>((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request({ socketPath, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        resolve();
      });
    });
    req.on('error', reject);
    req.end(BODY);
  });
  const worker = async () => { while (sent < total) { sent++; await one(); } };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  return { rps: total / seconds, latencies };
}

/** A bare node:http server answering every request with a token-sized JSON body: the ceiling for this transport. */
async function startBareServer(): Promise<{ socketPath: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'aadbt-bare-'));
  const socketPath = join(dir, 'bare.sock');
  const code = `const body = JSON.stringify({ token: 'x'.repeat(1400), expiresOn: 1, scope: 's', env: 'dev', principal: { oid: 'o', appid: 'a', idtyp: 'app', tid: 't' } });
require('http').createServer((req, res) => { req.resume(); req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(body); }); }).listen(process.argv[1]);`;
  const child = spawn(process.execPath, ['-e', code, socketPath], { stdio: 'ignore' });
  for (let i = 0; i < 400 && !(await probeSocket(socketPath, 200)); i++) await new Promise((r) => setTimeout(r, 25));
  return { socketPath, stop: () => { child.kill(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function benchAgent(total = 20_000): Promise<BenchResult[]> {
  const agent = await startDemoAgent();
  const bare = await startBareServer();
  const results: BenchResult[] = [];
  try {
    const path = '/v1/environments/dev/token';
    await load(agent.socketPath, path, 8, 2000); // warm-up: token cached, JIT warm
    await load(bare.socketPath, path, 8, 2000);
    for (const concurrency of [1, 64, 512]) {
      const n = concurrency === 1 ? Math.min(total, 5000) : total;
      const rpsA: number[] = [], rpsB: number[] = [], p99A: number[] = [], p99B: number[] = [], p50A: number[] = [];
      for (let round = 0; round < 3; round++) { // interleaved rounds, so drift hits both alike
        const a = await load(agent.socketPath, path, concurrency, n);
        const b = await load(bare.socketPath, path, concurrency, n);
        rpsA.push(a.rps); rpsB.push(b.rps);
        p99A.push(summary(a.latencies).p99); p99B.push(summary(b.latencies).p99); p50A.push(summary(a.latencies).median);
      }
      const ra = summary(rpsA), rb = summary(rpsB), la = summary(p99A), lb = summary(p99B);
      const gated = concurrency === 64;
      results.push({ figure: `throughput at concurrency ${concurrency}`, unit: 'req/s', ...ra, baseline: { name: 'bare node:http', median: rb.median }, ratio: ra.median / rb.median,
        ...(gated ? { target: '≥ 0.6× bare', pass: ra.median / rb.median >= 0.6 } : {}) });
      results.push({ figure: `p99 latency at concurrency ${concurrency}`, unit: 'ms', ...la, baseline: { name: 'bare node:http', median: lb.median }, ratio: la.median / lb.median,
        ...(gated ? { target: '≤ 2× bare', pass: la.median / lb.median <= 2 } : {}), note: `p50 ${summary(p50A).median.toFixed(2)} ms` });
    }
    return results;
  } finally {
    bare.stop();
    await agent.stop();
  }
}

runIfMain(import.meta.url, () => benchAgent(Number(process.argv[2] ?? 20_000)), 'Agent throughput (bench-agent)');
