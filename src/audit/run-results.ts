// Reads dbt's target/run_results.json into the facts the audit log keeps per model.

export interface ModelResult {
  uniqueId: string;
  status: string;
  executionTime?: number;
  rowsAffected?: number;
}

export interface RunResults {
  invocationId?: string;
  results: ModelResult[];
}

/** Parses run_results.json text; throws an Error saying what is wrong when it is not one. */
export function parseRunResults(text: string): RunResults {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  const root = doc as { metadata?: { invocation_id?: unknown }; results?: unknown };
  if (!root || typeof root !== 'object' || !Array.isArray(root.results)) throw new Error('no "results" list');
  const results: ModelResult[] = [];
  for (const r of root.results as Record<string, unknown>[]) {
    if (!r || typeof r.unique_id !== 'string') continue;
    const adapter = r.adapter_response as { rows_affected?: unknown } | undefined;
    results.push({
      uniqueId: r.unique_id,
      status: typeof r.status === 'string' ? r.status : 'unknown',
      ...(typeof r.execution_time === 'number' ? { executionTime: r.execution_time } : {}),
      ...(typeof adapter?.rows_affected === 'number' ? { rowsAffected: adapter.rows_affected } : {}),
    });
  }
  const invocationId = root.metadata?.invocation_id;
  return { ...(typeof invocationId === 'string' ? { invocationId } : {}), results };
}
