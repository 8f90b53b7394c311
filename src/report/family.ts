// One kind of report: a model, the formats it renders to, and how a report file's name chooses
// among them. Each family (malloc, stack, faults, gc, call log, series, JS heap) is one value of
// this type in its *-index.ts; tools/common/write-reports.ts turns -o and -f into requests of a
// family and writes them, the one way for every tool and for `memtrace report`.
export interface ReportFamily<Model, Format extends string, Options> {
  /** -f's choices, in --help's order; the first is the default on stdout. */
  readonly formats: readonly Format[];
  /** A report file's extension → its format (`.pb.gz` and `.speedscope.json` are whole extensions). */
  readonly extensions: Readonly<Record<string, Format>>;
  render(model: Model, format: Format, options: Options): string | Buffer;
}
