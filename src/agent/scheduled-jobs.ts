// The agent's timed jobs, derived from the config: nightly prewarm per environment and daily audit retention.

import type { AuditStore } from '../audit/audit-event.js';
import type { Clock } from '../clock.js';
import type { AadbtConfig } from '../config/config-schema.js';
import { configuredScopes } from '../config/scope-match.js';
import type { TokenBroker } from '../tokens/token-broker.js';
import type { ScheduledJob } from './scheduler.js';

/** Early morning, off the hour, when few builds start. */
export const AUDIT_RETENTION_CRON = '17 3 * * *';
const DAY_MS = 86_400_000;

export function scheduledJobs(config: AadbtConfig, deps: { broker: Pick<TokenBroker, 'prewarm'>; audit: Pick<AuditStore, 'prune'>; clock: Clock }): ScheduledJob[] {
  const prewarm = Object.values(config.environments).flatMap((env) => (env.refresh.prewarm ? [{
    name: `prewarm ${env.name}`,
    expression: env.refresh.prewarm,
    run: () => deps.broker.prewarm(env.name, configuredScopes(env)),
  }] : []));
  const retention: ScheduledJob = {
    name: 'audit retention',
    expression: AUDIT_RETENTION_CRON,
    run: async () => deps.audit.prune(deps.clock.now() - config.audit.retainDays * DAY_MS),
  };
  return [...prewarm, retention];
}
