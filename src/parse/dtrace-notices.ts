// The notices dtrace(1) prints about a run, on standard error, or in a saved log when a user kept
// both streams (`2>&1`). None is an error in the output itself: each is counted and shown in the
// report, never dropped silently. Formats, as libdtrace writes them (illumos / Oracle
// dtrace-utils libdtrace/dt_handle.c: dt_handle_cpudrop, dt_handle_status; the "dtrace: " prefix
// is the dtrace command's own, cmd/dtrace/dtrace.c):
//   dtrace: 5 drops on CPU 0                      principal buffer full: records lost
//   dtrace: 1 aggregation drop on CPU 1           aggregation buffer full (aggsize)
//   dtrace: 12 dynamic variable drops             dynvarsize exhausted (also "... with non-empty
//                                                 rinsing list" / "... dirty list")
//   dtrace: 2 speculative drops, 1 failed speculation (…), 3 jstack()/ustack() string table overflows
//   dtrace: error on enabled probe ID 7 (ID 70: pid42:libsystem_malloc.dylib:free:entry): invalid address (0x0) in action #1
// With the droptags option each drop message starts with its tag, `[DTRACEDROP_PRINCIPAL] `.
// Informational lines (`dtrace: description 'X' matched 4 probes`, `dtrace: pid 42 has exited`,
// macOS's SIP warning) are counted apart.

export interface DtraceNotices {
  /** Records lost from the principal buffer (`N drops on CPU M`). */
  drops: number;
  aggregationDrops: number;
  dynamicVariableDrops: number;
  /** Speculation drops and failures, ustack string-table overflows. */
  otherDrops: number;
  /** `error on enabled probe …`: an action faulted (a bad address read), its firing lost. */
  probeErrors: number;
  /** The first probe error, to show what faulted. */
  firstProbeError: string | null;
  /** macOS said System Integrity Protection restricts DTrace. */
  sipWarning: boolean;
  /** Other `dtrace: ` lines (matched probes, target exited). */
  informational: number;
}

export function emptyDtraceNotices(): DtraceNotices {
  return {
    drops: 0,
    aggregationDrops: 0,
    dynamicVariableDrops: 0,
    otherDrops: 0,
    probeErrors: 0,
    firstProbeError: null,
    sipWarning: false,
    informational: 0,
  };
}

const PREFIX = /^dtrace: (?:\[DTRACEDROP_[A-Z]+\] )?/;
const CPU_DROP = /^(\d+) (aggregation )?drops? on CPU \d+$/;
const DYNAMIC_DROP = /^(\d+) dynamic variable drops?(?: with non-empty (?:rinsing|dirty) list)?$/;
const OTHER_DROP =
  /^(\d+) (?:speculative drops?|failed speculations? \(.*\)|jstack\(\)\/ustack\(\) string table overflows?|errors? in ERROR probe enabling)$/;

/** Whether a line is one of dtrace's own notices (to be counted by countDtraceNotice). */
export function isDtraceNotice(line: string): boolean {
  return line.startsWith('dtrace: ');
}

/** Counts one `dtrace: …` line into `notices`; returns false for a line that is not a notice. */
export function countDtraceNotice(line: string, notices: DtraceNotices): boolean {
  if (!isDtraceNotice(line)) return false;
  const text = line.trimEnd().replace(PREFIX, '');
  const cpu = CPU_DROP.exec(text);
  if (cpu) {
    if (cpu[2] === undefined) notices.drops += Number(cpu[1]);
    else notices.aggregationDrops += Number(cpu[1]);
    return true;
  }
  const dynamic = DYNAMIC_DROP.exec(text);
  if (dynamic) {
    notices.dynamicVariableDrops += Number(dynamic[1]);
    return true;
  }
  const other = OTHER_DROP.exec(text);
  if (other) {
    notices.otherDrops += Number(other[1]);
    return true;
  }
  if (text.startsWith('error on enabled probe ID ')) {
    notices.probeErrors += 1;
    notices.firstProbeError ??= text;
    return true;
  }
  if (/system integrity protection is on/i.test(text)) {
    notices.sipWarning = true;
    return true;
  }
  notices.informational += 1;
  return true;
}

/** The report lines for what the notices say was lost; empty when nothing was. */
export function describeDtraceNotices(notices: DtraceNotices): string[] {
  const lines: string[] = [];
  if (notices.drops > 0)
    lines.push(`dtrace dropped ${notices.drops} records (principal buffer full): blocks allocated or freed then are not followed`);
  if (notices.aggregationDrops > 0)
    lines.push(`dtrace dropped ${notices.aggregationDrops} aggregation updates (aggregation buffer full): counts are low`);
  if (notices.dynamicVariableDrops > 0)
    lines.push(`dtrace dropped ${notices.dynamicVariableDrops} dynamic variables (dynvarsize full): some blocks were not tracked`);
  if (notices.otherDrops > 0) lines.push(`dtrace reported ${notices.otherDrops} other drops (speculations, ustack string table)`);
  if (notices.probeErrors > 0) lines.push(`dtrace: ${notices.probeErrors} probe firings faulted, e.g. ${notices.firstProbeError}`);
  if (notices.sipWarning)
    lines.push('System Integrity Protection restricts DTrace on this Mac: some probes may not have fired (see docs/tools/dtrace.md)');
  return lines;
}

/** Events lost, for the reports' lost-events count: records, aggregation updates and variables dropped. */
export function droppedEvents(notices: DtraceNotices): number {
  return notices.drops + notices.aggregationDrops + notices.dynamicVariableDrops + notices.otherDrops;
}
