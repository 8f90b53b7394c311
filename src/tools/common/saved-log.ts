// Why a report read back from a saved raw log is partial, the same for every tool whose program
// speaks memtrace's records (malloc, external, faults): memtrace's trailer says it when the log has
// one; otherwise the log shows where it was cut.
export interface SavedLogEnd {
  /** The trailer record's data (empty when there is none). */
  trailer: Record<string, unknown>;
  /** The log ends inside a record. */
  truncated: boolean;
  /** memtrace's header and trailer records, as read. */
  memtrace: { header: unknown; trailer: unknown };
  /** The program printed its end marker. */
  ended: boolean;
  /** Who prints the results, in the message ("the tracer", "dtrace"). */
  tracerWords: string;
  /** False when the program's results stop before their own end (faults: all its maps); absent when it cannot tell. */
  complete?: boolean;
}

/** The partial reason of a saved log, or null when it is whole. */
export function savedLogPartialReason(path: string, log: SavedLogEnd): string | null {
  if (typeof log.trailer.partialReason === 'string') return log.trailer.partialReason;
  if (log.truncated) return `${path} ends in the middle of a record`;
  if (log.memtrace.header !== null && log.memtrace.trailer === null) {
    return `${path} has memtrace's header but not its trailer: the log was cut short (disk full, or memtrace was killed)`;
  }
  if (!log.ended) return `${path} ends before ${log.tracerWords} printed its results`;
  if (log.complete === false) return `${path} ends before ${log.tracerWords} had printed all its results`;
  return null;
}
