// A tiny HTTPS client for the dev identity provider tests: trusts only the CA it is given.
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { FetchImplementation } from 'jose';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  ca: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request over real TLS, verified against `ca` only (agent: false, so no socket outlives it). */
export function httpsRequest(url: string, options: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', ca: options.ca, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POSTs a form to the token endpoint. */
export function postForm(url: string, ca: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
  return httpsRequest(url, {
    ca, method: 'POST', body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** A fetch for jose's createRemoteJWKSet that goes through httpsRequest with `ca`. */
export function fetchTrusting(ca: string): FetchImplementation {
  return async (url, options) => {
    const res = await httpsRequest(url, { ca, method: options.method });
    return new Response(res.text, { status: res.status, headers: { 'content-type': String(res.headers['content-type'] ?? '') } });
  };
}
