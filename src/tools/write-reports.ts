// Writes one profile in every format asked for: files by their extension, stdout by --format.
// Output paths were checked writable before tracing began (checkReportPaths), so a trace is not
// lost to a typo in -o.
import { access, constants, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { MALLOC_VALUE_TYPES, type MallocProfile, type MallocValueName } from '../model/malloc-profile.js';
import { formatFromPath, renderMalloc, type ReportFormat } from '../report/index.js';

export interface ReportRequest {
  /** null: standard output. */
  path: string | null;
  format: ReportFormat;
}

const FORMATS: ReportFormat[] = ['table', 'json', 'folded', 'svg', 'tsv'];

/** The --value option of every command that writes malloc reports (default allocBytes). */
export function parseValueName(text: string | null): MallocValueName {
  const value = text ?? 'allocBytes';
  if (!MALLOC_VALUE_TYPES.some((type) => type.name === value)) {
    throw new UsageError(`--value: expected one of ${MALLOC_VALUE_TYPES.map((type) => type.name).join(', ')}, got "${value}"`);
  }
  return value as MallocValueName;
}

export function reportRequests(paths: string[], stdoutFormat: string | null): ReportRequest[] {
  if (stdoutFormat !== null && !FORMATS.includes(stdoutFormat as ReportFormat)) {
    throw new UsageError(`--format: expected one of ${FORMATS.join(', ')}, got "${stdoutFormat}"`);
  }
  const format = stdoutFormat as ReportFormat | null;
  const requests: ReportRequest[] = paths.map((path) => (path === '-' ? { path: null, format: format ?? 'table' } : { path, format: formatOf(path) }));
  if (requests.length === 0 || (format !== null && !paths.includes('-'))) {
    requests.push({ path: null, format: format ?? 'table' });
  }
  return requests;
}

function formatOf(path: string): ReportFormat {
  try {
    return formatFromPath(path);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Fails early, before any tracing, when an output file could not be written. */
export async function checkReportPaths(paths: Array<string | null>): Promise<void> {
  for (const path of paths) {
    if (path === null) continue;
    const directory = dirname(resolve(path));
    try {
      await access(directory, constants.W_OK);
    } catch {
      throw new UsageError(`cannot write ${path}: directory ${directory} does not exist or is not writable`);
    }
  }
}

export async function writeReports(
  profile: MallocProfile,
  requests: ReportRequest[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  options: { value: MallocValueName; top: number },
): Promise<void> {
  for (const request of requests) {
    const text = renderMalloc(profile, request.format, { value: options.value, top: options.top });
    if (request.path === null) {
      await new Promise<void>((done, fail) => io.stdout.write(text, (error) => (error ? fail(error) : done())));
    } else {
      await writeFile(request.path, text);
      io.stderr.write(`memtrace: wrote ${request.path} (${request.format})\n`);
    }
  }
}
