// Timed jobs (nightly prewarm, audit retention) on cron expressions; the only importer of node-cron.

import cron from 'node-cron';
import type { Logger } from '../log.js';

export interface ScheduledJob {
  name: string;
  /** A five-field cron expression, in the agent's local time. */
  expression: string;
  run(): Promise<unknown>;
}

export interface Scheduler {
  /** Replaces every job (used at start and on reload). */
  replace(jobs: readonly ScheduledJob[]): void;
  stop(): void;
}

/** Whether node-cron accepts the expression; handed to the config loader. */
export function isValidCron(expression: string): boolean {
  return cron.validate(expression);
}

export function createScheduler(log: Logger): Scheduler {
  let tasks: { stop(): unknown }[] = [];
  const stop = () => { for (const t of tasks) t.stop(); tasks = []; };
  return {
    replace(jobs) {
      stop();
      tasks = jobs.map((job) => cron.schedule(job.expression, () => {
        log.info('scheduled job', { job: job.name });
        job.run().catch((err) => log.warn('scheduled job failed', { job: job.name, error: err }));
      }, { name: job.name, noOverlap: true }));
    },
    stop,
  };
}
