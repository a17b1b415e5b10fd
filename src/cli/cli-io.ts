// The CLI's view of its process: output streams, environment and working directory, injectable for tests.

export interface CliIo {
  out(text: string): void;
  /** Like out, but waits while the reader is behind: for long streams (audit export). */
  outAsync(text: string): Promise<void>;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isTty: boolean;
}

export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    outAsync: (t) => new Promise<void>((resolve) => { if (process.stdout.write(t)) resolve(); else process.stdout.once('drain', resolve); }),
    err: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    isTty: Boolean(process.stdout.isTTY),
  };
}
