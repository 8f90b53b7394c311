import { access, constants } from 'node:fs/promises';
import { readablePath, UsageError } from '../../errors.js';
import { readLogHead } from '../../parse/first-line.js';
import { diffMallocProfiles } from '../../model/malloc-diff.js';
import { renderMallocDiffTable } from '../../report/malloc-diff-table.js';
import { renderJson } from '../../report/json.js';
import { formatBytes } from '../../report/units.js';
import { validateByteSize, validateInteger, validateTop } from '../../probes/validate.js';
import { chooseReportInput, MALLOC_INPUTS, readMallocProfile, REPORT_INPUTS } from '../../tools/report/inputs.js';
import { checkReportPaths, parseValueName, reportRequestsFor, writeReport } from '../../tools/common/write-reports.js';
import { parsePushOptions } from '../../tools/report/pyroscope.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const REPORT_HELP = `Usage: memtrace report [options] FILE

Re-renders a saved log. Its kind is the one --input-format names, else told
from the file name, then from its first lines:
${REPORT_INPUTS.map((input) => `  ${input.name.padEnd(15)} ${input.summary}`).join('\n')}

  -i, --input-format NAME  read FILE as this kind of log (names above)
  -o, --output FILE     write a report; format from the extension (repeatable;
                        "-" is stdout), by the kind of log:
                          stacks (malloc, folded, bpftrace, dtrace…): .txt (table)
                            .json .folded .svg .html .pb.gz (pprof)
                            .speedscope.json; malloc also .tsv .csv
                          process: .txt .svg .html .tsv .csv .json .jsonl
                            (memtrace's log format) .plt/.dat (gnuplot)
                          cpymemtrace: .txt .json .tsv .csv .svg
  -f, --format FORMAT   the format on stdout: table (default), json, folded,
                        svg, html, pprof, speedscope, tsv, csv, jsonl (those
                        the kind of log has)
      --value NAME      what folded and svg show, and what html, pprof and
                        speedscope show first: allocBytes (default), allocs,
                        outstanding, outstandingBytes
      --top N           stacks (functions, for cpymemtrace) in the table
                        (default 10)
      --map NAME        bpftrace: the stack map to report (default: the first
                        printed; the others are named in the report)
      --with LOG        with a malloc or external --timeline trace: a memtrace
                        process log of the same process (its RSS, heap and
                        marks) drawn beside the growth plot of the html report
      --lenient         count malformed lines instead of stopping at the first
      --diff            compare two malloc reports or logs: memtrace report
                        --diff BEFORE AFTER; what grew per function and per
                        stack, for --value (default allocBytes); table or json
      --fail-above N    with --diff: exit 1 when the total grew by more than
                        N (bytes such as 5MiB, or a count): a CI check
      --push URL        send the profile (pprof) to a Pyroscope server's
                        ingest API, http(s)://HOST:PORT; with no -o or -f,
                        nothing is written to stdout
      --app NAME        with --push: the application name (letters, digits,
                        _ . -); Pyroscope appends the sample type
      --label KEY=VALUE with --push: a label of the profile (repeatable)
      --push-timeout S  with --push: seconds to wait for the server (default
                        30)
  -h, --help            this help
`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a saved log (malloc, process, folded, cPyMemTrace…) in any report format; --push to Pyroscope',
  needsBackend: false,
  async run(argv, io) {
    const {
      values,
      positionals: named,
      command: afterSeparator,
    } = parseCommandLine(argv, {
      output: { type: 'string', short: 'o', multiple: true },
      format: { type: 'string', short: 'f' },
      'input-format': { type: 'string', short: 'i' },
      value: { type: 'string' },
      top: { type: 'string' },
      map: { type: 'string' },
      lenient: { type: 'boolean' },
      with: { type: 'string' },
      diff: { type: 'boolean' },
      'fail-above': { type: 'string' },
      push: { type: 'string' },
      app: { type: 'string' },
      label: { type: 'string', multiple: true },
      'push-timeout': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    // Files after `--` are files too: the way to give one whose name starts with "-".
    const positionals = [...named, ...(afterSeparator ?? [])];
    if (values.help) {
      io.stdout.write(REPORT_HELP);
      return 0;
    }
    const push = parsePushOptions({
      url: stringOption(values, 'push'),
      app: stringOption(values, 'app'),
      labels: (values.label as string[] | undefined) ?? [],
      timeout: stringOption(values, 'push-timeout'),
    });
    if (values.diff === true) {
      if (push !== null) throw new UsageError('--push sends one profile; it does not go with --diff');
      return diffReports(positionals, values, io);
    }
    if (stringOption(values, 'fail-above') !== null) throw new UsageError('--fail-above goes with --diff BEFORE AFTER');
    if (positionals.length !== 1)
      throw new UsageError(
        positionals.length === 0 ? 'no log file given' : `one log file at a time, got ${positionals.length} (to compare two, use --diff)`,
      );
    const path = positionals[0]!;
    await requireReadable(path);
    const input = chooseReportInput(path, await readLogHead(path), stringOption(values, 'input-format'));
    if (push !== null && !input.stacks)
      throw new UsageError(
        `--push sends stack profiles to Pyroscope; ${path} is a ${input.name} log (${input.summary}), which has no stacks`,
      );
    const withLog = stringOption(values, 'with');
    if (withLog !== null) {
      if (input.name !== 'malloc' && input.name !== 'malloc-json')
        throw new UsageError(`--with draws a process log beside a --timeline trace; ${path} is a ${input.name} log (${input.summary})`);
      await requireReadable(withLog);
    }
    if (stringOption(values, 'map') !== null && input.name !== 'bpftrace')
      throw new UsageError(`--map chooses a map of a bpftrace dump; ${path} is a ${input.name} log (${input.summary})`);
    return input.report(
      path,
      {
        outputs: (values.output as string[] | undefined) ?? [],
        format: stringOption(values, 'format'),
        lenient: values.lenient === true,
        value: stringOption(values, 'value'),
        top: stringOption(values, 'top'),
        push,
        map: stringOption(values, 'map'),
        with: withLog,
      },
      io,
    );
  },
};

async function requireReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UsageError(`cannot read ${readablePath(path)}: no such file, or not readable`);
  }
}

/** `--diff BEFORE AFTER [--fail-above N]`: what grew; exit 1 when the total grew by more than N. */
async function diffReports(
  positionals: string[],
  values: Record<string, unknown>,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<number> {
  if (positionals.length !== 2)
    throw new UsageError(`--diff compares two malloc reports or logs, BEFORE and AFTER; got ${positionals.length}`);
  const value = parseValueName(stringOption(values, 'value'));
  const failText = stringOption(values, 'fail-above');
  const failAbove =
    failText === null
      ? null
      : value.endsWith('Bytes')
        ? validateByteSize('--fail-above', failText)
        : validateInteger('--fail-above', failText, 0, Number.MAX_SAFE_INTEGER);
  const reports = reportRequestsFor((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), {
    extensions: { '.txt': 'table', '.table': 'table', '.json': 'json' },
    formats: ['table', 'json'] as const,
  });
  await checkReportPaths(reports.map((report) => report.path));
  const inputFormat = stringOption(values, 'input-format');
  const profiles = [];
  for (const path of positionals) {
    await requireReadable(path);
    const head = await readLogHead(path);
    const input = chooseReportInput(path, head, inputFormat, REPORT_INPUTS);
    if (!MALLOC_INPUTS.includes(input))
      throw new UsageError(`--diff compares malloc reports or logs; ${path} is a ${input.name} log (${input.summary})`);
    profiles.push(await readMallocProfile(path, head, values.lenient === true));
  }
  const diff = diffMallocProfiles(profiles[0]!, profiles[1]!, { value, beforeSource: positionals[0]!, afterSource: positionals[1]! });
  const top = validateTop(stringOption(values, 'top'));
  for (const report of reports) {
    const text = report.format === 'json' ? renderJson(diff) : renderMallocDiffTable(diff, { top });
    await writeReport(text, report.path, report.format, io);
  }
  if (failAbove !== null && diff.total.delta > failAbove) {
    io.stderr.write(
      `memtrace: ${value} grew by ${value.endsWith('Bytes') ? formatBytes(diff.total.delta) : diff.total.delta}, more than --fail-above ${failText}\n`,
    );
    return 1;
  }
  return 0;
}
