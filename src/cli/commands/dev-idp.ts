// `aadbt dev-idp`: runs the development identity provider on its own, for agents and tools in other processes.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT, UsageError } from '../../errors.js';
import type { CliIo } from '../cli-io.js';

const HELP = `usage: aadbt dev-idp [--port N] [--out DIR] [--lifetime SECONDS] [--client ID]...

Runs the embedded development identity provider (HTTPS on 127.0.0.1 with an ephemeral CA).
  --out DIR     write DIR/ca.pem and DIR/<client>.secret (mode 0600) and print a config that uses them
  --client ID   register a client (default: aadbt-demo-developer); repeatable
  --lifetime S  token lifetime in seconds (default 3600)
Faults can be injected at runtime through its loopback admin API (POST /_dev/faults).
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: { port: { type: 'string' }, out: { type: 'string' }, lifetime: { type: 'string' }, client: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port} is not a port number`);
  const lifetime = values.lifetime === undefined ? undefined : Number(values.lifetime);
  if (lifetime !== undefined && !(lifetime > 0)) throw new UsageError(`--lifetime ${values.lifetime} is not a number of seconds`);
  const { createDevIdp } = await import('../../devidp/dev-idp.js');
  const idp = await createDevIdp({ port, tokenLifetimeSeconds: lifetime });
  const clients = values.client?.length ? values.client : ['aadbt-demo-developer'];
  const lines = [`dev identity provider at ${idp.url} (tenant ${idp.tenantId})`];
  if (values.out) {
    const dir = resolve(values.out);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'ca.pem'), idp.caPem, { mode: 0o644 });
    lines.push('', '# a config that uses it:', 'environments:');
    for (const clientId of clients) {
      const secretFile = join(dir, `${clientId}.secret`);
      writeFileSync(secretFile, idp.registerClient({ clientId }), { mode: 0o600 });
      lines.push(`  ${clientId}:`, `    tenant: ${idp.tenantId}`, `    authorityHost: ${idp.url}`, `    authorityCaFile: ${join(dir, 'ca.pem')}`,
        `    credential: { type: client-secret, clientId: ${clientId}, secretFile: ${secretFile} }`,
        '    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "https://database.windows.net/.default" }');
    }
  } else {
    for (const clientId of clients) idp.registerClient({ clientId });
    lines.push('(pass --out DIR to write its CA and client secrets for an agent to use)');
  }
  io.out(lines.join('\n') + '\n');
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await idp.close();
  return EXIT.ok;
}
