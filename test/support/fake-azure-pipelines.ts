// A fake of Azure Pipelines' OIDC endpoint: POST ?api-version=7.1&serviceConnectionId=… with System.AccessToken → { oidcToken }.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../src/clock.js';
import { startFakeIssuer, type FakeIssuer } from './fake-oidc-issuer.js';

export interface FakeAzurePipelines {
  /** https://vstoken.dev.azure.com/{organizationId} in real life; here on loopback with that path. */
  readonly issuer: string;
  readonly serviceConnectionId: string;
  /** `sc://org/project/connection`, the subject Azure DevOps puts in its tokens. */
  readonly subject: string;
  /** What a pipeline step sees: SYSTEM_OIDCREQUESTURI and SYSTEM_ACCESSTOKEN. */
  env(): Record<string, string>;
  count(): number;
  issued(): readonly string[];
  /** Every request's shape (the bearer only as whether it was the job's access token). */
  requests(): readonly PipelinesRequest[];
  readonly accessToken: string;
  readonly fake: FakeIssuer;
  close(): Promise<void>;
}

export interface PipelinesRequest {
  method: string;
  path: string;
  apiVersion: string | null;
  serviceConnectionId: string | null;
  bearerIsAccessToken: boolean;
}

export async function startFakeAzurePipelines(options: { clock?: Clock } = {}): Promise<FakeAzurePipelines> {
  const organizationId = randomUUID();
  const serviceConnectionId = randomUUID();
  const subject = 'sc://org/project/dbt-prod';
  const accessToken = `azdo${randomBytes(24).toString('base64url')}`;
  const issued: string[] = [];
  const seen: PipelinesRequest[] = [];
  const planPath = '/org/project/_apis/distributedtask/hubs/build/plans/plan-1/jobs/job-1/oidctoken';
  const fake = await startFakeIssuer({
    issuerPath: `/${organizationId}`,
    clock: options.clock,
    async handle(req, url) {
      seen.push({
        method: req.method ?? '', path: url.pathname, apiVersion: url.searchParams.get('api-version'),
        serviceConnectionId: url.searchParams.get('serviceConnectionId'), bearerIsAccessToken: req.headers.authorization === `Bearer ${accessToken}`,
      });
      if (req.method !== 'POST' || url.pathname !== planPath) return { status: 404, body: { message: 'not found' } };
      if (req.headers.authorization !== `Bearer ${accessToken}`) return { status: 401, body: { message: 'TF400813: The user is not authorized to access this resource.' } };
      if (url.searchParams.get('api-version') !== '7.1') return { status: 400, body: { message: 'api-version 7.1 expected' } };
      if (url.searchParams.get('serviceConnectionId') !== serviceConnectionId) return { status: 400, body: { message: 'Service connection not found' } };
      const iat = Math.floor(fake.clock.now() / 1000);
      const token = await fake.sign({ sub: subject, aud: 'api://AzureADTokenExchange', iat, nbf: iat, exp: iat + 600 });
      issued.push(token);
      return { status: 200, body: { oidcToken: token } };
    },
  });
  return {
    issuer: fake.issuer,
    serviceConnectionId,
    subject,
    env: () => ({ SYSTEM_OIDCREQUESTURI: `${fake.origin}${planPath}`, SYSTEM_ACCESSTOKEN: accessToken }),
    count: () => issued.length,
    issued: () => [...issued],
    requests: () => [...seen],
    accessToken,
    fake,
    close: () => fake.close(),
  };
}
