// A broker wired to the real dev provider, real credentials and a real audit store, on a fake clock.

import { writeFileSync } from 'node:fs';
import { createAuditStore } from '../../src/audit/audit-store.js';
import type { AuditStore } from '../../src/audit/audit-event.js';
import { createFakeClock, settle, type FakeClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createDevIdp, type DevIdp } from '../../src/devidp/dev-idp.js';
import { createTokenSource } from '../../src/identity/create-token-source.js';
import { createLogger } from '../../src/log.js';
import { createTokenBroker, type TokenBroker } from '../../src/tokens/token-broker.js';
import { tempDir, type TempDir } from '../support/harness.js';

export const SCOPE = 'https://database.windows.net/.default';

export interface Rig {
  clock: FakeClock;
  idp: DevIdp;
  broker: TokenBroker;
  audit: AuditStore;
  dir: TempDir;
  secretFile: string;
  logs: string[];
  served: { cache: number; upstream: number };
  /** Advances fake time, then waits (on real I/O, not time) until no refresh is in flight. */
  advance(ms: number): Promise<void>;
  /** Calls to the provider's token endpoint so far. */
  calls(): number;
  close(): Promise<void>;
}

export async function createRig(options: { lifetimeSeconds?: number; ahead?: string } = {}): Promise<Rig> {
  const clock = createFakeClock(Date.now());
  const dir = tempDir();
  const idp = await createDevIdp({ clock, tokenLifetimeSeconds: options.lifetimeSeconds ?? 3600 });
  const secretFile = dir.file('app.secret', idp.registerClient({ clientId: 'rig-app' }));
  const caFile = dir.file('ca.pem', idp.caPem);
  const config = parseConfig(`
environments:
  dev:
    tenant: ${idp.tenantId}
    authorityHost: ${idp.url}
    authorityCaFile: ${caFile}
    credential: { type: client-secret, clientId: rig-app, secretFile: ${secretFile} }
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${SCOPE}" }
    refresh: { ahead: ${options.ahead ?? '15m'} }
`, 'rig.yaml');
  const source = createTokenSource(config.environments.dev, { env: {} });
  const audit = createAuditStore({ path: `${dir.path}/audit.db`, clock });
  const logs: string[] = [];
  const served = { cache: 0, upstream: 0 };
  const broker = createTokenBroker({
    clock, audit: (e) => audit.record(e), random: () => 1,
    log: createLogger({ write: (l) => logs.push(l), level: 'debug' }),
    policy: () => ({ source, refreshAheadMs: config.environments.dev.refresh.ahead }),
    observer: { served: (_e, _s, from) => { served[from] += 1; } },
  });
  const idle = async () => {
    for (let i = 0; i < 2000 && broker.status().some((s) => s.state === 'refreshing'); i++) await new Promise((r) => setTimeout(r, 1));
    await settle();
  };
  return {
    clock, idp, broker, audit, dir, secretFile, logs, served,
    async advance(ms) {
      // Timer by timer, so each real HTTPS call a timer starts completes before time moves on.
      const end = clock.now() + ms;
      for (;;) {
        const due = clock.nextDue();
        if (due === undefined || due > end) break;
        await clock.advance(Math.max(0, due - clock.now()));
        await idle();
      }
      await clock.advance(end - clock.now());
      await idle();
    },
    calls: () => idp.tokenRequests(),
    async close() {
      broker.close();
      await audit.close();
      await idp.close();
      dir.remove();
    },
  };
}

export function rotateSecret(rig: Rig, oldSecret: string): string {
  const fresh = `rotated-${Math.random().toString(36).slice(2)}-secret`;
  rig.idp.addSecret('rig-app', fresh);
  writeFileSync(rig.secretFile, fresh);
  rig.idp.revokeSecret('rig-app', oldSecret);
  return fresh;
}
