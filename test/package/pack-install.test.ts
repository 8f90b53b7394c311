// The npm package as a user gets it: `npm pack` on a fresh copy of the sources (no dist/: prepack
// must build it), then `npm install -g` of the tarball into a prefix laid out as a version manager
// lays out its node (nvm: ~/.nvm/versions/node/vX/bin holds node, npm's global bins beside it).
// Each bin runs from there; the tarball holds no tests. Then, as root with sudo's PATH (its
// secure_path, which has no node), the naive commands fail as docs/install.md says and the
// documented ones work. The fake sudo of test/fixtures/sudo/fake stands in for sudo: only its PATH
// reset matters here. Takes 13 to 23 s on 2 cores (pack with its build 7 to 10 s, install 4 to 8 s).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { asUnprivileged, installFakeSudo, readableTemporaryDirectory } from '../helpers/fake-sudo.js';
import { ROOT } from '../helpers/workloads.js';

const BINS = ['memtrace', 'memtrace-bpf', 'memtrace-dtrace'];
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;

const scratch = readableTemporaryDirectory('memtrace-pack-');
/** Where a version manager keeps this node: its bin/ is on the user's PATH only. */
const NODE_HOME = join(scratch, 'home/.nvm/versions/node', `v${process.versions.node}`);
const NODE_BIN = join(NODE_HOME, 'bin');
/** sudo's secure_path on a machine whose only node is the version manager's: /usr/bin without node. */
const SECURE_PATH = join(scratch, 'secure-bin');
/** The user's PATH: the version manager's node first, then the system's. */
const USER_PATH = `${NODE_BIN}:${SECURE_PATH}`;

/** What a node installation puts in its bin/ directory. */
const NODE_COMMANDS = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

let tarball = '';

/** The files a fresh clone of the sources has (tracked ones, and new ones not ignored), copied to `to`. */
function copySources(to: string) {
  const files = execFileSync('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    encoding: 'utf8',
  }).split('\0');
  for (const file of files) {
    if (file === '' || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(ROOT, file), join(to, file), { verbatimSymlinks: true });
  }
  // The dependencies npm ci installed; prepack's build needs typescript.
  symlinkSync(realpathSync(`${ROOT}node_modules`), join(to, 'node_modules'));
}

test.before(async () => {
  const sources = join(scratch, 'sources');
  copySources(sources);
  await execa('npm', ['pack', '--pack-destination', scratch], { cwd: sources });
  tarball = join(
    scratch,
    readdirSync(scratch).find((name) => name.endsWith('.tgz'))!,
  );

  mkdirSync(NODE_BIN, { recursive: true });
  symlinkSync(process.execPath, join(NODE_BIN, 'node'));
  mkdirSync(SECURE_PATH);
  for (const name of readdirSync('/usr/bin')) {
    if (!NODE_COMMANDS.has(name)) symlinkSync(join('/usr/bin', name), join(SECURE_PATH, name));
  }
  // The npm cache that npm ci filled serves the dependencies; the registry only what it lacks.
  // node-pty (the terminal launch) builds with node-gyp: its install script runs only when allowed.
  await execa(
    'npm',
    ['install', '--global', '--prefix', NODE_HOME, '--prefer-offline', '--no-audit', '--no-fund', '--allow-scripts=node-pty', tarball],
    {
      env: { PATH: `${NODE_BIN}:${process.env.PATH ?? ''}` },
    },
  );
});

test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, args: string[], options: { cwd?: string } = {}) {
  return execa(command, args, { reject: false, env: { PATH: USER_PATH }, extendEnv: false, timeout: 60_000, ...options });
}

test('the tarball holds the built program, the bins and the scripts/ programs, and no tests, fixtures, benchmarks or sources', (t) => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((entry) => entry.replace(/^package\//, ''));
  for (const expected of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/cli/main.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/node/preload/heap-stats.cjs',
    'scripts/bpf/malloc.bt',
    'scripts/dtrace/malloc.d',
    'docs/install.md',
    ...BINS.map((bin) => `bin/${bin}.js`),
  ]) {
    t.true(files.includes(expected), `${expected} is missing from the tarball`);
  }
  const unwanted = files.filter((file) => /^(test|bench|src|\.ci)\/|fixtures|\.map$|^scripts\/(demo\.js|as-root)$|^tsconfig/.test(file));
  t.deepEqual(unwanted, []);
});

for (const bin of BINS) {
  test(`${bin} runs from the install: --help and --version`, async (t) => {
    const help = await run(bin, ['--help']);
    t.is(help.exitCode, 0, help.stderr);
    t.regex(help.stdout, new RegExp(`^Usage: ${bin} COMMAND`));
    const version = await run(bin, ['--version']);
    t.is(version.stdout, `memtrace ${VERSION}`);
  });
}

test('memtrace-bpf scripts and memtrace-dtrace scripts print the programs packaged under scripts/', async (t) => {
  const packaged = join(NODE_HOME, 'lib/node_modules/memtrace/scripts');
  for (const [bin, tool, file] of [
    ['memtrace-bpf', 'malloc', 'bpf/malloc.bt'],
    ['memtrace-bpf', 'gc', 'bpf/gc.bt'],
    ['memtrace-dtrace', 'malloc', 'dtrace/malloc.d'],
  ] as const) {
    const result = await run(bin, ['scripts', tool]);
    t.is(result.exitCode, 0, result.stderr);
    t.is(`${result.stdout}\n`, readFileSync(join(packaged, file), 'utf8'), file);
  }
});

test('memtrace report renders a folded-stacks file', async (t) => {
  const folded = join(scratch, 'grow.folded');
  writeFileSync(folded, 'main;grow;malloc 4096\nmain;keep 23\n');
  const result = await run('memtrace', ['report', folded]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /^Total: 4,119 samples in 2 stacks$/m);
  t.regex(result.stdout, /^ {2}4,096 {3}99\.4% {2}malloc ← grow ← main$/m);
});

test('memtrace heap-stats runs a node program with its packaged preload module', async (t) => {
  const result = await run('memtrace', [
    'heap-stats',
    '-f',
    'json',
    '--',
    'node',
    '-e',
    'globalThis.kept = Array.from({ length: 200000 }, (_, i) => ({ i }))',
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.truthy((JSON.parse(result.stdout) as { differences?: unknown[] }).differences, result.stdout);
});

test('the library imports by its package name, and node-pty (the terminal launch) loads', async (t) => {
  const script =
    "import { createRequire } from 'node:module'; const m = await import('memtrace'); createRequire(import.meta.resolve('memtrace'))('node-pty'); console.log(Object.keys(m).sort().join(' '))";
  const result = await run('node', ['--input-type=module', '-e', script], { cwd: join(NODE_HOME, 'lib') });
  t.is(result.exitCode, 0, result.stderr);
  t.is(result.stdout, 'ProcessSampler gcLogToSeries gcMarks heapStats traceMalloc');
});

// Root with a version manager's node (docs/install.md): sudo runs commands with its secure_path,
// which has neither the version manager's bin directory nor, here, any node. Each line is run as
// docs/install.md writes it, by a shell whose PATH is the user's.
const sudoBin = installFakeSudo(scratch);

function runLine(line: string, unprivileged = false) {
  const [command, args] = unprivileged ? asUnprivileged('/bin/sh', ['-c', line]) : ['/bin/sh', ['-c', line]];
  return execa(command, args, {
    reject: false,
    cwd: join(scratch, 'sources'),
    env: { PATH: `${sudoBin}:${USER_PATH}`, FAKE_SUDO_SECURE_PATH: SECURE_PATH },
    extendEnv: false,
    timeout: 60_000,
  });
}

test('version manager, as root: "sudo memtrace-bpf" is not found on sudo\'s PATH', async (t) => {
  const result = await runLine('sudo memtrace-bpf --version');
  t.is(result.exitCode, 1);
  t.is(result.stderr, 'sudo: memtrace-bpf: command not found');
});

test('version manager, as root: the bin by its full path finds no node (its #! line is /usr/bin/env node)', async (t) => {
  const result = await runLine('sudo "$(command -v memtrace-bpf)" --version');
  t.is(result.exitCode, 127);
  t.regex(result.stderr, /^\/usr\/bin\/env: .node.: No such file or directory$/);
});

for (const line of ['sudo env "PATH=$PATH" memtrace-bpf --version', 'sudo "$(command -v node)" "$(command -v memtrace-bpf)" --version']) {
  test(`version manager, as root: ${line}`, async (t) => {
    const result = await runLine(line);
    t.is(result.exitCode, 0, result.stderr);
    t.is(result.stdout, `memtrace ${VERSION}`);
  });
}

test('version manager, a user with sudo: sh scripts/as-root memtrace-bpf', async (t) => {
  const result = await runLine('sh scripts/as-root memtrace-bpf --version', true);
  t.is(result.exitCode, 0, result.stderr);
  t.is(result.stdout, `memtrace ${VERSION}`);
});
