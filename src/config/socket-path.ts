// The agent's socket path (DESIGN §3), alone in a module so the hot CLI commands can find the agent
// without loading env-paths (its `import process from 'node:process'` builds stdin at import, ≈7 ms).

import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** $AADBT_SOCKET, else $XDG_RUNTIME_DIR/aadbt/agent.sock, else $TMPDIR/aadbt-UID/agent.sock. */
export function agentSocketPath(env: NodeJS.ProcessEnv): string {
  if (env.AADBT_SOCKET) return env.AADBT_SOCKET;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'aadbt', 'agent.sock');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `aadbt-${uid}`, 'agent.sock');
}
