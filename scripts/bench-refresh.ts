// Refresh transparency: client latency across token refreshes (10-second tokens, 300 ms provider latency) vs. a steady agent.

import { Agent } from 'node:http';
import { environmentYaml, startProvider, tempDir, type Provider } from '../test/support/harness.js';
import { quantile, runIfMain, startDemoAgent, summary, type BenchResult, type DemoAgent } from './bench-lib.js';
import { TOKEN_PATH, timedPost } from './bench-agent.js';

const BODY = JSON.stringify({ caller: { pid: 4242, program: 'bench-refresh', cwd: '/tmp' } });

/** One POST for a token over a keep-alive connection; resolves with its latency in ms. */
const post = async (socketPath: string, agent: Agent): Promise<number> => (await timedPost(socketPath, TOKEN_PATH, BODY, agent)).ms;

async function agentFor(provider: Provider): Promise<DemoAgent> {
  return startDemoAgent({ config: `default: dev\nenvironments:\n${environmentYaml(provider, 'dev', 'bench-refresh-app')}\n` });
}

interface Sample { at: number; ms: number }

export async function benchRefresh(boundaries = 10, lifetimeSeconds = 10, latencyMs = 300): Promise<BenchResult[]> {
  const dir = tempDir('aadbt-bench-refresh-');
  const dir2 = tempDir('aadbt-bench-refresh-');
  // Two agents side by side, each with its own provider: one whose tokens refresh every few seconds, one whose
  // tokens outlive the run. Both providers answer 300 ms late; requests alternate between the two agents.
  const short = await startProvider(dir, { tokenLifetimeSeconds: lifetimeSeconds });
  const long = await startProvider(dir2, { tokenLifetimeSeconds: 86_400 });
  const agents: DemoAgent[] = [];
  try {
    for (const p of [short, long]) p.idp.injectFault({ kind: 'latency', ms: latencyMs });
    const refreshing = await agentFor(short);
    agents.push(refreshing);
    const steady = await agentFor(long);
    agents.push(steady);
    const pools = [new Agent({ keepAlive: true, maxSockets: 8 }), new Agent({ keepAlive: true, maxSockets: 8 })];
    // Warm-up: the first token of each (this one waits on the provider by design), then the JIT.
    for (let i = 0; i < 200; i++) { await post(refreshing.socketPath, pools[0]); await post(steady.socketPath, pools[1]); }

    const samples: [Sample[], Sample[]] = [[], []];
    const refreshes: number[] = [];
    const first = short.idp.tokenRequests();
    const t0 = performance.now();
    let done = false;
    let end = Infinity;
    const watcher = setInterval(() => {
      const now = performance.now();
      while (short.idp.tokenRequests() - first > refreshes.length) refreshes.push(now);
      if (refreshes.length >= boundaries && end === Infinity) end = refreshes[boundaries - 1] + (lifetimeSeconds * 1000) / 2;
      if (now >= end || now - t0 > 30_000 + boundaries * lifetimeSeconds * 1000) done = true;
    }, 10);
    const worker = async (w: number) => {
      for (let i = 0; !done; i++) {
        // Alternate which agent goes first, so neither always meets the other's leftovers.
        const order = (i + w) % 2 === 0 ? [0, 1] : [1, 0];
        for (const k of order) samples[k].push({ at: performance.now(), ms: await post(k === 0 ? refreshing.socketPath : steady.socketPath, pools[k]) });
        await new Promise((r) => setTimeout(r, 5)); // a paced load: latency, not saturation, is measured
      }
    };
    await Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
    clearInterval(watcher);
    pools.forEach((p) => p.destroy());
    if (refreshes.length < boundaries) throw new Error(`bench-refresh: only ${refreshes.length} refreshes happened (expected ${boundaries})`);

    // One window per refresh boundary: from each refresh until the next (the last one lasts half a lifetime).
    const windows = refreshes.slice(0, boundaries).map((from, i) => [from, refreshes[i + 1] ?? end] as const);
    const p99In = (s: Sample[], [from, to]: readonly [number, number]) => quantile(s.filter((x) => x.at >= from && x.at < to).map((x) => x.ms), 0.99);
    const a = windows.map((w) => p99In(samples[0], w));
    const b = windows.map((w) => p99In(samples[1], w));
    const sa = summary(a), sb = summary(b);
    const measured = samples.map((s) => s.filter((x) => x.at >= windows[0][0] && x.at < end).map((x) => x.ms));
    const [overallA, overallB] = measured.map((ms) => quantile(ms, 0.99));
    const counted = measured[0].length;
    return [{
      figure: `client p99 latency across ${boundaries} refresh boundaries (${lifetimeSeconds}-s tokens, provider +${latencyMs} ms), per boundary`,
      unit: 'ms', median: sa.median, min: sa.min, max: sa.max,
      baseline: { name: 'steady agent, same windows', median: sb.median }, ratio: sa.median / sb.median,
      target: '≤ 1.2× steady', pass: sa.median / sb.median <= 1.2,
      note: `p99 over the whole window ${overallA.toFixed(2)} ms vs ${overallB.toFixed(2)} ms steady (${(overallA / overallB).toFixed(2)}×); ${counted} requests to each agent`,
    }];
  } finally {
    for (const a of agents) await a.stop();
    await short.idp.close();
    await long.idp.close();
    dir.remove();
    dir2.remove();
  }
}

runIfMain(import.meta.url, () => benchRefresh(), 'Refresh transparency (bench-refresh)');
