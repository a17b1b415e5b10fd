// The wire formats dbt's clients parse: az's token JSON, the managed-identity response, git's credential protocol.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderAzAccessToken } from '../../src/deliver/az-token-json.js';
import { isAzureReposHost, parseCredentialRequest, renderCredentialResponse } from '../../src/deliver/git-credential.js';
import { renderMsiToken } from '../../src/deliver/msi-response.js';

const EXPIRES = Date.parse('2026-11-28T23:30:05.250Z');

const zones: [string, string][] = [
  ['UTC', '2026-11-28 23:30:05.250000'],
  ['Pacific/Kiritimati', '2026-11-29 13:30:05.250000'],
  ['America/Los_Angeles', '2026-11-28 15:30:05.250000'],
];
for (const [timeZone, local] of zones) {
  test(`az JSON in ${timeZone}: expiresOn is local time, expires_on epoch seconds`, () => {
    const saved = process.env.TZ;
    process.env.TZ = timeZone; // Node applies a TZ change at once
    let json;
    try {
      json = JSON.parse(renderAzAccessToken({ token: 't', expiresOnMs: EXPIRES, tenant: 'tid' }));
    } finally {
      if (saved === undefined) delete process.env.TZ; else process.env.TZ = saved;
    }
    assert.equal(Object.keys(json), ['accessToken', 'expiresOn', 'expires_on', 'tenant', 'tokenType']);
    assert.equal(json, { accessToken: 't', expiresOn: local, expires_on: Math.floor(EXPIRES / 1000), tenant: 'tid', tokenType: 'Bearer' });
  });
}

test('az JSON carries the subscription when asked for one', () => {
  const json = JSON.parse(renderAzAccessToken({ token: 't', expiresOnMs: EXPIRES, tenant: 'tid', subscription: 'sub' }));
  assert.is(json.subscription, 'sub');
});

test('managed-identity response: expires_on is a string of epoch seconds', () => {
  assert.equal(renderMsiToken({ token: 't', expiresOnMs: EXPIRES, resource: 'https://database.windows.net' }),
    { access_token: 't', expires_on: String(Math.floor(EXPIRES / 1000)), resource: 'https://database.windows.net', token_type: 'Bearer' });
});

const requests: [string, ReturnType<typeof parseCredentialRequest>][] = [
  ['protocol=https\nhost=dev.azure.com\npath=org/proj/_git/repo\n\n', { protocol: 'https', host: 'dev.azure.com', path: 'org/proj/_git/repo' }],
  ['url=https://me@dev.azure.com/org/proj/_git/dbt%20pkgs\n', { protocol: 'https', host: 'dev.azure.com', path: 'org/proj/_git/dbt pkgs', username: 'me' }],
  ['protocol=https\r\nhost=org.visualstudio.com\r\n', { protocol: 'https', host: 'org.visualstudio.com' }],
  ['garbage\nurl=::not a url::\n', {}],
];
for (const [text, expected] of requests) test(`git request ${JSON.stringify(text)}`, () => assert.equal(parseCredentialRequest(text), expected));

const hosts: [string, boolean][] = [['dev.azure.com', true], ['DEV.AZURE.COM:443', true], ['contoso.visualstudio.com', true], ['github.com', false], ['dev.azure.com.evil.example', false], ['visualstudio.com.evil', false]];
for (const [host, ok] of hosts) test(`${host} is ${ok ? '' : 'not '}Azure Repos`, () => assert.is(isAzureReposHost(host), ok));

test('git response: username, password, password_expiry_utc; a newline cannot inject a key', () => {
  assert.is(renderCredentialResponse({ username: 'aadbt', password: 'tok', expiresOnMs: EXPIRES }), `username=aadbt\npassword=tok\npassword_expiry_utc=${Math.floor(EXPIRES / 1000)}\n`);
  assert.throws(() => renderCredentialResponse({ username: 'x\nhost=evil', password: 'tok', expiresOnMs: EXPIRES }));
});

test.run();
