// The demo environments served by `aadbt agent --dev` when there is no config file (DESIGN §6).

import type { AadbtConfig } from './config-schema.js';
import { parseConfig } from './load-config.js';

const FABRIC = 'https://database.windows.net/.default';
const DATABRICKS = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';
/** A group the demo identities are not in, so `prod` shows what a denial looks like. */
export const DEMO_PROD_GROUP = '5a1e0000-0000-4000-8000-00000000a11d';

const DEMO_YAML = `
default: dev
environments:
  dev:
    credential: { type: dev, clientId: aadbt-demo-developer }
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }
    targets: [dev]
  ci:
    automation: true
    credential: { type: dev, clientId: aadbt-demo-ci }
    tokens:
      DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}"
      DBT_ENV_SECRET_DATABRICKS_TOKEN: "${DATABRICKS}"
    targets: [ci]
  prod:
    automation: true
    credential: { type: dev, clientId: aadbt-demo-ci }
    tokens:
      DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}"
      DBT_ENV_SECRET_DATABRICKS_TOKEN: "${DATABRICKS}"
    targets: [prod]
    access: { groups: ["${DEMO_PROD_GROUP}"] }
`;

/** The demo config; `statusPort` overrides the default port. */
export function demoConfig(): AadbtConfig {
  return parseConfig(DEMO_YAML, '<demo>');
}
