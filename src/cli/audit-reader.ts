// Reads the audit log through the agent when one runs (it may own the file), else straight from the file, read-only.

import type { AuditFilter, AuditRow, VerifyResult } from '../audit/audit-event.js';
import type { ExportFormat } from '../audit/audit-export.js';
import { AgentUnreachable } from '../errors.js';
import { createAgentClient, type AgentClient } from './agent-client.js';

export interface AuditReader {
  /** Where the rows come from, for the user: the agent's socket or the file. */
  readonly source: string;
  list(filter: AuditFilter): Promise<AuditRow[]>;
  get(id: number): Promise<AuditRow | undefined>;
  verify(): Promise<VerifyResult>;
  /** Streams the rows as `format` lines to `write`, oldest first. */
  export(format: ExportFormat, filter: AuditFilter, write: (text: string) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function openAuditReader(paths: { socketPath: string; auditDb: string }): Promise<AuditReader> {
  const client = createAgentClient(paths.socketPath, { timeoutMs: 600_000 });
  try {
    await client.call('GET', '/v1/audit?limit=1');
    return agentReader(client);
  } catch (err) {
    if (!(err instanceof AgentUnreachable)) throw err;
  }
  return fileReader(paths.auditDb);
}

function query(filter: AuditFilter & { format?: string }): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value !== undefined) params.set(key, String(value));
  return params.size ? `?${params}` : '';
}

function agentReader(client: AgentClient): AuditReader {
  return {
    source: `the agent on ${client.socketPath}`,
    list: async (filter) => (await client.call<{ events: AuditRow[] }>('GET', `/v1/audit${query(filter)}`)).events,
    async get(id) {
      try {
        return await client.call<AuditRow>('GET', `/v1/audit/${id}`);
      } catch (err) {
        if ((err as { status?: number }).status === 404) return undefined;
        throw err;
      }
    },
    verify: () => client.call<VerifyResult>('GET', '/v1/audit/verify'),
    export: (format, filter, write) => client.stream('GET', `/v1/audit/export${query({ ...filter, format })}`, undefined, write),
    close: async () => {},
  };
}

async function fileReader(path: string): Promise<AuditReader> {
  const { createAuditStore } = await import('../audit/audit-store.js');
  const { exportHeader, exportLine } = await import('../audit/audit-export.js');
  const store = createAuditStore({ path, readonly: true });
  return {
    source: path,
    list: async (filter) => store.list(filter),
    get: async (id) => store.get(id),
    verify: async () => store.verify(),
    async export(format, filter, write) {
      let chunk = exportHeader(format);
      for (const row of store.iterate({ ...filter, limit: undefined })) {
        chunk += exportLine(row, format);
        if (chunk.length > 64 * 1024) {
          await write(chunk);
          chunk = '';
        }
      }
      if (chunk) await write(chunk);
    },
    close: () => store.close(),
  };
}
