// The CLI's client for the agent's /v1 API over the Unix socket (node:http only, for a lean start).

import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { AgentUnreachable, fromErrorBody } from '../errors.js';

type Method = 'GET' | 'POST' | 'DELETE';

export interface AgentClient {
  readonly socketPath: string;
  /** Sends a JSON request; resolves with the parsed body or throws the agent's error. */
  call<T>(method: Method, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /**
   * Sends a JSON request and hands the answer to onChunk as it arrives, waiting on each chunk (backpressure).
   * For long answers (exports) and open-ended ones (a sign-in a person is typing): no timeout. An error status
   * rejects with the agent's error; so does an error thrown by onChunk, which also ends the request.
   */
  stream(method: Method, path: string, body: unknown, onChunk: (text: string) => void | Promise<void>): Promise<void>;
}

/** Connection errors that mean no agent answers on the socket. */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'EACCES', 'ETIMEDOUT', 'ECONNRESET']);

export function createAgentClient(socketPath: string, options: { timeoutMs?: number } = {}): AgentClient {
  const timeoutMs = options.timeoutMs ?? 60_000;

  const send = (method: Method, path: string, body: unknown, headers: Record<string, string>, timeout: number | undefined,
    reject: (err: unknown) => void, onResponse: (res: IncomingMessage) => void): void => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // A connection of our own, not http's Agent: the Agent derives a TLS server name from the Host header
    // through net.isIP, whose first call compiles the IPv6 pattern (≈10 ms of a ~60 ms `aadbt token`).
    const req = request({
      createConnection: () => connect({ path: socketPath }), path, method, timeout,
      headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
    }, onResponse);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(UNREACHABLE.has(err.code ?? '') ? new AgentUnreachable(socketPath, err) : err));
    req.end(payload);
  };

  return {
    socketPath,
    call(method, path, body, headers = {}) {
      return new Promise((resolve, reject) => send(method, path, body, headers, timeoutMs, reject, (res) => {
        readText(res).then((text) => {
          const parsed = parseJson(text);
          if ((res.statusCode ?? 500) >= 400) reject(fromErrorBody(res.statusCode ?? 500, parsed));
          else resolve(parsed as never);
        }, reject);
      }));
    },
    stream(method, path, body, onChunk) {
      return new Promise((resolve, reject) => send(method, path, body, {}, undefined, reject, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          readText(res).then((text) => reject(fromErrorBody(res.statusCode ?? 500, parseJson(text))), reject);
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          res.pause();
          Promise.resolve().then(() => onChunk(chunk)).then(() => res.resume(), (err: unknown) => {
            res.destroy();
            reject(err);
          });
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      }));
    },
  };
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
