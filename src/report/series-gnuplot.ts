// A process series for gnuplot, as pymemtrace's process tool leaves it: a .dat file of columns and
// a .plt script that plots it. `gnuplot mem.plt` writes mem-gnuplot.svg beside them (the svg
// terminal is built into every gnuplot; png needs optional libraries).
import { basename } from 'node:path';
import { oneLine, presentValues, type Series, type SeriesValueName } from '../model/series.js';

export interface GnuplotFiles {
  dat: string;
  plt: string;
}

const TITLES: Record<SeriesValueName, string> = {
  rss: 'RSS',
  vsz: 'virtual size',
  heapUsed: 'heap used',
  heapTotal: 'heap total',
  external: 'external',
  arrayBuffers: 'array buffers',
};

/** `datPath` and `imagePath` are written into the script, by base name (it runs beside them). */
export function renderSeriesGnuplot(series: Series, datPath: string, imagePath: string): GnuplotFiles {
  const values = presentValues(series).filter((name) => name !== 'vsz');
  const columns = ['elapsed', ...values];
  const dat = [
    `# memtrace process: PID ${series.header.target.pid}, from ${series.header.start}`,
    `# ${columns.join('\t')}   (seconds, then bytes; "?" where a sample has no such value)`,
    ...series.samples.map((sample) => [sample.elapsed, ...values.map((name) => sample[name] ?? '?')].join('\t')),
    '',
  ].join('\n');
  const mib = 1024 * 1024;
  const plot = values.map(
    (name, index) => `'${gnuplotPath(basename(datPath))}' using 1:($${index + 2}/${mib}) with lines linewidth 2 title "${TITLES[name]}"`,
  );
  const plt = [
    `# gnuplot script written by memtrace; run: gnuplot ${basename(datPath).replace(/\.dat$/, '')}.plt`,
    'set terminal svg size 1000,480 dynamic font "Verdana,11"',
    `set output '${gnuplotPath(basename(imagePath))}'`,
    `set title ${gnuplotString(`Memory of PID ${series.header.target.pid}${series.header.target.command ? `: ${series.header.target.command.join(' ')}` : ''}`)} noenhanced`,
    'set xlabel "elapsed time (s)"',
    'set ylabel "MiB"',
    'set grid',
    'set key outside bottom center horizontal',
    "set datafile missing '?'",
    'set yrange [0:*]',
    ...series.marks
      .map((mark, index) => [
        `set arrow ${index + 1} from ${mark.elapsed}, graph 0 to ${mark.elapsed}, graph 1 nohead dashtype 2 linecolor rgb "#495057"`,
        `set label ${index + 1} ${gnuplotString(oneLine(mark.text))} at ${mark.elapsed}, graph 0.98 rotate by -90 offset 0.6,0 font ",9" noenhanced`,
      ])
      .flat(),
    `plot ${plot.join(', \\\n     ')}`,
    '',
  ].join('\n');
  return { dat, plt };
}

/** A double-quoted gnuplot string: backslash and quote escaped. */
function gnuplotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A file name inside single quotes, where gnuplot knows no escapes: a quote is doubled. */
function gnuplotPath(name: string): string {
  return name.replace(/'/g, "''");
}
