// The logger's redaction: JSON and pretty lines alike, whatever shape the secret arrives in.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.js';
import { jwtShaped } from './support/jwt-shaped.js';

const JWT = jwtShaped({ aud: 'https://database.windows.net/' });
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
const SECRET = 'Zx8Q~s3cr3t-v4lue_0123456789';

const leaks: [string, Record<string, unknown>][] = [
  ['a JWT in a message', { message: `got ${JWT} back` }],
  ['a JWT deep in an object', { a: { b: [{ c: JWT }] } }],
  ['a PEM key', { cert: PEM }],
  ['a secret under a secret-looking key', { clientSecret: SECRET, password: SECRET, authorization: `Bearer ${SECRET}` }],
  ['a secret in form-encoded text', { body: `client_id=x&client_secret=${SECRET}&scope=y` }],
  ['an assertion in form-encoded text', { body: `client_assertion=${JWT}&grant_type=client_credentials` }],
  ['an Error whose message holds a token', { error: new Error(`request failed: access_token=${SECRET}`) }],
];

for (const pretty of [false, true]) {
  for (const [name, fields] of leaks) {
    test(`${pretty ? 'pretty' : 'JSON'} lines: ${name} is redacted`, () => {
      const lines: string[] = [];
      const log = createLogger({ pretty, write: (l) => lines.push(l) }).child({ component: 'test' });
      log.warn('something happened', fields);
      assert.is(lines.length, 1);
      for (const secret of [JWT, SECRET, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC']) assert.not.ok(lines[0].includes(secret), lines[0]);
      assert.match(lines[0], /redacted/);
    });
  }
}

test('harmless fields survive: token counts, token types, scopes, ids', () => {
  const lines: string[] = [];
  createLogger({ write: (l) => lines.push(l) }).info('served', { tokenType: 'Bearer', tokenRequests: 3, scope: 'https://database.windows.net/.default', env: 'prod' });
  assert.equal(JSON.parse(lines[0]), { ts: JSON.parse(lines[0]).ts, level: 'info', event: 'served', tokenType: 'Bearer', tokenRequests: 3, scope: 'https://database.windows.net/.default', env: 'prod' });
});

test('levels below the minimum are dropped', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
  log.debug('d'); log.info('i'); log.warn('w'); log.error('e');
  assert.equal(lines.map((l) => JSON.parse(l).event), ['w', 'e']);
});

test.run();
