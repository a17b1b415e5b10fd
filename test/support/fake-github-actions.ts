// A fake of GitHub Actions' OIDC token service: GET ?audience=… with the job's bearer → { value: JWT }, counted.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.js';
import { startFakeIssuer, type FakeIssuer } from './fake-oidc-issuer.js';

export interface FakeGitHubActions {
  readonly issuer: string;
  /** What a job step sees: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  env(): Record<string, string>;
  /** The subject of tokens from now on (default repo:org/repo:environment:prod). */
  subject: string;
  /** Lifetime of tokens from now on, and how long ago they claim to be issued (to make expired ones). */
  lifetimeSeconds: number;
  issuedAgoSeconds: number;
  /** Token requests answered (with a token), and every token handed out. */
  count(): number;
  issued(): readonly string[];
  /** The job's request token (a secret of the CI, for leak checks). */
  readonly requestToken: string;
  readonly fake: FakeIssuer;
  close(): Promise<void>;
}

export async function startFakeGitHubActions(options: { clock?: Clock } = {}): Promise<FakeGitHubActions> {
  const requestToken = `ghs_${randomBytes(18).toString('base64url')}`;
  const issued: string[] = [];
  const state = { subject: 'repo:org/repo:environment:prod', lifetimeSeconds: 300, issuedAgoSeconds: 0 };
  const fake = await startFakeIssuer({
    clock: options.clock,
    async handle(req, url) {
      if (req.method !== 'GET' || url.pathname !== '/_apis/idtoken') return { status: 404, body: { message: 'Not Found' } };
      if (req.headers.authorization !== `Bearer ${requestToken}`) return { status: 401, body: { message: 'Bad credentials' } };
      if (url.searchParams.get('api-version') !== '2.0') return { status: 400, body: { message: 'api-version 2.0 expected' } };
      const audience = url.searchParams.get('audience') ?? `https://github.com/org`;
      const iat = Math.floor(fake.clock.now() / 1000) - state.issuedAgoSeconds;
      const token = await fake.sign({
        sub: state.subject, aud: audience, iat, nbf: iat, exp: iat + state.lifetimeSeconds,
        repository: 'org/repo', environment: 'prod', ref: 'refs/heads/main', job_workflow_ref: 'org/repo/.github/workflows/dbt.yml@refs/heads/main',
      });
      issued.push(token);
      return { status: 200, body: { count: issued.length, value: token } };
    },
  });
  return {
    issuer: fake.issuer,
    env: () => ({ ACTIONS_ID_TOKEN_REQUEST_URL: `${fake.origin}/_apis/idtoken?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }),
    get subject() { return state.subject; },
    set subject(v: string) { state.subject = v; },
    get lifetimeSeconds() { return state.lifetimeSeconds; },
    set lifetimeSeconds(v: number) { state.lifetimeSeconds = v; },
    get issuedAgoSeconds() { return state.issuedAgoSeconds; },
    set issuedAgoSeconds(v: number) { state.issuedAgoSeconds = v; },
    count: () => issued.length,
    issued: () => [...issued],
    requestToken,
    fake,
    close: () => fake.close(),
  };
}
