// The shape of one audit event, shared by the writer (agent) and the readers (CLI, status page).

export const AUDIT_ACTIONS = ['issue', 'refresh', 'serve', 'deny', 'error', 'credential-reloaded', 'exec-start', 'exec-end', 'model', 'anchor'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditOutcome = 'ok' | 'denied' | 'error' | 'warning';

/** Who the token belongs to, from its claims. */
export interface Principal {
  oid?: string;
  appid?: string;
  upn?: string;
  idtyp?: string;
  tid?: string;
}

/** What the client knows about itself; never a secret. */
export interface Caller {
  pid?: number;
  uid?: number;
  program?: string;
  cwd?: string;
  ci?: Record<string, string>;
  dbtInvocationId?: string;
}

/** An event as the agent reports it. `ts` defaults to the store's clock. */
export interface AuditEvent {
  ts?: number;
  env?: string | null;
  scope?: string | null;
  action: AuditAction;
  principal?: Principal;
  /** First 16 hex of sha256(token): never the token. */
  fingerprint?: string | null;
  /** Epoch milliseconds. */
  expiresOn?: number | null;
  caller?: Caller | null;
  outcome: AuditOutcome;
  detail?: Record<string, unknown> | null;
}

/** A stored row, as people query it with SQL (DESIGN §5). */
export interface AuditRow {
  id: number;
  ts: number;
  env: string | null;
  scope: string | null;
  action: AuditAction;
  principal_oid: string | null;
  principal_app: string | null;
  principal_upn: string | null;
  idtyp: string | null;
  tid: string | null;
  fingerprint: string | null;
  expires_on: number | null;
  caller: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditFilter {
  env?: string;
  action?: AuditAction;
  principal?: string;
  since?: number;
  until?: number;
  limit?: number;
}

export type VerifyResult =
  | { ok: true; rows: number }
  | { ok: false; rows: number; brokenId: number; reason: string };

/** The audit log. Only the agent writes; `record` resolves once the row is committed. */
export interface AuditStore {
  readonly path: string;
  record(event: AuditEvent): Promise<AuditRow>;
  list(filter?: AuditFilter): AuditRow[];
  get(id: number): AuditRow | undefined;
  /** Rows in id order, one at a time: exports stream without holding the log in memory. */
  iterate(filter?: AuditFilter): IterableIterator<AuditRow>;
  verify(): VerifyResult;
  /** Deletes rows older than `before` (epoch ms), leaving an anchor row; returns how many went. */
  prune(before: number): number;
  close(): Promise<void>;
}

export interface AuditStats {
  rowsWritten: number;
  commits: number;
  lastBatchSize: number;
}
