// The dev identity provider's answers before they hit the wire: status, headers and a JSON body.

/** A complete HTTP answer; handlers return these so they stay testable without sockets. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** JSON with Entra's no-store cache headers (token answers must never be cached). */
export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store, no-cache',
      pragma: 'no-cache',
      ...headers,
    },
    body: JSON.stringify(value),
  };
}

/** An empty 204. */
export function noContent(): HttpReply {
  return { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}
