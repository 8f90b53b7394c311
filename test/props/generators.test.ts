// Hostile values for the script generators, through the tracing commands' own option parsing
// (`memtrace malloc --print-script …`, in process): every user-controlled value (PID, sizes,
// depths, durations, library path, symbol prefix, allocator, map capacity, --func LIB:GLOB…) is
// an arbitrary string. The property: the command either refuses it with a UsageError naming the
// option, or prints a script that passes checkScript() below (balanced braces, quotes and
// parentheses; probe lines of the probe grammar; no control character) in which the accepted value
// reads back as given, in its canonical form (a size in bytes, a depth as a number).
//
// Replay a failure: fast-check prints `seed` and `path`; put them in the assert's parameters,
// e.g. { seed: 1234, path: "5:2:1", endOnFailure: true }, and run `npx ava test/props/generators.test.ts`.
import { Writable } from 'node:stream';
import test from 'ava';
import fc from 'fast-check';
import { MemtraceError } from '../../src/errors.js';
import type { Command, CommandIo } from '../../src/cli/command.js';
import { callsCommand } from '../../src/cli/commands/calls.js';
import { faultsCommand } from '../../src/cli/commands/faults.js';
import { mallocCommand } from '../../src/cli/commands/malloc.js';
import { validateByteSize } from '../../src/probes/validate.js';

const PID = String(process.pid);
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';

/** Runs a command in process; the script it printed, or the error it threw. */
async function printScript(command: Command, argv: string[]): Promise<{ script: string } | { error: unknown }> {
  let script = '';
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      script += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const stderr = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;
  const io = { backend: 'bpf', stdout, stderr } as CommandIo;
  try {
    await command.run([...argv, '--print-script'], io);
    return { script };
  } catch (error) {
    return { error };
  }
}

// A bpftrace probe line: comma-separated probes from the shapes memtrace generates, then nothing.
const PROBE = String.raw`(?:BEGIN|END|interval:(?:s|ms):\d+|u(?:ret)?probe:\/[A-Za-z0-9._+\-\/]+:[A-Za-z_][A-Za-z0-9_.*]*|usdt:\/[A-Za-z0-9._+\-\/]+:[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_*]*|tracepoint:[a-z0-9_]+:[a-z0-9_]+|kprobe:[A-Za-z0-9_.]+|kretprobe:[A-Za-z0-9_.]+|software:[a-z-]+:\d+|profile:hz:\d+)`;
const PROBE_LINE = new RegExp(`^${PROBE}(?:,\\s*${PROBE})*$`);

/** Problems of a generated bpftrace program's text, [] when it is well formed. */
export function checkScript(script: string): string[] {
  const problems: string[] = [];
  if (/[\0\r\x1b]/.test(script)) problems.push('a control character');
  let braces = 0;
  for (const [index, rawLine] of script.split('\n').entries()) {
    // Comments and string literals may hold anything but an unbalanced quote.
    const line = rawLine.replace(/\/\/.*$/, '');
    const quotes = (line.replace(/\\./g, '').match(/"/g) ?? []).length;
    if (quotes % 2 !== 0) problems.push(`line ${index + 1}: unbalanced quotes: ${rawLine}`);
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const char of code) {
      if (char === '{') braces += 1;
      if (char === '}') braces -= 1;
    }
    if (braces < 0) {
      problems.push(`line ${index + 1}: "}" without "{"`);
      braces = 0;
    }
    const opens = (code.match(/\(/g) ?? []).length;
    const closes = (code.match(/\)/g) ?? []).length;
    if (opens !== closes && !code.trimEnd().endsWith('||') && !code.trimEnd().endsWith('&&'))
      problems.push(`line ${index + 1}: unbalanced parentheses: ${rawLine}`);
    // A probe header starts a line at column 0 with a probe type, and is followed by { or a /filter/.
    if (
      /^(?:BEGIN|END|u(?:ret)?probe|usdt|tracepoint|kprobe|kretprobe|interval|software|profile)\b/.test(code) &&
      !PROBE_LINE.test(code.trim())
    ) {
      problems.push(`line ${index + 1}: not a probe of the grammar: ${rawLine}`);
    }
  }
  if (braces !== 0) problems.push(`braces unbalanced by ${braces}`);
  return problems;
}

/** An arbitrary string, biased towards near-misses of the grammars: digits, units, paths, injections. */
function hostileValue(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const injection = fc.constantFrom(
    '\n}',
    '"',
    '/',
    ':',
    ' ',
    ';',
    '$(id)',
    '\0',
    '*',
    ',',
    '{',
    '..',
    '\\',
    '-1',
    '1e3',
    '0x10',
    '٣',
    '\u202e',
  );
  return fc.oneof(
    valid,
    fc.tuple(valid, injection, fc.string({ maxLength: 8 })).map(([a, b, c]) => a + b + c),
    fc.tuple(injection, valid).map(([a, b]) => a + b),
    fc.string({ unit: 'binary', maxLength: 24 }),
    fc.string({ maxLength: 24 }),
  );
}

const digits = fc.integer({ min: 0, max: 5_000_000 }).map(String);
const size = fc
  .tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom('', 'k', 'K', 'KiB', 'm', 'MB', 'g', 'b', '.5k', ' k'))
  .map(([n, unit]) => `${n}${unit}`);
const path = fc.constantFrom(
  LIBC,
  '/usr/bin/env',
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/nonexistent/libfoo.so',
  '/tmp',
  '/usr/lib/x86_64-linux-gnu/libstdc++.so.6',
);
const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);

interface OptionCase {
  command: Command;
  option: string;
  value: fc.Arbitrary<string>;
  /** Other options the case needs. */
  with?: string[];
  /** Checks an accepted value reads back out of the script; returns a problem or null. */
  readBack?: (script: string, value: string) => string | null;
}

const CASES: OptionCase[] = [
  {
    command: mallocCommand,
    option: '--pid',
    value: hostileValue(digits),
    readBack: (script, value) => (script.includes(`pid == ${Number(value)}`) ? null : `no "pid == ${Number(value)}"`),
  },
  {
    command: mallocCommand,
    option: '--min-size',
    value: hostileValue(size),
    with: ['-p', PID],
    readBack: (script, value) => sizeReadBack(script, '>=', value),
  },
  {
    command: mallocCommand,
    option: '--max-size',
    value: hostileValue(size),
    with: ['-p', PID],
    readBack: (script, value) => sizeReadBack(script, '<=', value),
  },
  {
    command: mallocCommand,
    option: '--stack-depth',
    value: hostileValue(digits),
    with: ['-p', PID],
    readBack: (script, value) => (script.includes(`$depth < ${Number(value)}`) ? null : `no "$depth < ${Number(value)}"`),
  },
  { command: mallocCommand, option: '--sample', value: hostileValue(digits), with: ['-p', PID] },
  { command: mallocCommand, option: '--map-entries', value: hostileValue(digits), with: ['-p', PID] },
  {
    command: mallocCommand,
    option: '--duration',
    value: hostileValue(fc.tuple(digits, fc.constantFrom('', 's', 'ms', 'm', 'h', '.5')).map(([n, unit]) => n + unit)),
    with: ['-p', PID],
  },
  {
    command: mallocCommand,
    option: '--allocator',
    value: hostileValue(fc.constantFrom('glibc', 'jemalloc', 'tcmalloc', 'mimalloc')),
    with: ['-p', PID],
  },
  {
    command: mallocCommand,
    option: '--lib',
    value: hostileValue(path),
    with: ['-p', PID],
    readBack: (script, value) =>
      script.split('\n').some((line) => line.startsWith(`uprobe:${value}:`)) ? null : `no "uprobe:${value}:" line`,
  },
  {
    command: mallocCommand,
    option: '--prefix',
    value: hostileValue(identifier),
    with: ['-p', PID, '--lib', LIBC],
    readBack: (script, value) => (script.includes(`:${value}malloc\n`) ? null : `no ":${value}malloc" probe`),
  },
  { command: faultsCommand, option: '--pid', value: hostileValue(digits) },
  { command: faultsCommand, option: '--stack-depth', value: hostileValue(digits), with: ['-p', PID] },
  { command: faultsCommand, option: '--map-entries', value: hostileValue(digits), with: ['-p', PID] },
  { command: callsCommand, option: '--trigger', value: hostileValue(size), with: ['-p', PID, '--func', `${LIBC}:malloc`] },
  {
    command: callsCommand,
    option: '--func',
    value: hostileValue(
      fc.tuple(path, fc.constantFrom('malloc', 'mall*', '*', 'str?cpy', '[ab]c', 'pthread_*')).map(([lib, glob]) => `${lib}:${glob}`),
    ),
    with: ['-p', PID],
  },
];

function sizeReadBack(script: string, operator: string, value: string): string | null {
  const bytes = validateByteSize('x', value);
  return script.includes(`$size ${operator} ${bytes}`) || bytes === 0 ? null : `no "$size ${operator} ${bytes}"`;
}

for (const [index, testCase] of CASES.entries()) {
  test(`${testCase.command.name} ${testCase.option}: a hostile value is refused naming the option, or reaches the script only in its grammar`, async (t) => {
    await t.notThrowsAsync(() =>
      fc.assert(
        fc.asyncProperty(testCase.value, async (value) => {
          const outcome = await printScript(testCase.command, [...(testCase.with ?? []), testCase.option, value]);
          if ('error' in outcome) {
            const error = outcome.error;
            if (!(error instanceof MemtraceError)) throw new Error(`not a MemtraceError: ${String(error)}`);
            // A refused value names its option, or the value itself (a library without the allocator,
            // the LIB of LIB:GLOB that is not a regular file), so the user sees what was wrong.
            const named = [testCase.option, value.trim(), value.split(':')[0]!.trim()].filter((part) => part !== '');
            if (!named.some((part) => error.message.includes(part))) {
              throw new Error(`${error.name} names neither ${testCase.option} nor the value: ${error.message}`);
            }
            return;
          }
          const problems = checkScript(outcome.script);
          if (problems.length > 0) throw new Error(`${JSON.stringify(value)}: ${problems.slice(0, 3).join('; ')}`);
          const readBack = testCase.readBack?.(outcome.script, value) ?? null;
          if (readBack !== null) throw new Error(`${JSON.stringify(value)} accepted but ${readBack}`);
        }),
        { seed: 0x67656e + index, numRuns: 20, includeErrorInReport: true },
      ),
    );
  });
}

test('checkScript finds an injected newline, an unbalanced quote and a foreign probe', (t) => {
  t.deepEqual(checkScript('BEGIN\n{\n  printf("x\\n");\n}\n'), []);
  t.deepEqual(checkScript('BEGIN\n{\n  printf("x);\n}\n'), ['line 3: unbalanced quotes:   printf("x);']);
  t.deepEqual(checkScript('uprobe:/lib/libc.so.6:malloc\n}\nsystem("id")\n{\n'), ['line 2: "}" without "{"', 'braces unbalanced by 1']);
  t.deepEqual(checkScript('uprobe:/lib/lib c.so:malloc\n{\n}\n'), ['line 1: not a probe of the grammar: uprobe:/lib/lib c.so:malloc']);
});
