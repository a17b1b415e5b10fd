// The fault plan: counts, order, latency sums and validation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFaultPlan, parseDevFault, type DevFault } from '../../src/devidp/faults.js';

test('failing faults apply in injection order and spend their count', () => {
  const plan = createFaultPlan();
  plan.inject({ kind: 'status', status: 503, count: 2 });
  plan.inject({ kind: 'throttle', retryAfterSeconds: 3, count: 1 });
  const kinds = Array.from({ length: 5 }, () => plan.decide().fail?.kind ?? 'ok');
  assert.equal(kinds, ['status', 'status', 'throttle', 'ok', 'ok']);
  assert.equal(plan.list(), []);
});

test('a fault without count lasts until cleared; latency adds up and never fails', () => {
  const plan = createFaultPlan();
  plan.inject({ kind: 'latency', ms: 200 });
  plan.inject({ kind: 'latency', ms: 50 });
  plan.inject({ kind: 'aadsts', code: 53003 });
  for (let i = 0; i < 3; i++) assert.equal(plan.decide(), { delayMs: 250, fail: { kind: 'aadsts', code: 53003 } });
  plan.clear();
  assert.equal(plan.decide(), { delayMs: 0 });
});

const invalid: { name: string; input: unknown }[] = [
  { name: 'not an object', input: 'latency' },
  { name: 'unknown kind', input: { kind: 'explode' } },
  { name: 'status below 500', input: { kind: 'status', status: 429 } },
  { name: 'negative latency', input: { kind: 'latency', ms: -1 } },
  { name: 'zero count', input: { kind: 'aadsts', code: 50000, count: 0 } },
  { name: 'fractional retry-after', input: { kind: 'throttle', retryAfterSeconds: 1.5 } },
  { name: 'extra field', input: { kind: 'latency', ms: 1, count: 2 } },
];
for (const c of invalid) {
  test(`parseDevFault rejects ${c.name} with a UsageError`, () => {
    assert.throws(() => parseDevFault(c.input), (e: Error) => e.name === 'UsageError' && e.message.startsWith('devidp: invalid fault'));
  });
}

test('parseDevFault accepts each kind as given', () => {
  const ok: DevFault[] = [
    { kind: 'latency', ms: 0 }, { kind: 'status', status: 599, count: 1 }, { kind: 'throttle', retryAfterSeconds: 0 }, { kind: 'aadsts', code: 7000215 },
  ];
  for (const f of ok) assert.equal(parseDevFault(f), f);
});

test.run();
