// Reads a dbt command line for what aadbt exec needs: the --target and the --target-path.

/** The value of a dbt option given as `--name X`, `--name=X` or (for short options) `-n X` / `-nX`. */
function optionValue(argv: readonly string[], long: string, short?: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (arg === long || (short && arg === short)) return argv[i + 1];
    if (arg.startsWith(long + '=')) return arg.slice(long.length + 1);
    if (short && arg.startsWith(short) && arg.length > short.length && !arg.startsWith('--')) return arg.slice(short.length);
  }
  return undefined;
}

/** The --target of a dbt invocation, if the command is dbt. */
export function dbtTarget(command: readonly string[]): string | undefined {
  if (!isDbt(command)) return undefined;
  return optionValue(command.slice(1), '--target', '-t');
}

/** Where dbt writes run_results.json: --target-path, else $DBT_TARGET_PATH, else target/. */
export function dbtTargetPath(command: readonly string[], env: NodeJS.ProcessEnv): string {
  return (isDbt(command) ? optionValue(command.slice(1), '--target-path') : undefined) ?? env.DBT_TARGET_PATH ?? 'target';
}

export function isDbt(command: readonly string[]): boolean {
  const program = command[0]?.split('/').pop() ?? '';
  return program === 'dbt' || program === 'dbt.exe';
}

/** Masks argument values that look like secrets before they reach the audit log. */
export function maskSecrets(command: readonly string[]): string[] {
  let maskNext = false;
  return command.map((arg) => {
    if (maskNext) { maskNext = false; return '***'; }
    if (/^--?[\w-]*(password|secret|token|key)[\w-]*$/i.test(arg)) { maskNext = true; return arg; }
    if (/^--?[\w-]*(password|secret|token|key)[\w-]*=/i.test(arg)) return arg.replace(/=.*$/, '=***');
    if (/eyJ[\w-]{4,}\.[\w-]{4,}\./.test(arg) || /^[A-Za-z0-9+/_~.-]{32,}={0,2}$/.test(arg)) return '***';
    // Inside --vars '{"api_key": "…"}' or KEY=value: the value of a secret-named key, and long opaque runs.
    return arg.replace(SECRET_PAIR, '$1$2***$2').replace(OPAQUE_RUN, '***');
  });
}

const SECRET_PAIR = /(["']?[\w-]*(?:password|secret|token|key)[\w-]*["']?\s*[:=]\s*)(["']?)([^"'\s,}]+)\2/gi;
const OPAQUE_RUN = /[A-Za-z0-9+_~-]{32,}={0,2}/g;
