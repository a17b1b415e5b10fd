// The CLI's client for the agent's /v1 API over the Unix socket (node:http only, for a lean start).

import { request } from 'node:http';
import { connect } from 'node:net';
import { AgentUnreachable, fromErrorBody } from '../errors.js';

export interface AgentClient {
  readonly socketPath: string;
  /** Sends a JSON request; resolves with the parsed body or throws the agent's error. */
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
}

export function createAgentClient(socketPath: string, options: { timeoutMs?: number } = {}): AgentClient {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return {
    socketPath,
    call(method, path, body, headers = {}) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        // A connection of our own, not http's Agent: the Agent derives a TLS server name from the Host header
        // through net.isIP, whose first call compiles the IPv6 pattern (≈10 ms of a ~60 ms `aadbt token`).
        const req = request({
          createConnection: () => connect({ path: socketPath }), path, method, timeout: timeoutMs,
          headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
            if ((res.statusCode ?? 500) >= 400) reject(fromErrorBody(res.statusCode ?? 500, parsed));
            else resolve(parsed as never);
          });
        });
        req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
        req.on('error', (err: NodeJS.ErrnoException) => {
          reject(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'EACCES', 'ETIMEDOUT', 'ECONNRESET'].includes(err.code ?? '') ? new AgentUnreachable(socketPath, err) : err);
        });
        req.end(payload);
      });
    },
  };
}
