// CLI latency and memory: `aadbt token`/`aadbt env`/the az shim against `node -e 0`, interleaved, with a warm agent.

import { BIN, peakRssKiB, runIfMain, startDemoAgent, startupEnv, timeCommand, versus, type BenchResult } from './bench-lib.js';

/**
 * The least any Node client can do for a token: one CommonJS file, one node:http request on the socket, print.
 * (servername '' keeps http's Agent from compiling net.isIP's IPv6 pattern, as agent-client.ts avoids too.)
 */
const BARE_CLIENT = `const b=JSON.stringify({caller:{pid:process.pid,program:'bare',cwd:process.cwd()}});
const r=require('http').request({servername:'',socketPath:process.env.AADBT_SOCKET,path:'/v1/environments/dev/token',method:'POST',
headers:{'content-type':'application/json','content-length':Buffer.byteLength(b)}},(x)=>{let t='';x.on('data',(d)=>{t+=d});
x.on('end',()=>{if(x.statusCode!==200)process.exit(2);process.stdout.write(JSON.parse(t).token+'\\n')})});r.end(b);`;

type Case = [name: string, args: string[]];

/** Runs every case once per round, round after round, so drift and neighbours' load hit all cases alike. */
function interleaved(cases: Case[], runs: number, measure: (args: string[]) => number): Map<string, number[]> {
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) for (const [name, args] of cases) samples.get(name)!.push(measure(args));
  return samples;
}

export async function benchCli(runs = Number(process.env.AADBT_BENCH_CLI_RUNS ?? 25)): Promise<BenchResult[]> {
  const agent = await startDemoAgent();
  try {
    const env = startupEnv({ ...agent.env, AADBT_ENV: 'dev', SHELL: '/bin/bash' });
    const cases: Case[] = [
      ['node -e 0', ['-e', '0']],
      ['aadbt token dev', [BIN, 'token', 'dev']],
      ['aadbt env dev', [BIN, 'env', 'dev', '--shell', 'bash']],
      ['az shim: aadbt az account get-access-token', [BIN, 'az', 'account', 'get-access-token', '--resource', 'https://database.windows.net', '--output', 'json']],
      ['bare node:http client (one CJS file)', ['-e', BARE_CLIENT]],
    ];
    const time = (args: string[]) => timeCommand(process.execPath, args, env);
    for (const [, args] of cases) for (let i = 0; i < 3; i++) time(args); // warm-up: page cache, the agent's JIT
    const times = interleaved(cases, runs, time);
    const rss = interleaved(cases.slice(0, 2), 7, (args) => peakRssKiB(process.execPath, args, env) / 1024);
    const floor = times.get('node -e 0')!;
    const results: BenchResult[] = cases.slice(1).map(([name]) => versus(`${name}, wall time (warm agent)`, 'ms', times.get(name)!, 'node -e 0', floor,
      name === 'aadbt token dev' ? { text: '≤ 1.5× node -e 0', ok: (r) => r <= 1.5 } : undefined,
      name.startsWith('bare') ? 'the floor for a Node client: not aadbt, shown for scale' : undefined));
    results.push(versus('aadbt token dev, peak RSS', 'MiB', rss.get('aadbt token dev')!, 'node -e 0', rss.get('node -e 0')!,
      { text: '≤ 1.3× node -e 0', ok: (r) => r <= 1.3 }));
    // Many machines (this one too) set a CA bundle for every node process: shown as found, not gated.
    const caBundle = agent.env.NODE_EXTRA_CA_CERTS;
    if (caBundle) {
      const withCa = { ...env, NODE_EXTRA_CA_CERTS: caBundle };
      const ca: Case[] = [['node -e 0', ['-e', '0']], ['aadbt token dev', [BIN, 'token', 'dev']]];
      const t = interleaved(ca, Math.ceil(runs / 2), (args) => timeCommand(process.execPath, args, withCa));
      results.push(versus('aadbt token dev, wall time with NODE_EXTRA_CA_CERTS set (as on this machine)', 'ms', t.get('aadbt token dev')!,
        'node -e 0, same env', t.get('node -e 0')!, undefined, 'every node start pays for loading the bundle; not gated'));
    }
    return results;
  } finally {
    await agent.stop();
  }
}

runIfMain(import.meta.url, () => benchCli(process.argv[2] ? Number(process.argv[2]) : undefined), 'CLI latency (bench-cli)');
