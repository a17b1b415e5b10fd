// Renders variables as code for a shell or a CI system to load, quoted so no value can break out.

export const SHELLS = ['sh', 'bash', 'zsh', 'fish', 'pwsh', 'dotenv', 'json', 'github', 'azure-pipelines'] as const;
export type Shell = (typeof SHELLS)[number];

export interface RenderOptions {
  /** Print the lines that remove the variables instead. */
  unset?: boolean;
  /** Variables whose values are secrets: masked in CI logs. */
  secretNames?: ReadonlySet<string>;
}

export interface RenderedExports {
  /** What the command prints. */
  stdout: string;
  /** For `github`: what to append to the file named by $GITHUB_ENV. */
  githubEnv?: string;
}

const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** True for names every supported shell accepts unquoted: `[A-Z_][A-Z0-9_]*`. */
export function isValidVariableName(name: string): boolean {
  return VARIABLE_NAME.test(name);
}

/** The shell of a login shell path (`/usr/bin/zsh` → zsh), as ssh-agent guesses it; sh when unknown. */
export function detectShell(shellPath: string | undefined): Shell {
  const base = (shellPath ?? '').split('/').pop() ?? '';
  if (base === 'fish') return 'fish';
  if (base === 'zsh') return 'zsh';
  if (base === 'bash') return 'bash';
  if (base === 'pwsh' || base === 'powershell') return 'pwsh';
  return 'sh';
}

/** Renders `vars` for `shell`; throws on a name a shell could misread (callers validate config names earlier). */
export function renderExports(vars: Record<string, string>, shell: Shell, options: RenderOptions = {}): RenderedExports {
  const names = Object.keys(vars);
  for (const name of names) {
    if (!isValidVariableName(name)) throw new Error(`shell-exports: '${name}' is not a valid variable name`);
  }
  const secret = (name: string) => options.secretNames?.has(name) ?? false;
  const lines = (f: (name: string) => string) => names.map((n) => f(n) + '\n').join('');
  const unset = options.unset ?? false;
  switch (shell) {
    case 'sh': case 'bash': case 'zsh':
      return { stdout: unset ? lines((n) => `unset ${n};`) : lines((n) => `export ${n}=${posixQuote(vars[n])};`) };
    case 'fish':
      return { stdout: unset ? lines((n) => `set -e ${n};`) : lines((n) => `set -gx ${n} ${fishQuote(vars[n])};`) };
    case 'pwsh':
      return { stdout: unset ? lines((n) => `Remove-Item -ErrorAction SilentlyContinue Env:${n}`) : lines((n) => `$Env:${n} = ${pwshQuote(vars[n])}`) };
    case 'dotenv':
      return { stdout: unset ? '' : lines((n) => `${n}=${posixQuote(vars[n])}`) };
    case 'json':
      return { stdout: JSON.stringify(unset ? Object.fromEntries(names.map((n) => [n, null])) : vars, null, 2) + '\n' };
    case 'github': {
      // Masks go to stdout before any value can reach the log; values go to $GITHUB_ENV with a delimiter no value holds.
      const masks = names.filter(secret).flatMap((n) => maskLines(vars[n])).join('');
      const env = names.map((n) => githubEnvEntry(n, unset ? '' : vars[n])).join('');
      return { stdout: unset ? '' : masks, githubEnv: env };
    }
    case 'azure-pipelines':
      return {
        stdout: lines((n) => `##vso[task.setvariable variable=${n}${secret(n) ? ';issecret=true' : ''}]${unset ? '' : azpEscape(vars[n])}`),
      };
  }
}

/** Single quotes: nothing inside is special except the quote itself, closed, escaped and reopened. */
function posixQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** fish single quotes: only \\ and \' are special inside. */
function fishQuote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** PowerShell verbatim string: a quote is doubled; the typographic quotes count as quotes too. */
function pwshQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** One ::add-mask:: per line (a mask cannot span lines), with the runner's escaping of %. */
function maskLines(value: string): string[] {
  return value.split(/\r?\n|\r/).filter((line) => line !== '').map((line) => `::add-mask::${line.replace(/%/g, '%25')}\n`);
}

function githubEnvEntry(name: string, value: string): string {
  let delimiter = 'AADBT_EOF';
  while (value.includes(delimiter)) delimiter += '_';
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

/** Azure Pipelines logging-command escaping of a value. */
function azpEscape(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/;/g, '%3B').replace(/]/g, '%5D');
}
