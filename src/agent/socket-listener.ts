// Listens on the agent's Unix socket safely: 0700 directory, 0600 socket, one live agent per path.

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';
import { AadbtError } from '../errors.js';

export interface SocketOptions {
  /** Socket file mode: 0o600 for one user, 0o660 for a runner group. */
  mode?: number;
}

/** Resolves true when something accepts connections on the socket. */
export function probeSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (alive: boolean) => { socket.destroy(); resolve(alive); };
    socket.setTimeout(timeoutMs, () => done(true)); // accepted but silent: still someone's socket
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Prepares the directory and path, refusing if another agent is live there. */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dirStat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!dirStat.isDirectory()) throw new AadbtError(`${dir} is not a directory`, { code: 'SOCKET_DIR_INVALID', hint: 'choose another --socket path' });
  if (uid !== undefined && dirStat.uid !== uid) {
    throw new AadbtError(`the socket directory ${dir} belongs to another user`, { code: 'SOCKET_DIR_INVALID', hint: 'use a directory you own (the default is under $XDG_RUNTIME_DIR)' });
  }
  if ((dirStat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  let existing;
  try {
    existing = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!existing.isSocket()) {
    throw new AadbtError(`${socketPath} exists and is not a socket`, { code: 'SOCKET_PATH_TAKEN', hint: 'remove it or choose another --socket path' });
  }
  if (await probeSocket(socketPath)) {
    throw new AadbtError(`another agent is already listening on ${socketPath}`, { code: 'AGENT_ALREADY_RUNNING', hint: 'use it (aadbt status), stop it, or pass --socket for a second one' });
  }
  unlinkSync(socketPath); // stale: its agent died without cleaning up
}

/** Binds server to socketPath with the given mode; never leaves a moment where the socket is wider open. */
export async function listenOnSocket(server: Server, socketPath: string, options: SocketOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  await prepareSocketPath(socketPath);
  const previous = process.umask(0o777 & ~mode);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        reject(err.code === 'EADDRINUSE'
          ? new AadbtError(`another agent is already listening on ${socketPath}`, { code: 'AGENT_ALREADY_RUNNING', hint: 'use it (aadbt status), or pass --socket for a second one' })
          : err);
      };
      const onListening = () => { server.off('error', onError); resolve(); };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(socketPath);
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(socketPath, mode);
}
