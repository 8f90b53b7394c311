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

/**
 * Every report file extension memtrace knows, by the format it names. A family's extensions are
 * those of its formats (extensionsOf), so `.txt` is a table and `.svg` a plot in every family.
 */
const FILE_EXTENSIONS = {
  table: ['.txt', '.table'],
  json: ['.json'],
  folded: ['.folded', '.collapsed'],
  tsv: ['.tsv'],
  csv: ['.csv'],
  svg: ['.svg'],
  pprof: ['.pb.gz', '.pprof'],
  speedscope: ['.speedscope.json'],
  html: ['.html', '.htm'],
  jsonl: ['.jsonl', '.ndjson'],
  gnuplot: ['.plt', '.dat'],
  heapprofile: ['.heapprofile'],
} as const;

export type FileFormat = keyof typeof FILE_EXTENSIONS;

/**
 * The extensions of `formats`, in their order (the order an error lists them in). A format of a
 * family's own name takes the extensions of the file format `like` gives it (gc's `series` is jsonl).
 */
export function extensionsOf<F extends string>(
  formats: readonly F[],
  ...[like]: [Exclude<F, FileFormat>] extends [never] ? [] : [Record<Exclude<F, FileFormat>, FileFormat>]
): Record<string, F> {
  const fileFormat = (format: F): FileFormat => (like as Record<string, FileFormat> | undefined)?.[format] ?? (format as FileFormat);
  return Object.fromEntries(formats.flatMap((format) => FILE_EXTENSIONS[fileFormat(format)].map((extension) => [extension, format])));
}

/**
 * A report file's extension: the last one, or as a whole the two-part names ".pb.gz" (pprof's
 * usual name) and ".speedscope.json" (what speedscope's own exporters write; a plain .json is
 * memtrace's json report).
 */
function fileExtension(path: string): string | undefined {
  return /(\.pb\.gz|\.speedscope\.json|\.[A-Za-z]+)$/i.exec(path)?.[0]?.toLowerCase();
}

/** The format `extensions` gives a path's extension, or undefined when it names none. */
export function formatByExtension<F>(path: string, extensions: Readonly<Record<string, F>>): F | undefined {
  const extension = fileExtension(path);
  return extension === undefined ? undefined : extensions[extension];
}
