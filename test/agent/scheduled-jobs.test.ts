// The agent's timed jobs: prewarm fetches every scope of an environment ahead of the nightly build; retention prunes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AUDIT_RETENTION_CRON, scheduledJobs } from '../../src/agent/scheduled-jobs.js';
import { isValidCron } from '../../src/agent/scheduler.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createRig, SCOPE } from '../tokens/broker-rig.js';

const DAY = 86_400_000;

const config = (prewarm?: string) => parseConfig(`
audit: { retainDays: 30 }
environments:
  dev:
    credential: { type: dev }
    tokens: { A: "${SCOPE}", B: "${SCOPE}" }
    ${prewarm ? `refresh: { prewarm: "${prewarm}" }` : ''}
  ci:
    credential: { type: dev }
    tokens: { A: "${SCOPE}" }
`, 'jobs.yaml', { validateCron: isValidCron });

test('one prewarm job per environment that asks for it, and the daily retention job', () => {
  const rigless = { broker: { prewarm: async () => {} }, audit: { prune: () => 0 }, clock: { now: () => 0, setTimeout: () => ({ cancel() {} }) } };
  const jobs = scheduledJobs(config('50 1 * * *'), rigless);
  assert.equal(jobs.map((j) => [j.name, j.expression]), [['prewarm dev', '50 1 * * *'], ['audit retention', AUDIT_RETENTION_CRON]]);
  assert.equal(scheduledJobs(config(), rigless).map((j) => j.name), ['audit retention']);
  assert.ok(jobs.every((j) => isValidCron(j.expression)));
});

test('prewarm gets a fresh token for each distinct scope, and later requests are served from it', async () => {
  const rig = await createRig();
  try {
    const [prewarm] = scheduledJobs(config('50 1 * * *'), { broker: rig.broker, audit: rig.audit, clock: rig.clock });
    await prewarm.run();
    assert.is(rig.calls(), 1, 'one provider call for the one distinct scope');
    rig.served.upstream = 0;
    await rig.broker.get({ env: 'dev', scope: SCOPE });
    assert.is(rig.served.upstream, 0, 'served from the prewarmed token');
    assert.is(rig.calls(), 1);
  } finally {
    await rig.close();
  }
});

test('retention prunes rows older than audit.retainDays and the chain still verifies', async () => {
  const rig = await createRig();
  try {
    for (let day = 0; day < 40; day++) {
      await rig.audit.record({ action: 'exec-start', outcome: 'ok', env: 'dev', detail: { day } });
      await rig.clock.advance(DAY);
    }
    const retention = scheduledJobs(config(), { broker: rig.broker, audit: rig.audit, clock: rig.clock }).at(-1)!;
    assert.is(await retention.run(), 10, 'on day 40, days 0–9 are more than 30 days old');
    assert.equal(rig.audit.verify(), { ok: true, rows: 31 }, '30 days kept, plus the anchor');
  } finally {
    await rig.close();
  }
});

test.run();
