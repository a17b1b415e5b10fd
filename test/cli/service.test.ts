// `aadbt service install|print` writes systemd units that systemd accepts and that start a working agent; `aadbt agent --check`.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeSocket } from '../../src/agent/socket-listener.js';
import { AGENT_NODE_FLAGS } from '../../src/cli/agent-node-flags.js';
import { BIN, environmentYaml, isolatedEnv, runCli, startProvider, tempDir, type TempDir } from '../support/harness.js';

const UNITS = {
  user: ['aadbt.socket', 'aadbt.service'],
  system: ['aadbt@.socket', 'aadbt@.service'],
} as const;

/** Every value of `Key=` in a unit file, in order. */
function values(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

function read(dir: string, name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

/** Why systemd-analyze cannot verify here, or undefined when it can (a known-good unit passes, a known-bad one is flagged). */
function systemdAnalyzeUnavailable(dir: TempDir): string | undefined {
  const version = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (version.error) return 'systemd-analyze is not on PATH';
  const probe = join(dir.path, 'probe');
  mkdirSync(probe, { recursive: true });
  writeFileSync(join(probe, 'good.service'), '[Service]\nExecStart=/bin/true\n');
  writeFileSync(join(probe, 'bad.service'), '[Service]\nExecStart=/bin/true\nNoSuchSetting=1\n');
  const good = verify(dir, 'system', probe, ['good.service']);
  if (good.code !== 0 || good.stderr.trim()) return `systemd-analyze verify cannot run in this container: ${good.stderr.trim().split('\n')[0]}`;
  const bad = verify(dir, 'system', probe, ['bad.service']);
  if (!/NoSuchSetting/.test(bad.stderr)) return 'systemd-analyze verify does not report unknown settings here';
  return undefined;
}

function verify(dir: TempDir, mode: 'user' | 'system', unitDir: string, names: readonly string[]): { code: number | null; stderr: string } {
  // A user manager needs a runtime directory even to load units offline.
  const runtime = join(dir.path, 'verify-runtime');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const result = spawnSync('systemd-analyze', ['verify', ...(mode === 'user' ? ['--user'] : []), '--man=no', ...names.map((n) => `./${n}`)], {
    cwd: unitDir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' },
  });
  return { code: result.status, stderr: result.stderr };
}

test('service install --user --dir: both units, with this node and this CLI, no placeholder left', async () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'units');
    const result = await runCli(['service', 'install', '--user', '--dir', out], isolatedEnv(dir, { HOME: join(dir.path, 'home'), XDG_CONFIG_HOME: '' }));
    assert.is(result.code, 0, result.stderr);
    for (const name of UNITS.user) {
      assert.ok(result.stdout.includes(`wrote ${join(out, name)}`), result.stdout);
      const text = read(out, name);
      assert.not.match(text, /@[A-Z_]+@/, `${name} still has a placeholder`);
      assert.is(statSync(join(out, name)).mode & 0o777, 0o644, name);
    }
    const socket = read(out, 'aadbt.socket');
    assert.equal(values(socket, 'ListenStream'), ['%t/aadbt/agent.sock']);
    assert.equal([values(socket, 'SocketMode'), values(socket, 'DirectoryMode'), values(socket, 'Accept')], [['0600'], ['0700'], ['no']]);
    const service = read(out, 'aadbt.service');
    assert.equal(values(service, 'ExecStart'), [`${process.execPath} ${AGENT_NODE_FLAGS.join(' ')} ${BIN} agent --foreground`]);
    assert.equal(values(service, 'Restart'), ['on-failure']);
    assert.equal(values(service, 'MemoryDenyWriteExecute'), ['no']);
    assert.equal(values(service, 'ReadWritePaths'), ['%h/.local/share/aadbt %t/aadbt', '-%h/.azure']);
    for (const key of ['NoNewPrivileges', 'PrivateTmp', 'LockPersonality', 'RestrictRealtime']) assert.equal(values(service, key), ['yes'], key);
    assert.equal(values(service, 'ProtectSystem'), ['strict']);
    assert.equal(values(service, 'ProtectHome'), ['read-only']);
    assert.equal(values(service, 'RestrictAddressFamilies'), ['AF_UNIX AF_INET AF_INET6']);
    // --dir is for packagers: it must not touch the invoking user's home.
    assert.not.ok(existsSync(join(dir.path, 'home')));
  } finally {
    dir.remove();
  }
});

test('service install --system --dir: the runner template, group-readable socket, runs as the instance account', async () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'units');
    const result = await runCli(['service', 'install', '--system', '--dir', out], isolatedEnv(dir));
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stdout, /group aadbt-RUNNER/);
    for (const name of UNITS.system) assert.not.match(read(out, name), /@[A-Z_]+@/, name);
    const socket = read(out, 'aadbt@.socket');
    assert.equal(values(socket, 'ListenStream'), ['/run/aadbt/%i/agent.sock']);
    assert.equal([values(socket, 'SocketUser'), values(socket, 'SocketGroup'), values(socket, 'SocketMode'), values(socket, 'DirectoryMode')],
      [['%i'], ['aadbt-%i'], ['0660'], ['0750']]);
    const service = read(out, 'aadbt@.service');
    assert.equal(values(service, 'User'), ['%i']);
    assert.equal(values(service, 'ExecStart'), [`${process.execPath} ${AGENT_NODE_FLAGS.join(' ')} ${BIN} agent --foreground`]);
    assert.ok(values(service, 'Environment').includes('AADBT_SOCKET=/run/aadbt/%i/agent.sock'));
  } finally {
    dir.remove();
  }
});

test('systemd-analyze verify accepts the generated user units and the system template', async () => {
  const dir = tempDir();
  try {
    const why = systemdAnalyzeUnavailable(dir);
    if (why) {
      console.log(`  skipped: ${why}`);
      return;
    }
    const cases = [
      { mode: 'user', names: [...UNITS.user] },
      // A template is verified through an instance, as systemd would load it.
      { mode: 'system', names: ['aadbt@ci-runner.socket', 'aadbt@ci-runner.service'] },
    ] as const;
    for (const c of cases) {
      const out = join(dir.path, c.mode);
      const installed = await runCli(['service', 'install', `--${c.mode}`, '--dir', out], isolatedEnv(dir));
      assert.is(installed.code, 0, installed.stderr);
      const result = verify(dir, c.mode, out, c.names);
      assert.is(result.code, 0, `${c.mode}: ${result.stderr}`);
      // verify exits 0 even for unknown or misspelt settings; it only warns.
      assert.is(result.stderr.trim(), '', `${c.mode}: ${result.stderr}`);
    }
  } finally {
    dir.remove();
  }
});

test('the user unit\'s ExecStart and Environment run a socket-activated agent that serves tokens', async () => {
  if (spawnSync('systemd-socket-activate', ['--version']).error) {
    console.log('  skipped: systemd-socket-activate is not on PATH');
    return;
  }
  const dir = tempDir();
  const provider = await startProvider(dir);
  try {
    const out = join(dir.path, 'units');
    assert.is((await runCli(['service', 'install', '--user', '--dir', out], isolatedEnv(dir))).code, 0);
    const service = read(out, 'aadbt.service');
    const home = join(dir.path, 'home');
    const runtime = join(dir.path, 'run');
    const specifiers = (s: string) => s.replace(/%t/g, runtime).replace(/%h/g, home);
    // The unit's default config location: ~/.config/aadbt/config.yaml of the service's user.
    mkdirSync(join(home, '.config', 'aadbt'), { recursive: true });
    mkdirSync(join(home, '.local', 'share', 'aadbt'), { recursive: true });
    writeFileSync(join(home, '.config', 'aadbt', 'config.yaml'), `environments:\n${environmentYaml(provider, 'dev', 'activated-app')}\nagent: { status: { port: 0 } }\n`);
    const socketPath = join(runtime, 'aadbt', 'agent.sock');
    mkdirSync(join(runtime, 'aadbt'), { recursive: true, mode: 0o700 });
    const environment = values(service, 'Environment').map(specifiers);
    const command = values(service, 'ExecStart')[0].split(' ');
    const setenv = [...environment, `HOME=${home}`, `PATH=${process.env.PATH}`].flatMap((e) => ['-E', e]);
    const activator = spawn('systemd-socket-activate', ['-l', socketPath, ...setenv, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    activator.stdout!.on('data', (d) => { log += d; });
    activator.stderr!.on('data', (d) => { log += d; });
    const exited = new Promise<number | null>((resolve) => activator.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !(existsSync(socketPath) && await probeSocket(socketPath, 200)); i++) await new Promise((r) => setTimeout(r, 25)); // readiness poll
      const before = provider.idp.tokenRequests({ clientId: 'activated-app' });
      const client = { ...isolatedEnv(dir), AADBT_SOCKET: socketPath };
      const token = await runCli(['token', 'dev'], client);
      assert.is(token.code, 0, `${token.stderr}\n${log}`);
      assert.match(token.stdout, /^eyJ/);
      assert.is(provider.idp.tokenRequests({ clientId: 'activated-app' }), before + 1);
      assert.match(log, /socket activation/);
      // The audit DB went where the unit's sandbox lets the agent write.
      assert.ok(existsSync(join(home, '.local', 'share', 'aadbt', 'audit.db')));
    } finally {
      activator.kill('SIGTERM');
      await exited;
    }
  } finally {
    await provider.idp.close();
    dir.remove();
  }
});

test('service print: the units and where install would put them', async () => {
  const dir = tempDir();
  try {
    const env = isolatedEnv(dir, { HOME: join(dir.path, 'home'), XDG_CONFIG_HOME: '' });
    const cases = [
      { args: ['--user'], paths: UNITS.user.map((n) => join(dir.path, 'home', '.config', 'systemd', 'user', n)) },
      { args: ['--system'], paths: UNITS.system.map((n) => join('/etc/systemd/system', n)) },
    ];
    for (const c of cases) {
      const result = await runCli(['service', 'print', ...c.args], env);
      assert.is(result.code, 0, result.stderr);
      for (const p of c.paths) assert.ok(result.stdout.includes(`# ${p}\n`), result.stdout);
      assert.ok(result.stdout.includes(`ExecStart=${process.execPath} ${AGENT_NODE_FLAGS.join(' ')} ${BIN} agent --foreground`));
      assert.not.match(result.stdout, /@[A-Z_]+@/);
    }
  } finally {
    dir.remove();
  }
});

/** A directory holding a `systemctl` that logs its arguments and answers as told (systemd itself cannot run here). */
function fakeSystemctl(dir: TempDir, exitCode: number, stderr = ''): { bin: string; calls(): string[] } {
  const bin = join(dir.path, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  const logFile = join(dir.path, 'systemctl.log');
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${logFile}'\n${stderr ? `echo '${stderr}' >&2\n` : ''}exit ${exitCode}\n`);
  chmodSync(join(bin, 'systemctl'), 0o755);
  return { bin, calls: () => existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [] };
}

test('service install --user --enable: writes into ~/.config/systemd/user, then daemon-reload and enable --now the socket', async () => {
  const dir = tempDir();
  try {
    const home = join(dir.path, 'home');
    const systemctl = fakeSystemctl(dir, 0);
    const env = isolatedEnv(dir, { HOME: home, XDG_CONFIG_HOME: '', PATH: `${systemctl.bin}:/usr/bin:/bin` });
    const result = await runCli(['service', 'install', '--user', '--enable'], env);
    assert.is(result.code, 0, result.stderr);
    for (const name of UNITS.user) assert.ok(existsSync(join(home, '.config', 'systemd', 'user', name)), name);
    assert.equal(systemctl.calls(), ['--user daemon-reload', '--user enable --now aadbt.socket']);
    assert.match(result.stdout, /enabled aadbt\.socket/);
    // The sandbox can only make an existing data directory writable.
    assert.is(statSync(join(home, '.local', 'share', 'aadbt')).mode & 0o777, 0o700);
  } finally {
    dir.remove();
  }
});

test('service install --enable: a clear failure when systemctl is missing or fails, with the units still written', async () => {
  const cases = [
    { what: 'no systemctl', systemctl: undefined, expect: /systemctl is not on PATH; the units were written \(.*aadbt\.socket.*\) but not enabled\n  → this machine does not run systemd; on one that does, run: systemctl --user daemon-reload && systemctl --user enable --now aadbt\.socket/ },
    { what: 'no user bus', systemctl: { code: 1, stderr: 'Failed to connect to bus: No medium found' }, expect: /`systemctl --user daemon-reload` failed \(exit 1\): Failed to connect to bus: No medium found; the units were written .* but not enabled\n  → in a login session of this user/ },
  ];
  for (const c of cases) {
    const dir = tempDir();
    try {
      const home = join(dir.path, 'home');
      const bin = c.systemctl ? fakeSystemctl(dir, c.systemctl.code, c.systemctl.stderr).bin : join(dir.path, 'empty-bin');
      mkdirSync(bin, { recursive: true });
      const result = await runCli(['service', 'install', '--enable'], isolatedEnv(dir, { HOME: home, XDG_CONFIG_HOME: '', PATH: bin }));
      assert.is(result.code, 1, c.what);
      assert.match(result.stderr, c.expect, `${c.what}: ${result.stderr}`);
      for (const name of UNITS.user) assert.ok(existsSync(join(home, '.config', 'systemd', 'user', name)), `${c.what}: ${name}`);
    } finally {
      dir.remove();
    }
  }
});

test('service: usage errors say what to do', async () => {
  const dir = tempDir();
  try {
    const cases = [
      { args: ['service', 'install', '--user', '--system'], expect: /choose one of --user and --system/ },
      { args: ['service', 'install', '--enable', '--dir', dir.path], expect: /--enable cannot be combined with --dir/ },
      { args: ['service', 'install', '--system', '--enable'], expect: /--system --enable needs --account NAME/ },
      { args: ['service', 'install', '--account', 'runner'], expect: /--account only applies with --system/ },
      { args: ['service', 'install', '--system', '--account', '../etc'], expect: /--account '\.\.\/etc' is not a user name/ },
      { args: ['service', 'uninstall'], expect: /unknown service subcommand 'uninstall'/ },
    ];
    for (const c of cases) {
      const result = await runCli(c.args, isolatedEnv(dir, { HOME: join(dir.path, 'home') }));
      assert.is(result.code, 1, c.args.join(' '));
      assert.match(result.stderr, c.expect, result.stderr);
      assert.match(result.stderr, /\n  → /, 'each error names the fix');
    }
    assert.not.ok(existsSync(join(dir.path, 'home')), 'nothing is written on a usage error');
  } finally {
    dir.remove();
  }
});

test('agent --check: a good config exits 0 with a one-line summary, without contacting the provider', async () => {
  const dir = tempDir();
  const provider = await startProvider(dir);
  try {
    const config = dir.file('config.yaml', `default: dev\nenvironments:\n${environmentYaml(provider, 'dev', 'check-app')}\n${environmentYaml(provider, 'prod', 'check-prod-app')}\n`);
    const result = await runCli(['agent', '--check', '--log-level', 'warn'], isolatedEnv(dir));
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout, `${config}: ok, 2 environments (dev, prod), default dev; socket ${join(dir.path, 'run', 'agent.sock')}; audit ${join(dir.path, 'data', 'audit.db')}\n`);
    assert.is(provider.idp.tokenRequests(), 0);
    assert.not.ok(existsSync(join(dir.path, 'data')), '--check creates no audit DB');
    assert.not.ok(existsSync(join(dir.path, 'run')), '--check opens no socket');
  } finally {
    await provider.idp.close();
    dir.remove();
  }
});

test('agent --check: a bad config exits 1 naming the file and the path of each problem', async () => {
  const dir = tempDir();
  const provider = await startProvider(dir);
  try {
    const good = environmentYaml(provider, 'dev', 'check-app');
    const cases = [
      { what: 'schema', yaml: good.replace('type: client-secret', 'type: client-sekret'), expect: /config\.yaml:\d+: environments\.dev\.credential\.type: / },
      { what: 'missing secret file', yaml: good.replace(/secretFile: \S+ }/, `secretFile: ${join(dir.path, 'nope.secret')} }`), expect: /config\.yaml: environments\.dev\.credential\.secretFile: cannot read .*nope\.secret \(ENOENT\)/ },
      { what: 'unreadable CA', yaml: good.replace(/authorityCaFile: .*/, `authorityCaFile: ${join(dir.path, 'nope.pem')}`), expect: /config\.yaml: environments\.dev: cannot read authorityCaFile .*nope\.pem → point it at a readable PEM file/ },
      { what: 'dev credential without --dev', yaml: '  dev:\n    credential: { type: dev }\n    tokens: { DBT_ENV_SECRET_FABRIC_TOKEN: "https://database.windows.net/.default" }', expect: /config\.yaml: environments\.dev: credential type 'dev' needs the embedded identity provider → run the agent with --dev/ },
    ];
    for (const c of cases) {
      const config = dir.file('config.yaml', `environments:\n${c.yaml}\n`);
      const result = await runCli(['agent', '--check'], isolatedEnv(dir));
      assert.is(result.code, 1, `${c.what}: ${result.stdout}`);
      assert.ok(result.stderr.startsWith(`aadbt: ${config}: `), `${c.what}: ${result.stderr}`);
      assert.match(result.stderr, c.expect, `${c.what}: ${result.stderr}`);
      assert.is(result.stdout, '', c.what);
    }
    assert.is(provider.idp.tokenRequests(), 0);
  } finally {
    await provider.idp.close();
    dir.remove();
  }
});

test('agent --log-level takes debug, info, warn or error only', async () => {
  const dir = tempDir();
  try {
    for (const mode of [['--check'], ['--foreground'], []]) {
      const result = await runCli(['agent', ...mode, '--log-level', 'verbose'], isolatedEnv(dir));
      assert.is(result.code, 1, mode.join(' '));
      assert.is(result.stderr, "aadbt: --log-level 'verbose' is not a level\n  → use one of debug, info, warn, error\n");
    }
    const ok = await runCli(['agent', '--check', '--dev', '--log-level', 'debug'], isolatedEnv(dir, { AADBT_CONFIG: '' }));
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^the demo config \(--dev\): ok, 3 environments \(dev, ci, prod\), default dev; /);
  } finally {
    dir.remove();
  }
});

test.run();
