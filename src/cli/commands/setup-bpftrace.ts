import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { hostDebianMirror } from '../../run/apt-sources.js';
import { DEFAULT_SUITE, setupPrivateBpftrace, type DebootstrapProgress } from '../../run/build-private-bpftrace.js';
import { DEFAULT_PRIVATE_ROOT, privateRootDirectory, shellQuote } from '../../run/private-bpftrace.js';
import { formatBytes, formatDuration } from '../../report/units.js';
import { parseCommandLine, stringOption, type Command, type CommandIo } from '../command.js';

export const SETUP_BPFTRACE_HELP = `Usage: memtrace setup-bpftrace [--dir DIR] [--suite NAME] [--include-dtrace] [--rebuild]

Installs a newer bpftrace for memtrace alone: a minimal Debian testing root
(debootstrap, from this machine's Debian mirror) holding bpftrace, and the
script DIR/bpftrace that runs it with that root's own libraries. Debian 12 has
bpftrace 0.17 and Debian 13 0.23; testing's (0.26 and later) unwinds stacks
with DWARF, so stacks through programs built without frame pointers are whole.
Every memtrace-bpf tool then uses it, before the bpftrace on PATH. Needs root
and the network; about 550 MiB and half a minute. A second run reuses it.
Remove it with rm -rf DIR.

  --dir DIR          where the root goes (default ${DEFAULT_PRIVATE_ROOT},
                     or $MEMTRACE_BPFTRACE_ROOT)
  --suite NAME       the Debian suite (default ${DEFAULT_SUITE})
  --mirror URL       the Debian mirror (default: the first Debian archive in
                     /etc/apt/sources.list(.d), else http://deb.debian.org/debian)
  --include-dtrace   add DTrace for Linux (the dtrace package) to the root,
                     and the script DIR/dtrace that memtrace-dtrace runs
  --rebuild          delete the root and build it again
  -h, --help         this help

Which bpftrace memtrace runs: --tracer-path, else $MEMTRACE_BPFTRACE, else
the private root's DIR/bpftrace, else bpftrace on PATH. Which dtrace: the
same with $MEMTRACE_DTRACE and DIR/dtrace, then PATH, then /usr/sbin/dtrace.

DTrace for Linux reads D libraries that name kernel symbols; a file this
kernel cannot resolve fails every program. DIR/dtrace reads a copy of the
root's D libraries (links, in DIR/.memtrace-dtrace-libdir) without the files
that fail here, found by trial; it also needs debugfs at /sys/kernel/debug,
which memtrace mounts when it is missing.
`;

export const setupBpftraceCommand: Command = {
  name: 'setup-bpftrace',
  summary: 'install a newer bpftrace (DWARF stacks) in a private Debian root memtrace uses',
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, {
      dir: { type: 'string' },
      suite: { type: 'string' },
      mirror: { type: 'string' },
      'include-dtrace': { type: 'boolean' },
      rebuild: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      verbose: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(SETUP_BPFTRACE_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (process.platform !== 'linux')
      throw new UsageError(`setup-bpftrace installs a Debian root for bpftrace on Linux, not on ${process.platform}`);
    const suite = stringOption(values, 'suite') ?? DEFAULT_SUITE;
    if (!/^[a-z][a-z0-9.-]*$/.test(suite))
      throw new UsageError(`--suite: expected a Debian suite name such as forky or sid, got "${suite}"`);
    const mirrorOption = stringOption(values, 'mirror');
    if (mirrorOption !== null && !/^(https?|ftp|file):\/\/\S+$/.test(mirrorOption))
      throw new UsageError(`--mirror: expected a URL such as http://deb.debian.org/debian, got "${mirrorOption}"`);
    const defaultDir = privateRootDirectory() ?? DEFAULT_PRIVATE_ROOT;
    const dir = resolve(stringOption(values, 'dir') ?? defaultDir);
    const mirror = mirrorOption ?? (await hostDebianMirror());

    const started = Date.now();
    const status = statusLine(io, started);
    let announced = false;
    let result;
    try {
      result = await setupPrivateBpftrace({
        dir,
        suite,
        mirror,
        includeDtrace: values['include-dtrace'] === true,
        rebuild: values.rebuild === true,
        notify: (message) => {
          status.clear();
          io.stderr.write(`${message}\n`);
        },
        progress: (progress) => {
          if (!announced) io.stderr.write(`memtrace: debootstrap of Debian ${suite} from ${mirror} into ${dir}\n`);
          announced = true;
          status.update(progress);
        },
      });
    } finally {
      status.clear();
    }
    const seconds = (Date.now() - started) / 1000;
    const found = privateRootDirectory() === result.dir;
    io.stdout.write(
      [
        `bpftrace ${result.version} ${result.reused ? 'already set up' : 'set up'} in ${result.dir}`,
        `  run it as:      ${result.wrapper}`,
        `  DWARF stacks:   ${result.dwarfStacks ? 'yes (dw_ustack: whole stacks through programs built without frame pointers)' : 'no (this bpftrace cannot unwind with DWARF)'}`,
        `  disk used:      ${formatBytes(result.diskBytes)}`,
        `  time taken:     ${formatDuration(seconds)}${result.reused ? ' (the existing root was reused; --rebuild builds it again)' : ''}`,
        found
          ? '  memtrace uses it from now on for every bpftrace tool (--tracer-path or $MEMTRACE_BPFTRACE choose another)'
          : `  memtrace uses it with MEMTRACE_BPFTRACE_ROOT=${shellQuote(result.dir)} set, or --tracer-path ${shellQuote(result.wrapper)}`,
        ...(result.dtrace === null
          ? []
          : [
              `dtrace (DTrace for Linux) ${result.dtrace.version} set up in ${result.dir}`,
              `  run it as:      ${result.dtrace.wrapper}`,
              `  D libraries:    ${result.dtrace.libdir}, the root's ${result.dtrace.leftOut.length === 0 ? 'all loaded (none fails on this kernel)' : `without ${result.dtrace.leftOut.join(', ')} (${result.dtrace.leftOut.length === 1 ? 'it names' : 'they name'} kernel symbols this kernel does not show)`}`,
              result.dtrace.lean === null
                ? "  memtrace's D:   the same (its dtrace did not run without the D library files)"
                : `  memtrace's D:   ${result.dtrace.lean.libdir}, no D library file (its programs use none; with them dtrace builds and frees the kernel's CTF, 2-7 s a run)`,
              found
                ? '  memtrace-dtrace uses it from now on (--tracer-path or $MEMTRACE_DTRACE choose another)'
                : `  memtrace-dtrace uses it with MEMTRACE_BPFTRACE_ROOT=${shellQuote(result.dir)} set, or --tracer-path ${shellQuote(result.dtrace.wrapper)}`,
            ]),
        `  remove it with: rm -rf ${shellQuote(result.dir)}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};

/**
 * The live line on the long step: packages retrieved, unpacked and configured, and the time. On a
 * terminal it is rewritten in place; otherwise one line is printed each time debootstrap's phase changes.
 */
function statusLine(io: CommandIo, started: number) {
  const terminal = io.stderr.isTTY === true;
  let lastPhase = '';
  let latest: DebootstrapProgress | null = null;
  const render = () => {
    if (latest === null) return;
    const elapsed = formatDuration((Date.now() - started) / 1000);
    const text = `memtrace: debootstrap ${elapsed}: ${latest.retrieved} packages retrieved, ${latest.unpacked} unpacked, ${latest.configured} configured (${latest.latest.slice(0, 40)})`;
    io.stderr.write(`\r\u001b[2K${text}`);
  };
  const timer = terminal ? setInterval(render, 1000) : null;
  timer?.unref();
  const line = {
    shown: false,
    update(progress: DebootstrapProgress) {
      latest = progress;
      if (terminal) {
        line.shown = true;
        render();
        return;
      }
      // Retrieving and Validating alternate package by package: one phase, downloading.
      const word = /^\w+/.exec(progress.latest)?.[0] ?? '';
      const phase = word === 'Validating' ? 'Retrieving' : word;
      if (['Retrieving', 'Extracting', 'Unpacking', 'Configuring', 'Base'].includes(phase) && phase !== lastPhase) {
        lastPhase = phase;
        line.shown = true;
        io.stderr.write(
          `memtrace: debootstrap ${formatDuration((Date.now() - started) / 1000)}: ${progress.retrieved} packages retrieved, ${progress.unpacked} unpacked, ${progress.configured} configured (${progress.latest})\n`,
        );
      }
    },
    clear() {
      if (timer !== null) clearInterval(timer);
      if (terminal && line.shown) io.stderr.write('\r\u001b[2K');
    },
  };
  return line;
}
