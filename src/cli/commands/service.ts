// `aadbt service install|print`: writes (or prints) the systemd units from systemd/ with this node and this CLI filled in.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AadbtError, EXIT, UsageError } from '../../errors.js';
import type { CliIo } from '../cli-io.js';
import { AGENT_NODE_FLAGS } from '../agent-node-flags.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'aadbt.js');

const HELP = `usage: aadbt service install [--user | --system] [--enable] [--dir DIR] [--account NAME] [--json]
       aadbt service print [--user | --system]

Writes the systemd units that run the agent, socket-activated, with the absolute paths of this node
(${process.execPath}) and this CLI (${CLI}).
  --user          aadbt.socket + aadbt.service into ~/.config/systemd/user (the default)
  --system        the template aadbt@.socket + aadbt@.service into /etc/systemd/system, for a
                  shared CI runner: the agent runs as the account NAME of aadbt@NAME, and members
                  of the group aadbt-NAME may use its socket /run/aadbt/NAME/agent.sock
  --enable        then run systemctl daemon-reload and enable --now the socket
  --dir DIR       write into DIR instead (packaging, tests); cannot be combined with --enable
  --account NAME  with --system: the runner account whose instance --enable starts
Re-run it after moving or upgrading node, since the units name node's path.
`;

type Mode = 'user' | 'system';

interface UnitFile { name: string; text: string }

/** The unit files of a mode, with @NODE@, @NODEFLAGS@, @CLI@ and @DOCS@ filled in. */
export function renderUnits(mode: Mode, node = process.execPath, cli = CLI): UnitFile[] {
  const names = mode === 'user' ? ['aadbt.socket', 'aadbt.service'] : ['aadbt@.socket', 'aadbt@.service'];
  const values: Record<string, string> = {
    NODE: execArgument(node),
    NODEFLAGS: AGENT_NODE_FLAGS.join(' '),
    CLI: execArgument(cli),
    DOCS: escapeSpecifiers(pathToFileURL(join(ROOT, 'README.md')).href),
  };
  return names.map((name) => {
    const template = readFileSync(join(ROOT, 'systemd', name), 'utf8');
    const text = template.replace(/@([A-Z]+)@/g, (whole, key: string) => {
      const value = values[key];
      if (value === undefined) throw new AadbtError(`systemd/${name}: unknown placeholder ${whole}`, { code: 'SERVICE_TEMPLATE_INVALID', hint: 'reinstall aadbt; the unit templates are damaged' });
      return value;
    });
    return { name, text };
  });
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      user: { type: 'boolean' }, system: { type: 'boolean' }, enable: { type: 'boolean' }, dir: { type: 'string' },
      account: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { io.out(HELP); return EXIT.ok; }
  const [sub, ...extra] = positionals;
  if (!sub) { io.err(HELP); return EXIT.usage; }
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'see `aadbt service --help`');
  if (values.user && values.system) throw new UsageError('choose one of --user and --system', 'use --user for your own login, --system for a shared CI runner account');
  const mode: Mode = values.system ? 'system' : 'user';
  const account = values.account;
  if (account !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(account)) {
    throw new UsageError(`--account '${account}' is not a user name`, 'name the runner\'s login account, e.g. --account gitlab-runner');
  }
  if (account !== undefined && mode === 'user') throw new UsageError('--account only applies with --system', 'a user unit always runs as you; drop --account or add --system');

  if (sub === 'print') {
    const dir = unitDir(mode, io.env);
    io.out(renderUnits(mode).map((u) => `# ${join(dir, u.name)}\n${u.text}`).join('\n'));
    return EXIT.ok;
  }
  if (sub !== 'install') throw new UsageError(`unknown service subcommand '${sub}'`, 'use `aadbt service install` or `aadbt service print`');
  if (values.enable && values.dir !== undefined) {
    throw new UsageError('--enable cannot be combined with --dir', 'systemd only loads units from its own directories; drop --dir to install them there');
  }
  if (values.enable && mode === 'system' && !account) {
    throw new UsageError('--system --enable needs --account NAME', 'name the runner account the agent runs as, e.g. --account gitlab-runner');
  }

  const dir = values.dir ?? unitDir(mode, io.env);
  const written = renderUnits(mode).map((unit) => writeUnit(dir, unit));
  // The user unit's sandbox makes only this directory writable, and systemd cannot bind-mount a missing one.
  if (mode === 'user' && values.dir === undefined) mkdirSync(join(homeOf(io.env), '.local', 'share', 'aadbt'), { recursive: true, mode: 0o700 });

  const socketUnit = mode === 'user' ? 'aadbt.socket' : `aadbt@${account ?? 'RUNNER'}.socket`;
  const systemctl = mode === 'user' ? ['systemctl', '--user'] : ['systemctl'];
  const next = `${systemctl.join(' ')} daemon-reload && ${systemctl.join(' ')} enable --now ${socketUnit}`;
  if (values.enable) {
    runSystemctl([...systemctl.slice(1), 'daemon-reload'], io.env, written, next);
    runSystemctl([...systemctl.slice(1), 'enable', '--now', socketUnit], io.env, written, next);
  }

  if (values.json) {
    io.out(JSON.stringify({ mode, files: written, node: process.execPath, cli: CLI, enabled: values.enable ? socketUnit : null }, null, 2) + '\n');
    return EXIT.ok;
  }
  const lines = [...written.map((f) => `wrote ${f}`), `  node ${process.execPath}`, `  cli  ${CLI}`];
  if (values.enable) {
    lines.push(`enabled ${socketUnit}: the agent starts on the first connection to ${mode === 'user' ? '$XDG_RUNTIME_DIR/aadbt/agent.sock' : `/run/aadbt/${account}/agent.sock`}`);
  } else if (values.dir === undefined) {
    lines.push(`next: ${next}`);
  }
  if (mode === 'system') {
    lines.push(`the runner account needs /etc/aadbt/${account ?? 'RUNNER'}/config.yaml and a group aadbt-${account ?? 'RUNNER'} for the users allowed to connect (README "Running as a service")`);
  }
  io.out(lines.join('\n') + '\n');
  return EXIT.ok;
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

/** Where systemd looks for units of the mode (user units honour $XDG_CONFIG_HOME, as systemd does). */
function unitDir(mode: Mode, env: NodeJS.ProcessEnv): string {
  if (mode === 'system') return '/etc/systemd/system';
  return join(env.XDG_CONFIG_HOME || join(homeOf(env), '.config'), 'systemd', 'user');
}

function writeUnit(dir: string, unit: UnitFile): string {
  const target = join(dir, unit.name);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, unit.text, { mode: 0o644 });
    chmodSync(tmp, 0o644); // the umask must not make a unit unreadable to systemd
    renameSync(tmp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new AadbtError(`service install: cannot write ${target} (${code})`, {
      code: 'SERVICE_INSTALL_FAILED',
      hint: code === 'EACCES' || code === 'EPERM' ? (dir === '/etc/systemd/system' ? 'run it as root (sudo) for --system' : 'check the directory\'s permissions') : 'check the path',
    });
  }
  return target;
}

function runSystemctl(args: string[], env: NodeJS.ProcessEnv, written: string[], next: string): void {
  const result = spawnSync('systemctl', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const wrote = `the units were written (${written.join(', ')}) but not enabled`;
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AadbtError(missing ? `service install: systemctl is not on PATH; ${wrote}` : `service install: cannot run systemctl (${result.error.message}); ${wrote}`, {
      code: 'SYSTEMCTL_UNAVAILABLE',
      hint: missing ? `this machine does not run systemd; on one that does, run: ${next}` : `run it yourself: ${next}`,
    });
  }
  if (result.status !== 0) {
    const said = (result.stderr || result.stdout).trim().split('\n')[0] ?? '';
    throw new AadbtError(`service install: \`systemctl ${args.join(' ')}\` failed (exit ${result.status ?? result.signal})${said ? `: ${said}` : ''}; ${wrote}`, {
      code: 'SYSTEMCTL_FAILED',
      hint: args[0] === '--user' ? `in a login session of this user (not su/sudo), run: ${next}` : `fix what systemctl said, then run: ${next}`,
    });
  }
}

/** One word of an Exec= line: specifiers and variables escaped, quoted when it holds spaces or quotes. */
function execArgument(path: string): string {
  const escaped = escapeSpecifiers(path).replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** systemd expands %x in unit values; a literal % is written %%. */
function escapeSpecifiers(text: string): string {
  return text.replace(/%/g, '%%');
}
