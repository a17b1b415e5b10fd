// Upstream economy: how many identity-provider calls the broker makes for a cold burst and for sustained load (fake time).

import { createRig, SCOPE } from '../test/tokens/broker-rig.js';
import { runIfMain, type BenchResult } from './bench-lib.js';

const one = (figure: string, value: number, target: string, pass: boolean, note?: string): BenchResult =>
  ({ figure, unit: 'calls', median: value, min: value, max: value, target, pass, note });

export async function benchUpstream(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const cold = await createRig();
  try {
    await Promise.all(Array.from({ length: 1000 }, () => cold.broker.get({ env: 'dev', scope: SCOPE })));
    results.push(one('provider calls for 1,000 concurrent cold requests', cold.calls(), 'exactly 1', cold.calls() === 1, 'one scope; single-flight'));
  } finally {
    await cold.close();
  }
  // 10 minutes of fake time at 1,000 requests/second with 200-second tokens: three lifetimes. Refresh-ahead
  // is 40 s, the share of a 75-minute Entra token that the default 15 minutes is.
  const sustained = await createRig({ lifetimeSeconds: 200, ahead: '40s' });
  try {
    await sustained.broker.get({ env: 'dev', scope: SCOPE }); // warm-up: the first token
    sustained.served.upstream = 0;
    const before = sustained.calls();
    for (let second = 0; second < 600; second++) {
      await Promise.all(Array.from({ length: 1000 }, () => sustained.broker.get({ env: 'dev', scope: SCOPE })));
      await sustained.advance(1000);
    }
    const calls = sustained.calls() - before;
    const lifetimes = 600 / 200;
    const served = sustained.served.cache + sustained.served.upstream;
    results.push(one('provider calls per token lifetime, 600k requests over 10 min of fake time', calls / lifetimes, '≤ 1 per lifetime', calls <= lifetimes,
      `${calls} calls in ${lifetimes} lifetimes, one scope; ${served.toLocaleString('en')} requests served`));
    results.push(one('client requests that waited on the provider after warm-up', sustained.served.upstream, '0', sustained.served.upstream === 0,
      'every refresh ran ahead, in the background'));
  } finally {
    await sustained.close();
  }
  return results;
}

runIfMain(import.meta.url, benchUpstream, 'Upstream economy (bench-upstream)');
