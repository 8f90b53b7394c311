// Writes one profile in every format asked for: files by their extension, stdout by --format.
// Output paths were checked writable before tracing began (checkReportPaths), so a trace is not
// lost to a typo in -o. Files go through output-file.ts (no symlinks, owned by the sudo user,
// whole or absent).
import { OutputError, UsageError } from '../../errors.js';
import { checkOutputPath, describeOutputCause, writeOutputFile } from './output-file.js';
import { MALLOC_VALUE_TYPES, type MallocValueName } from '../../model/malloc-profile.js';
import { MALLOC_REPORTS, type ReportFormat } from '../../report/index.js';
import { formatByExtension, type ReportFamily } from '../../report/family.js';

/** A report asked for: a file, by its extension, or standard output (null), by -f. */
export interface ReportRequestOf<Format extends string> {
  path: string | null;
  format: Format;
}

/** A malloc report asked for. */
export type ReportRequest = ReportRequestOf<ReportFormat>;

/** The --value option of every command that writes malloc reports (default allocBytes). */
export function parseValueName(text: string | null): MallocValueName {
  const value = text ?? 'allocBytes';
  if (!MALLOC_VALUE_TYPES.some((type) => type.name === value)) {
    throw new UsageError(`--value: expected one of ${MALLOC_VALUE_TYPES.map((type) => type.name).join(', ')}, got "${value}"`);
  }
  return value as MallocValueName;
}

export function reportRequests(paths: string[], stdoutFormat: string | null): ReportRequest[] {
  return reportRequestsFor(paths, stdoutFormat, MALLOC_REPORTS);
}

/**
 * -o and -f of any report-writing command: each path gets the format of its extension ("-" is
 * stdout in the -f format); stdout gets a report too when nothing else was asked for, or when -f
 * was given without "-". Unknown extensions and formats are usage errors naming the choices.
 */
export function reportRequestsFor<F extends string>(
  paths: string[],
  stdoutFormat: string | null,
  table: { extensions: Readonly<Record<string, F>>; formats: readonly F[] },
): Array<ReportRequestOf<F>> {
  if (stdoutFormat !== null && !table.formats.includes(stdoutFormat as F)) {
    throw new UsageError(`--format: expected one of ${table.formats.join(', ')}, got "${stdoutFormat}"`);
  }
  const format = (stdoutFormat as F | null) ?? table.formats[0]!;
  const requests = paths.map((path) => {
    if (path === '-') return { path: null, format };
    const byExtension = formatByExtension(path, table.extensions);
    if (byExtension === undefined)
      throw new UsageError(
        `${path}: cannot tell the report format from the extension; use one of ${Object.keys(table.extensions).join(' ')}`,
      );
    return { path, format: byExtension };
  });
  if (requests.length === 0 || (stdoutFormat !== null && !paths.includes('-'))) requests.push({ path: null, format });
  return requests;
}

/** Fails early, before any tracing, when an output file could not be written (the same rules as the writing). */
export async function checkReportPaths(paths: Array<string | null>): Promise<void> {
  for (const path of paths) {
    if (path === null) continue;
    // A gnuplot report is a pair: STEM.dat is written beside STEM.plt.
    const gnuplot = /\.(plt|dat)$/i.test(path) ? [path.replace(/\.(plt|dat)$/i, '.dat'), path.replace(/\.(plt|dat)$/i, '.plt')] : [path];
    for (const file of gnuplot) await checkOutputPath(file);
  }
}

/** Writes `model` as each request asks, through its family's renderer: the one writer of every report. */
export async function writeFamilyReports<Model, Format extends string, Options>(
  family: ReportFamily<Model, Format, Options>,
  model: Model,
  requests: ReadonlyArray<{ path: string | null; format: Format }>,
  options: Options,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<void> {
  for (const request of requests) await writeReport(family.render(model, request.format, options), request.path, request.format, io);
}

/**
 * Writes one report of any tool: to stdout, or to a file announced on stderr. A reader that closed
 * stdout early (`memtrace report big.log | head`) took what it wanted: EPIPE ends that report quietly
 * and the other outputs are still written.
 */
export async function writeReport(
  text: string | Buffer | Iterable<string>,
  path: string | null,
  format: string,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<void> {
  if (path === null) {
    try {
      // A report made in chunks (folded stacks of a large dump) is written chunk by chunk, never whole.
      for (const chunk of typeof text === 'string' || Buffer.isBuffer(text) ? [text] : text) {
        await new Promise<void>((done, fail) => io.stdout.write(chunk, (error) => (error ? fail(error) : done())));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw new OutputError(`cannot write the ${format} report to standard output: ${describeOutputCause(error)}`, {
        path: '-',
        cause: error,
      });
    }
    return;
  }
  await writeOutputFile(path, text);
  io.stderr.write(`memtrace: wrote ${path} (${format})\n`);
}
