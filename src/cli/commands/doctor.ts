import { UsageError } from '../../errors.js';
import { examineMachine, renderDoctorReport } from '../../tools/doctor/doctor.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const DOCTOR_HELP = `Usage: memtrace doctor [--tracer-path PATH] [--json]

Says what this machine's tracers can do: the bpftrace memtrace would run
(where it was found, and why that one), its version and features (per-PID
uprobes, offset uprobes, DWARF stacks), DTrace (found or not, its version),
whether you are root, whether tracefs and debugfs are mounted, and the
kernel. For each feature missing, what you would gain and how to get it
(sudo memtrace setup-bpftrace [--include-dtrace]). Starts no trace; runs
without root.

  --tracer-path PATH   examine this bpftrace, as the tools' --tracer-path
  --json               the same as one JSON object, for scripts
  -h, --help           this help

Exits 0 whenever it could look, even when no bpftrace is found (that is a
finding, said in the text and as "ready": false in --json).
`;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: "what this machine's tracers can do, and what a newer one would give",
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, {
      'tracer-path': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      verbose: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(DOCTOR_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const report = await examineMachine({ tracerPath: stringOption(values, 'tracer-path') });
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctorReport(report));
    return 0;
  },
};
