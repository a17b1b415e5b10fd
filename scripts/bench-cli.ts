// CLI latency and memory: `aadbt token`/`aadbt env`/the az shim against `node -e 0`, interleaved, with a warm agent.

import { BIN, peakRssKiB, runIfMain, startDemoAgent, summary, timeCommand, type BenchResult } from './bench-lib.js';

export async function benchCli(runs = 25): Promise<BenchResult[]> {
  const agent = await startDemoAgent();
  try {
    const env = { ...agent.env, AADBT_ENV: 'dev' };
    const cases: [string, string, string[]][] = [
      ['node -e 0', process.execPath, ['-e', '0']],
      ['aadbt token dev', process.execPath, [BIN, 'token', 'dev']],
      ['aadbt env dev', process.execPath, [BIN, 'env', 'dev', '--shell', 'bash']],
      ['az shim get-access-token', process.execPath, [BIN, 'az', 'account', 'get-access-token', '--resource', 'https://database.windows.net', '--output', 'json']],
    ];
    for (const [, cmd, args] of cases) for (let i = 0; i < 3; i++) timeCommand(cmd, args, env); // warm-up
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let i = 0; i < runs; i++) for (const [name, cmd, args] of cases) times.get(name)!.push(timeCommand(cmd, args, env));
    const rss = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let i = 0; i < 5; i++) for (const [name, cmd, args] of cases) rss.get(name)!.push(peakRssKiB(cmd, args, env) / 1024);
    const floor = summary(times.get('node -e 0')!);
    const floorRss = summary(rss.get('node -e 0')!);
    const results: BenchResult[] = [];
    for (const [name] of cases.slice(1)) {
      const t = summary(times.get(name)!);
      const ratio = t.median / floor.median;
      results.push({ figure: `${name} wall time`, unit: 'ms', ...t, baseline: { name: 'node -e 0', median: floor.median }, ratio,
        ...(name === 'aadbt token dev' ? { target: '≤ 1.5× node -e 0', pass: ratio <= 1.5 } : {}) });
    }
    for (const [name] of cases.slice(1, 2)) {
      const m = summary(rss.get(name)!);
      const ratio = m.median / floorRss.median;
      results.push({ figure: `${name} peak RSS`, unit: 'MiB', ...m, baseline: { name: 'node -e 0', median: floorRss.median }, ratio, target: '≤ 1.3× node -e 0', pass: ratio <= 1.3 });
    }
    return results;
  } finally {
    await agent.stop();
  }
}

runIfMain(import.meta.url, () => benchCli(Number(process.argv[2] ?? 25)), 'CLI latency (bench-cli)');
