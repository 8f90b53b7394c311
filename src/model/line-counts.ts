/**
 * What a log reader passed over, counted alike by every reader (src/parse/line-shell.ts), so that a
 * report can say it whatever the log: nothing a reader skips goes uncounted.
 */
export interface LineCounts {
  /** Lines of the log's format that were broken: skipped and counted under --lenient (a strict read stops at the first). */
  malformed: number;
  /**
   * Lines that are neither the program's records nor the tracer's own output: a launched target's
   * own output in a hand-run log, another program's text, a line inserted by hand.
   */
  foreign: number;
}
