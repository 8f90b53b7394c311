import { UsageError } from '../../errors.js';
import { renderStandaloneGcScript } from '../../tools/gc-script.js';
import { renderStandaloneMallocScript } from '../../tools/malloc-script.js';
import { parseCommandLine, type Command } from '../command.js';

export const SCRIPTS_HELP = `Usage: memtrace scripts malloc
       memtrace scripts gc

Prints the standalone bpftrace program of a tool, as checked in under
scripts/bpf/: documented, runnable by hand, and readable by memtrace report.
`;

export const scriptsCommand: Command = {
  name: 'scripts',
  summary: "print a tool's standalone bpftrace program",
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(SCRIPTS_HELP);
      return 0;
    }
    const scripts: Record<string, () => string> = { malloc: renderStandaloneMallocScript, gc: renderStandaloneGcScript };
    const render = positionals.length === 1 ? scripts[positionals[0]!] : undefined;
    if (render === undefined) throw new UsageError(`expected a tool name: ${Object.keys(scripts).join(', ')}`);
    io.stdout.write(render());
    return 0;
  },
};
