// How long a target was traced: from the program's BEGIN line (all probes attached) to its END line
// (`memtrace:end`, printed before the maps), not memtrace's whole run. Attaching to a large binary
// (node: 98 MB) takes tens of seconds, and bpftrace's printing of its maps and memtrace's reading of
// symbols after the end more; none of it is time the target was traced.
const END_MARKER = 'memtrace:end';

export class TracedSpan {
  private since: number | null = null;
  private until: number | null = null;

  constructor(private readonly startedAt: Date) {}

  /** The program runs: tracing starts now. */
  began(): void {
    this.since ??= Date.now();
  }

  /** Every line of the tracer's output: the first END line ends the span. */
  line(line: string): void {
    if (this.until === null && line.includes(END_MARKER)) this.until = Date.now();
  }

  /** The session is over (a tracer that died never printed END). */
  ended(): void {
    this.until ??= Date.now();
  }

  /** Seconds traced, to 10 ms; without BEGIN, from memtrace's start. */
  seconds(): number {
    return Math.round(((this.until ?? Date.now()) - (this.since ?? this.startedAt.getTime())) / 10) / 100;
  }
}
