// Hostile input for the property tests of test/props/: the real fixtures, and fast-check
// arbitraries that mutate them the ways logs get broken in the field (cut at a byte, lines lost,
// repeated, swapped, bytes flipped, junk or huge lines inserted), plus plain random text.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { ParseError } from '../../src/errors.js';
import { ROOT } from './workloads.js';

/** Every recorded tracer/sampler log under test/fixtures/ (not scripts, notes or C sources). */
export function fixtureLogs(): string[] {
  const found: string[] = [];
  const walk = (directory: string): void => {
    for (const name of readdirSync(directory)) {
      const path = `${directory}/${name}`;
      if (statSync(path).isDirectory()) {
        if (name !== 'golden') walk(path);
      } else if (/\.(txt|ndjson|jsonl|log|folded)$/.test(name) && !/^(README|macos-ps)/.test(name) && !directory.endsWith('/symbols')) {
        found.push(path);
      }
    }
  };
  walk(`${ROOT}test/fixtures`);
  return found.sort();
}

/** One way to break a log, applied to its bytes. */
export type Mutation =
  | { kind: 'cut'; at: number }
  | { kind: 'drop'; line: number }
  | { kind: 'duplicate'; line: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'insert'; line: number; text: string }
  | { kind: 'huge'; line: number; length: number; char: string }
  | { kind: 'crlf' };

/** Positions are fractions of the file (0..1), so one arbitrary serves every fixture's length. */
const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: position }),
  fc.record({ kind: fc.constant('drop' as const), line: position }),
  fc.record({ kind: fc.constant('duplicate' as const), line: position }),
  fc.record({ kind: fc.constant('swap' as const), a: position, b: position }),
  fc.record({ kind: fc.constant('flip' as const), at: position, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    line: position,
    text: fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), junkLineArbitrary()),
  }),
  fc.record({
    kind: fc.constant('huge' as const),
    line: position,
    length: fc.integer({ min: 70_000, max: 300_000 }),
    char: fc.constantFrom('a', '9', ' ', '{', '"', ';', '\t', 'é'),
  }),
  fc.record({ kind: fc.constant('crlf' as const) }),
);

/** Lines that look almost like the real thing: the shapes the parsers dispatch on, with bad values. */
export function junkLineArbitrary(): fc.Arbitrary<string> {
  const number = fc.oneof(fc.integer().map(String), fc.constantFrom('-1', '1e999', 'NaN', '0x', '18446744073709551616', '', '٣'));
  return fc.oneof(
    number.map((n) => `@bytes[${n}]: ${n}`),
    number.map((n) => `{"type": "map", "data": {"@x": ${n}}}`),
    number.map((n) => `{"type": "hist", "data": {"@h": [{"min": ${n}, "max": ${n}, "count": ${n}}]}}`),
    fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '{"type": "printf"}',
      '{"type": "attached_probes", "data": {}}',
      'null',
      '"x"',
      '@',
      '@x[',
      ']: 3',
      '[4, 8)',
      '    ',
      '\t\t',
    ),
    fc.tuple(number, number).map(([a, b]) => `memtrace:begin ${a} ${b}`),
    fc.tuple(number, number).map(([a, b]) => `A\t${a}\t${b}\t0x${b}`),
    number.map((n) => `        0x${n}`),
    number.map((n) => `  libc.so.6\`malloc+0x${n}`),
    number.map((n) => `a;b;c ${n}`),
    number.map((n) => `{"ts": ${n}, "rss": ${n}}`),
  );
}

/** Applies the mutations in order. Works on bytes, so a flip or a cut can split a UTF-8 sequence. */
export function mutate(original: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = original;
  for (const mutation of mutations) bytes = applyMutation(bytes, mutation);
  return bytes;
}

function applyMutation(bytes: Buffer, mutation: Mutation): Buffer {
  const lines = (): Buffer[] => splitLines(bytes);
  const pick = (items: readonly unknown[], at: number): number => Math.min(items.length - 1, Math.floor(at * items.length));
  switch (mutation.kind) {
    case 'cut':
      return bytes.subarray(0, Math.floor(mutation.at * bytes.length));
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      const index = Math.floor(mutation.at * copy.length);
      copy[index] = copy[index]! ^ mutation.xor;
      return copy;
    }
    case 'crlf':
      return Buffer.from(bytes.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    default:
      break;
  }
  const all = lines();
  if (all.length === 0) return bytes;
  switch (mutation.kind) {
    case 'drop':
      all.splice(pick(all, mutation.line), 1);
      break;
    case 'duplicate': {
      const index = pick(all, mutation.line);
      all.splice(index, 0, all[index]!);
      break;
    }
    case 'swap': {
      const a = pick(all, mutation.a);
      const b = pick(all, mutation.b);
      [all[a], all[b]] = [all[b]!, all[a]!];
      break;
    }
    case 'insert':
      all.splice(pick(all, mutation.line), 0, Buffer.from(`${mutation.text.replace(/\n/g, ' ')}\n`));
      break;
    case 'huge':
      all.splice(pick(all, mutation.line), 0, Buffer.from(`${mutation.char.repeat(mutation.length)}\n`));
      break;
  }
  return Buffer.concat(all);
}

/** Lines with their newlines kept (the last may lack one). */
function splitLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === 0x0a) {
      lines.push(bytes.subarray(start, index + 1));
      start = index + 1;
    }
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

export function readFixture(path: string): Buffer {
  return readFileSync(path);
}

/** A stream that swallows what a report writes (the property is about what escapes, not the text). */
export function sink(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/**
 * What the parser properties accept as failure: a ParseError whose message starts with the file's
 * path and a line number (`PATH:LINE: not valid FORMAT: …`). Returns a description of anything
 * else, or null when the error is acceptable.
 */
export function unexpectedFailure(error: unknown, path: string): string | null {
  if (!(error instanceof ParseError))
    return `not a ParseError: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}`;
  if (!error.message.startsWith(`${path}:${error.lineNumber}: `)) return `ParseError does not begin with ${path}:LINE: ${error.message}`;
  if (!Number.isInteger(error.lineNumber) || error.lineNumber < 1) return `ParseError line number ${error.lineNumber}`;
  return null;
}

/** Rejects when `promise` has not settled within `ms`: a hang fails the property instead of the run. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
