import { UsageError } from '../../errors.js';
import { validatePid } from '../../probes/validate.js';
import { sendMark, validateMarkText } from '../../sample/mark-channel.js';
import { formatDuration } from '../../report/units.js';
import { parseCommandLine, type Command } from '../command.js';

export const MARK_HELP = `Usage: memtrace mark PID TEXT

Adds a label to the log of the "memtrace process" that samples PID, at this
moment: it shows as a labelled vertical line in the plots and a row in the
table. PID is the sampled process's, not memtrace's. TEXT is at most 500
characters.

  -h, --help   this help
`;

export const markCommand: Command = {
  name: 'mark',
  summary: 'label this moment in the log of a running "memtrace process"',
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(MARK_HELP);
      return 0;
    }
    if (positionals.length !== 2)
      throw new UsageError(
        `expected PID and TEXT, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'} (quote a TEXT with spaces)`,
      );
    const pid = validatePid(positionals[0]);
    const { elapsed } = await sendMark(pid, validateMarkText(positionals[1]!));
    io.stderr.write(`memtrace: marked PID ${pid} at ${formatDuration(elapsed)}\n`);
    return 0;
  },
};
