// Agent memory: RSS idle with the 3 demo environments, and growth after 1M served tokens (a leak shows as growth).

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, startBareServer, TOKEN_PATH } from './bench-agent.js';
import { rssKiB, runIfMain, startDemoAgent, summary, versus, type BenchResult } from './bench-lib.js';

const MiB = 1024;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS samples (MiB) of an idle process: five readings 200 ms apart after a settling pause, so a pending GC does not decide the figure. */
async function idleRss(pid: number, settleMs = 1500): Promise<number[]> {
  await pause(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) { samples.push(rssKiB(pid) / MiB); await pause(200); }
  return samples;
}

/**
 * RSS (MiB) right after a full garbage collection: a heap snapshot (SIGUSR2, --heapsnapshot-signal) collects
 * first, so what stays is live memory. The snapshot file is waited for, then deleted.
 */
async function rssAfterFullGc(pid: number, dir: string): Promise<number> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let last = -1;
  for (let i = 0; i < 300; i++) { // readiness poll: the snapshot is done when its file stops growing
    await pause(200);
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) { rmSync(join(dir, file)); break; }
    last = size;
  }
  return rssKiB(pid) / MiB;
}

export async function benchMemory(requests = Number(process.env.AADBT_BENCH_MEMORY_REQUESTS ?? 1_000_000)): Promise<BenchResult[]> {
  const snapshots = mkdtempSync(join(tmpdir(), 'aadbt-bench-heap-'));
  const agent = await startDemoAgent({ nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`] });
  const bare = await startBareServer(1500);
  try {
    const pid = agent.child.pid!;
    const idle = await idleRss(pid);
    const bareIdle = await idleRss(bare.pid, 0);
    // Warm-up: every demo environment's tokens fetched (prod is refused by design), caches and the JIT warm.
    for (const env of ['dev', 'ci']) await load(agent.socketPath, `/v1/environments/${env}/token`, 4, 100);
    await load(agent.socketPath, TOKEN_PATH, 64, 20_000);
    const warmBeforeSnapshot = rssKiB(pid) / MiB;
    const warmGc = await rssAfterFullGc(pid, snapshots);
    // The snapshot itself leaves RSS behind (its buffers, a full heap walk), so the baseline for growth is
    // read after it and after another warm-up: both readings then carry the same cost.
    await load(agent.socketPath, TOKEN_PATH, 64, 20_000);
    const warm = await idleRss(pid);
    const series: number[] = [];
    const chunk = 100_000;
    for (let done = 0; done < requests; done += chunk) {
      await load(agent.socketPath, TOKEN_PATH, 64, Math.min(chunk, requests - done));
      series.push(rssKiB(pid) / MiB);
    }
    const after = await idleRss(pid);
    const afterGc = await rssAfterFullGc(pid, snapshots);
    const growth = after.map((a, i) => a - warm[i]);
    const g = summary(growth);
    return [
      versus('agent RSS idle, 3 demo environments', 'MiB', idle, 'bare node:http server', bareIdle,
        { text: '≤ 90 MiB', ok: () => summary(idle).median <= 90 }, 'the embedded dev identity provider runs in the agent in --dev'),
      {
        ...versus(`agent RSS after ${requests.toLocaleString('en')} served tokens (idle again)`, 'MiB', after, 'after a 20k-request warm-up', warm),
        target: 'growth ≤ 10 MiB', pass: g.median <= 10,
        note: `growth ${g.median.toFixed(1)} MiB (${g.min.toFixed(1)}–${g.max.toFixed(1)}); RSS under load every 100k: ${series.map((x) => x.toFixed(0)).join(', ')} MiB; both readings include what the warm-up's heap snapshot left (${(warm[0] - warmBeforeSnapshot).toFixed(0)} MiB)`,
      },
      {
        figure: `agent RSS after ${requests.toLocaleString('en')} served tokens, right after a full GC (leak check)`, unit: 'MiB',
        median: afterGc, min: afterGc, max: afterGc, baseline: { name: 'same after the warm-up', median: warmGc }, ratio: afterGc / warmGc,
        note: `growth ${(afterGc - warmGc).toFixed(1)} MiB once garbage is collected (one reading each; not gated)`,
      },
    ];
  } finally {
    bare.stop();
    await agent.stop();
    rmSync(snapshots, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, () => benchMemory(process.argv[2] ? Number(process.argv[2]) : undefined), 'Agent memory (bench-memory)');
