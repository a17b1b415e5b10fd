// What a client tells the agent about itself for the audit log: never a secret.

import { basename } from 'node:path';
import type { Caller } from '../audit/audit-event.js';

const CI_VARIABLES = [
  'GITHUB_RUN_ID', 'GITHUB_RUN_ATTEMPT', 'GITHUB_WORKFLOW', 'GITHUB_REPOSITORY', 'GITHUB_ACTOR',
  'BUILD_BUILDID', 'BUILD_DEFINITIONNAME', 'SYSTEM_TEAMPROJECT',
  'CI_JOB_ID', 'CI_PIPELINE_ID', 'CI_PROJECT_PATH',
];

export function callerInfo(env: NodeJS.ProcessEnv, cwd: string, program = 'aadbt'): Caller {
  const ci: Record<string, string> = {};
  for (const name of CI_VARIABLES) if (env[name]) ci[name] = String(env[name]).slice(0, 256);
  return {
    pid: process.pid,
    program: basename(program),
    cwd,
    ...(Object.keys(ci).length ? { ci } : {}),
    ...(env.DBT_INVOCATION_ID ? { dbtInvocationId: env.DBT_INVOCATION_ID } : {}),
  };
}
