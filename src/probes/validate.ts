// memtrace runs as root and generates tracer programs: every value that reaches a script passes
// through one of these functions first. Each accepts a strict grammar and throws UsageError naming
// the option and the grammar; nothing is escaped or quoted "to make it fit".
import { UsageError } from '../errors.js';

/** A positive integer within [min, max], from a number or a decimal string (no signs, no exponents). */
export function validateInteger(option: string, value: unknown, min: number, max: number): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,16}$/.test(text)) {
    throw new UsageError(`${option}: expected a whole number from ${min} to ${max}, got ${describe(value)}`);
  }
  const number = Number(text);
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`${option}: expected a whole number from ${min} to ${max}, got ${describe(value)}`);
  }
  return number;
}

/** A process id as the kernel hands them out (1 … 2^22). */
export function validatePid(value: unknown): number {
  return validateInteger('--pid', value, 1, 4_194_304);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** A byte size: `4096`, `4k`, `1.5MiB`; binary units. */
export function validateByteSize(option: string, value: unknown): number {
  const match = typeof value === 'string' ? /^([0-9]{1,15})(?:\.([0-9]{1,6}))?\s?([a-zA-Z]{0,3})$/.exec(value) : null;
  const unit = match ? SIZE_UNITS[match[3]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`${option}: expected a size in bytes such as 4096, 64k or 1.5MiB, got ${describe(value)}`);
  }
  const bytes = Math.round(Number(`${match[1]}.${match[2] ?? '0'}`) * unit);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${option}: size too large: ${describe(value)}`);
  return bytes;
}

/** A duration in seconds: `30`, `1.5`, `500ms`, `2m`. Returned in milliseconds. */
export function validateDurationMs(option: string, value: unknown): number {
  const match = typeof value === 'string' ? /^([0-9]{1,9})(?:\.([0-9]{1,3}))?(ms|s|m|h)?$/.exec(value) : null;
  if (!match) throw new UsageError(`${option}: expected a duration such as 30, 1.5s, 500ms or 2m, got ${describe(value)}`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[3] ?? 's']!;
  const ms = Math.round(Number(`${match[1]}.${match[2] ?? '0'}`) * scale);
  if (ms < 1) throw new UsageError(`${option}: duration must be at least 1 ms, got ${describe(value)}`);
  return ms;
}

// Paths that bpftrace reads inside a probe specification `uprobe:PATH:SYMBOL`. bpftrace's lexer
// ends the path at ':' and has no quoting for probe paths, so the grammar is deliberately narrow.
const PROBE_PATH = /^\/[A-Za-z0-9._+\-/]{1,4000}$/;

/** An absolute file path as it may appear in a uprobe specification. */
export function validateProbePath(option: string, value: unknown): string {
  if (typeof value !== 'string' || !PROBE_PATH.test(value) || value.split('/').includes('..')) {
    throw new UsageError(
      `${option}: expected an absolute path made of letters, digits and . _ + - / (no "..", spaces or colons), got ${describe(value)}`,
    );
  }
  return value;
}

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_.]{0,255}$/;

/** An ELF symbol name usable in a probe specification (C identifiers, plus '.' as in `foo.cold`). */
export function validateSymbol(option: string, value: unknown): string {
  if (typeof value !== 'string' || !SYMBOL.test(value)) {
    throw new UsageError(
      `${option}: expected a symbol name of letters, digits, _ and . (starting with a letter or _), got ${describe(value)}`,
    );
  }
  return value;
}

/** A symbol prefix such as `je_` (may be empty). */
export function validateSymbolPrefix(option: string, value: unknown): string {
  if (value === '') return '';
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) {
    throw new UsageError(`${option}: expected a symbol prefix of letters, digits and _ (such as je_), got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return String(value);
}

/** --top: how many rows a report's tables show, 1 to 10,000 (10 when not given); the same for every tool and `memtrace report`. */
export function validateTop(text: string | null): number {
  return text === null ? 10 : validateInteger('--top', text, 1, 10_000);
}

/** --map-entries: the capacity of a program's address and stack maps (BPFTRACE_MAP_KEYS_MAX), 262,144 when not given. */
export function validateMapEntries(text: string | null): number {
  return text === null ? 262_144 : validateInteger('--map-entries', text, 1024, 16_777_216);
}
