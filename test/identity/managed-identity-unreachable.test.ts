// Managed identity where no endpoint answers (a runner that is not on Azure): a clear, retryable error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { parseConfig } from '../../src/config/load-config.js';
import { AuthenticationFailed } from '../../src/errors.js';
import { createTokenSource } from '../../src/identity/create-token-source.js';
import { FABRIC } from '../support/harness.js';

/** A loopback port that was free a moment ago, so nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('managed identity with no IMDS answering → AUTH_UNAVAILABLE, transient, pointing to other credential types', async () => {
  const port = await closedPort();
  const source = createTokenSource(parseConfig(`
environments:
  runner:
    credential: { type: managed-identity }
    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "${FABRIC}" }
`, 'mi.yaml').environments.runner, { env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${port}` } });
  try {
    await source.getToken(FABRIC);
    assert.unreachable('expected a failure');
  } catch (err) {
    assert.instance(err, AuthenticationFailed);
    const e = err as AuthenticationFailed;
    assert.is(e.code, 'AUTH_UNAVAILABLE');
    assert.is(e.transient, true);
    assert.is(e.message, 'runner: cannot reach the managed-identity endpoint (IMDS, or IDENTITY_ENDPOINT on App Service)');
    assert.match(e.hint ?? '', /use workload-identity or client-certificate/);
  }
});

test.run();
